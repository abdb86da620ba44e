"""Lint on submit: each rule, with errors that block and warnings that inform."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings

from hub.tracking.models import Price
from templates_app.lint import ERROR, INFO, WARNING, version_lint
from tests.templates_app.conftest import spec, variant

ADDRESS = {"postal_address": "1 High Street, London"}

# The lint also asks the compliance rule set (in the database) about required content.
pytestmark = pytest.mark.django_db


def codes(findings, severity=None):
    return {f.code for f in findings if severity is None or f.severity == severity}


def lint(variants, specs=(), category="transactional", layout=None):
    return version_lint(category=category, variants=variants, specs=list(specs), layout=layout or {})


def test_clean_content_has_no_errors():
    found = lint([variant("sms", text="Hi {{ name }}")], [spec("name", example="Ada")])
    assert codes(found, ERROR) == set() and codes(found, INFO) == {"sms_segments"}


def test_used_but_not_declared_is_an_error_and_declared_but_unused_a_warning():
    found = lint([variant("sms", text="Hi {{ name }}")], [spec("unused")])
    assert "undeclared_variable" in codes(found, ERROR)
    assert "unused_variable" in codes(found, WARNING)
    assert any("'name'" in f.message for f in found if f.code == "undeclared_variable")


def test_bad_example_for_its_type_is_an_error():
    found = lint([variant("sms", text="{{ d }}")], [spec("d", "date", "tomorrow")])
    assert "bad_example" in codes(found, ERROR)


def test_syntax_error_is_reported_with_its_line():
    found = lint([variant("sms", text="Hi {{ name ")], [spec("name")])
    assert any(f.code == "syntax_error" and "Line 1" in f.message for f in found)


def test_ucs2_is_a_warning_naming_the_characters_with_segments_and_cost():
    found = lint([variant("sms", text="Deal ✓ today")])
    (ucs2,) = [f for f in found if f.code == "sms_ucs2"]
    assert (
        ucs2.severity == WARNING
        and "'✓'" in ucs2.message
        and "1 segment" in ucs2.message
        and "USD" in ucs2.message
    )


@pytest.mark.django_db
@override_settings(TEMPLATES_SMS_MAX_SEGMENTS=2)
def test_sms_over_the_configured_segment_limit_is_an_error_and_cost_uses_the_price():
    # The estimate comes from the hub's price table, as the reports' cost does.
    Price.objects.create(channel="sms", country_prefix="", price=Decimal("0.05"), currency="EUR")
    found = lint([variant("sms", text="a" * 307)])
    assert "sms_too_long" in codes(found, ERROR)
    assert any("0.1500 EUR" in f.message for f in found if f.code == "sms_segments")
    assert "sms_too_long" not in codes(lint([variant("sms", text="a" * 306)]))


def test_marketing_sms_needs_opt_out_wording():
    assert "sms_no_opt_out" in codes(lint([variant("sms", text="20% off")], category="marketing"), ERROR)
    assert "sms_no_opt_out" not in codes(
        lint([variant("sms", text="20% off. Reply STOP to opt out")], category="marketing")
    )
    assert "sms_no_opt_out" not in codes(lint([variant("sms", text="20% off")], category="transactional"))


def test_marketing_email_needs_unsubscribe_link_and_postal_address():
    bare = variant("email", subject="Offer", html="<p>Buy</p>")
    found = lint([bare], category="marketing")
    assert {"no_unsubscribe", "no_postal_address"} <= codes(found, ERROR)
    good = variant("email", subject="Offer", html='<p>Buy</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>')
    assert not {"no_unsubscribe", "no_postal_address"} & codes(
        lint([good], category="marketing", layout=ADDRESS)
    )
    assert not {"no_unsubscribe", "no_postal_address"} & codes(lint([bare], category="transactional"))


def test_unsubscribe_link_in_the_layout_footer_counts():
    layout = ADDRESS | {"footer_html": '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'}
    found = lint([variant("email", subject="S", html="<p>x</p>")], category="marketing", layout=layout)
    assert "no_unsubscribe" not in codes(found)


def test_a_marketing_email_must_place_the_hubs_own_unsubscribe_link_not_any_url():
    """Issue 20: unsubscribe by construction. A link of the author's own that merely says
    "unsubscribe" is not enough; ``{{ unsubscribe_url }}`` is, and needs no declaring."""
    own = variant("email", subject="S", html='<a href="https://x.example/u/1">Unsubscribe</a>')
    found = lint([own], category="marketing", layout=ADDRESS)
    (finding,) = [f for f in found if f.code == "no_unsubscribe"]
    assert "{{ unsubscribe_url }}" in finding.message
    placed = variant("email", subject="S", html='<a href="{{ unsubscribe_url }}">Unsubscribe</a>')
    assert codes(lint([placed], category="marketing", layout=ADDRESS), ERROR) == set()


def test_unsubscribe_url_is_reserved_declaring_it_is_an_error():
    placed = variant("email", subject="S", html='<a href="{{ unsubscribe_url }}">Unsubscribe</a>')
    found = lint([placed], [spec("unsubscribe_url", "url", "https://x.example/u")], "marketing", ADDRESS)
    (finding,) = [f for f in found if f.code == "reserved_variable"]
    assert finding.severity == ERROR and "filled by the hub" in finding.message
    assert "unused_variable" not in codes(found) and "undeclared_variable" not in codes(found)


def test_malformed_links_are_errors_everywhere():
    found = lint(
        [
            variant(
                "email", subject="S", html='<a href="htp:/broken">x</a><a href="https://ok.example">y</a>'
            ),
            variant("push", title="T", text="B", link="shop/orders"),
            variant("sms", "fr", text="See https://exa mple.com or https://nodot"),
        ]
    )
    bad = [f for f in found if f.code == "malformed_link"]
    assert {f.channel for f in bad} == {"email", "push", "sms"}
    assert not any("ok.example" in f.message for f in bad)


def test_link_built_from_a_url_variable_is_checked_with_its_example():
    specs = [spec("u", "url", "https://pay.example/1")]
    assert "malformed_link" not in codes(
        lint([variant("email", subject="S", html='<a href="{{ u }}">Pay</a>')], specs)
    )


def test_push_title_and_body_length_warnings():
    found = lint([variant("push", title="T" * 70, text="B" * 250)])
    assert {"push_title_long", "push_body_long"} <= codes(found, WARNING)
    assert "push_no_body" in codes(lint([variant("push", title="T", text="")]), ERROR)


def test_email_needs_subject_and_body_and_version_needs_content():
    assert {"email_no_subject", "email_no_body"} <= codes(lint([variant("email")]), ERROR)
    assert "no_content" in codes(lint([]), ERROR)


@pytest.mark.django_db
def test_with_no_sms_price_set_the_estimate_says_so_instead_of_0_0000() -> None:
    """Every editor and review page read "about 0.0000 USD per message" on a hub with no price
    (seen on the screenshots); the preview's counter showed "≈ 0.0000 USD"."""
    from templates_app.preview import content_preview

    (summary,) = [f for f in lint([variant("sms", text="Hi there")]) if f.code == "sms_segments"]
    assert "no SMS price is set" in summary.message and "0.0000" not in summary.message
    preview = content_preview(
        category="transactional", variants=[variant("sms", text="Hi")], specs=[], layout={}
    )
    assert preview["variants"][0]["sms"]["cost"] == ""
    Price.objects.create(channel="sms", country_prefix="", price=Decimal("0.05"), currency="EUR")
    (priced,) = [f for f in lint([variant("sms", text="Hi there")]) if f.code == "sms_segments"]
    assert "about 0.0500 EUR per message" in priced.message
