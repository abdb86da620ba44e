"""GOV.UK Notify's placeholders render in our sandbox: ((name)), ((name??text)), names matched
ignoring case, spaces and dashes; anything else in double brackets is left alone."""

from __future__ import annotations

import pytest

from templates_app.rendering import RenderError
from templates_app.rendering.core import variant_render
from templates_app.rendering.notify_syntax import notify_to_jinja, notify_variable_name
from templates_app.rendering.validation import source_names
from tests.templates_app.conftest import spec, variant

NO_LAYOUT: dict[str, str] = {}


def sms(text: str, data: dict[str, object], *names: str) -> str:
    specs = [spec(n) for n in names]
    return variant_render(variant("sms", text=text), data, layout=NO_LAYOUT, specs=specs).text


def test_placeholders_case_and_spaces_insensitive() -> None:
    assert sms("Hi ((First name)), ((FIRST NAME)), ((first-name))", {"first_name": "Ada"}, "first_name") == (
        "Hi Ada, Ada, Ada"
    )


@pytest.mark.parametrize(
    ("value", "shown"), [("yes", True), ("Yes", True), (True, True), ("no", False), ("", False)]
)
def test_conditional_text(value: object, shown: bool) -> None:
    text = sms("Order sent.((has_offer?? Offer: 10% off {{ 7*7 }}.))", {"has_offer": value}, "has_offer")
    assert text == ("Order sent. Offer: 10% off {{ 7*7 }}." if shown else "Order sent.")


def test_other_double_brackets_stay_text() -> None:
    assert sms("Call ((0800 123)) or (( )) now", {}) == "Call ((0800 123)) or (( )) now"


def test_used_names_include_notify_placeholders() -> None:
    assert source_names("((First name)) ((show??x)) {{ code }}") == {"first_name", "show", "code"}
    assert notify_variable_name(" Date of-birth ") == "date_of_birth"


def test_missing_placeholder_is_an_error_and_html_is_escaped() -> None:
    with pytest.raises(RenderError):
        sms("Hi ((name))", {})
    email = variant_render(
        variant("email", subject="Hi ((name))", html="<p>((name))</p>"),
        {"name": "<script>x</script>"},
        layout=NO_LAYOUT,
        specs=[spec("name")],
    )
    assert "<script>" not in email.html
    assert email.subject == "Hi <script>x</script>"  # subjects are text


def test_sources_without_placeholders_are_untouched() -> None:
    source = "Hello {{ name }} (see terms)"
    assert notify_to_jinja(source) is source


def test_conditional_text_cannot_leave_its_raw_block() -> None:
    text = sms("((a??x{%- endraw %}{{ 7*7 }}{% raw %}y))", {"a": "yes"}, "a")
    assert "49" not in text
