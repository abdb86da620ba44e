"""Rendering: sandboxed, strict, locale-aware, email cleaned, framed, inlined, text derived."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from templates_app.rendering import RenderError, locale_chain, variant_select
from templates_app.rendering.core import _compile, variant_render
from tests.templates_app.conftest import spec, variant

LAYOUT = {
    "name": "Brand",
    "header_html": "<p class='brand'>Example Bank</p>",
    "footer_html": "<p>Why you get this</p>",
    "postal_address": "1 High Street, London",
    "css": "p { color: #123456; }",
}

# Payloads that must come out inert, whether the marketer writes them or the caller sends them.
INJECTIONS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<iframe src='https://evil.example'></iframe>",
    "<a href='javascript:alert(1)'>x</a>",
    "<svg onload=alert(1)>",
    "<body onload=alert(1)>",
    "<object data='x.swf'></object>",
    "<embed src='x.swf'>",
    "<form action='https://evil.example'><input name=p></form>",
    "<div style=\"background:url('javascript:alert(1)')\">x</div>",
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "<meta http-equiv='refresh' content='0;url=https://evil.example'>",
    "<link rel=stylesheet href='https://evil.example/x.css'>",
    "<math><mtext></mtext><mglyph><style><img src=x onerror=alert(1)></style></mglyph></math>",
]
SSTI = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ self._TemplateReference__context }}",
    "{{ config.items() }}",
    "{{ lipsum.__globals__['os'].environ }}",
    "{{ lipsum }}",
    "{{ cycler.__init__ }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__ }}",
    "{{ dict(a=1).__class__ }}",
    "{{ [].append.__self__ }}",
    "{{ ''|attr('__class__') }}",
    "{{ '%s'|format(''.__class__) }}",
    "{{ '{0.__class__}'.format('') }}",
    "{% for x in ''.__class__.__mro__ %}{{ x }}{% endfor %}",
    "{% include 'base.html' %}",
    "{% import 'os' as os %}",
    "{% from 'macros' import m %}",
    "{% extends 'layout' %}",
    "{{ ''|pprint }}",
]
# Template code that would exhaust a worker's memory: each is refused before it allocates.
EXHAUSTION = [
    "{{ 'a' * 10**9 }}",
    "{{ [0] * 10**9 }}",
    "{{ 2 ** (10**8) }}",
    "{{ range(10**9)|list|length }}",
    "{{ 'a'|center(10**9) }}",
    "{{ 'a'|indent(10**9) }}",
    "{{ 'x'|wordwrap(10**9) }}",
    "{% set x = 'a' * 5000 %}{% set y = x|replace('a', x) %}{{ y|replace('a', y) }}",
    "{% for i in range(1000) %}{% for j in range(1000) %}{{ 'abcdefgh' }}{% endfor %}{% endfor %}",
]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


def _inert(html: str) -> None:
    """No active element, no event handler, no script URL anywhere in the body's markup
    (escaped text such as ``&lt;script&gt;`` is inert and allowed)."""
    parser = _Tags()
    parser.feed(html.split("<body>", 1)[-1])  # the head is our own skeleton
    for tag, attrs in parser.found:
        assert tag not in {
            "script",
            "iframe",
            "object",
            "embed",
            "form",
            "input",
            "meta",
            "link",
            "svg",
            "math",
            "style",
            "body",
        }, html
        for name, value in attrs:
            assert not name.startswith("on"), html
            assert "javascript" not in (value or "").lower().replace("\t", ""), html


@pytest.mark.parametrize("payload", INJECTIONS)
def test_marketer_html_payloads_are_cleaned(payload):
    out = variant_render(
        variant("email", html=f"<p>Hi</p>{payload}", subject="s"), {}, layout=LAYOUT, specs=[]
    )
    _inert(out.html)
    assert "<p" in out.html


@pytest.mark.parametrize("payload", INJECTIONS)
def test_caller_data_payloads_are_escaped_everywhere(payload):
    v = variant("email", subject="Hi {{ name }}", html="<p>Hi {{ name }}</p>")
    out = variant_render(v, {"name": payload}, layout=LAYOUT, specs=[spec("name")])
    _inert(out.html)


@pytest.mark.parametrize("payload", SSTI)
def test_template_code_cannot_escape_the_sandbox(payload):
    with pytest.raises(RenderError):
        variant_render(variant("sms", text=payload), {}, layout={}, specs=[])


@pytest.mark.parametrize("payload", EXHAUSTION)
def test_template_code_cannot_exhaust_memory(payload):
    with pytest.raises(RenderError):
        variant_render(variant("sms", text=payload), {}, layout={}, specs=[])


def test_loops_and_repeats_within_the_limits_still_render():
    out = variant_render(
        variant(
            "sms",
            text="{% for i in range(3) %}{{ i }}{% endfor %} {{ '-' * 5 }} {{ 'ab'|replace('a', 'A') }}",
        ),
        {},
        layout={},
        specs=[],
    )
    assert out.text == "012 ----- Ab"


def test_missing_variable_is_an_error_not_blank():
    with pytest.raises(RenderError, match="first_name"):
        variant_render(variant("sms", text="Hi {{ first_name }}"), {}, layout={}, specs=[])


def test_sms_text_is_not_html_escaped():
    out = variant_render(
        variant("sms", text="{{ a }}"), {"a": "Tom & Jerry <3"}, layout={}, specs=[spec("a")]
    )
    assert out.text == "Tom & Jerry <3"


def test_email_is_framed_in_the_layout_with_css_inlined():
    v = variant("email", subject="S", preheader="Peek {{ first_name }}", html="<p>Body {{ first_name }}</p>")
    layout = LAYOUT | {"footer_html": "<p>Footer for {{ first_name }}</p>"}
    out = variant_render(v, {"first_name": "Ada"}, layout=layout, specs=[spec("first_name")])
    assert "Example Bank" in out.html and "Footer for Ada" in out.html and "1 High Street" in out.html
    assert "Peek Ada" in out.html
    assert "color: #123456" in out.html and "<style" not in out.html  # inlined, then removed


def test_css_that_tries_to_close_the_style_element_is_dropped():
    layout = LAYOUT | {"css": "p{}</style><script>alert(1)</script>"}
    out = variant_render(variant("email", subject="S", html="<p>x</p>"), {}, layout=layout, specs=[])
    _inert(out.html)


def test_blank_email_text_is_derived_from_html_with_links():
    v = variant(
        "email", subject="S", html='<p>Hello <b>Ada</b></p><p><a href="https://x.example/a">Pay</a></p>'
    )
    out = variant_render(v, {}, layout=LAYOUT, specs=[])
    assert "Hello Ada" in out.text and "https://x.example/a" in out.text and "1 High Street" in out.text
    assert "<" not in out.text


def test_written_email_text_is_kept():
    v = variant("email", subject="S", html="<p>Hello</p>", text="Plain {{ x }}")
    assert variant_render(v, {"x": "1"}, layout={}, specs=[spec("x")]).text == "Plain 1"


def test_dates_and_money_are_formatted_for_the_variant_locale():
    specs = [spec("when", "date"), spec("amount", "money"), spec("n", "number")]
    data = {"when": "2026-05-01", "amount": {"amount": "1234.5", "currency": "EUR"}, "n": 1234567.5}
    fr = variant_render(
        variant("sms", "fr", text="{{ when }} {{ amount }} {{ n }}"), data, layout={}, specs=specs
    )
    en = variant_render(
        variant("sms", "en", text="{{ when }} {{ amount }} {{ n }}"), data, layout={}, specs=specs
    )
    assert fr.text.startswith("1 mai 2026") and "1\u202f234,50\xa0€" in fr.text
    assert en.text.startswith("May 1, 2026") and "€1,234.50" in en.text and "1,234,567.5" in en.text


def test_date_filter_chooses_the_format():
    out = variant_render(
        variant("sms", "en-GB", text="{{ d|date('long') }}"),
        {"d": "2026-05-01"},
        layout={},
        specs=[spec("d", "date")],
    )
    assert out.text == "1 May 2026"


def test_push_data_is_rendered_json():
    v = variant(
        "push", title="T", text="B", link="https://x.example/{{ o }}", data={"order": "{{ o }}", "n": 1}
    )
    out = variant_render(v, {"o": "A1"}, layout={}, specs=[spec("o")])
    assert out.data == '{"n": 1, "order": "A1"}' and out.link == "https://x.example/A1"


def test_locale_fallback_chain():
    assert locale_chain("fr-CA", "en") == ["fr-CA", "fr", "en"]
    variants = [variant("sms", "fr", text="fr"), variant("sms", "en", text="en")]
    fr = variant_select(variants, channel="sms", locale="fr-CA", default_locale="en")
    other = variant_select(variants, channel="sms", locale="de-DE", default_locale="en")
    assert fr is not None and fr.locale == "fr"
    assert other is not None and other.locale == "en"


def test_compiled_templates_are_cached():
    _compile.cache_clear()
    for _ in range(50):
        variant_render(variant("sms", text="Hi {{ a }}"), {"a": "x"}, layout={}, specs=[spec("a")])
    info = _compile.cache_info()
    assert info.misses == 1 and info.hits == 49


def test_bounded_replace_keeps_marked_up_html_as_marked_up():
    v = variant("email", subject="s", html="<p>{{ '<i>a</i>'|safe|replace('a', 'x') }}</p>")
    out = variant_render(v, {}, layout=LAYOUT, specs=[])
    assert "<i>x</i>" in out.html
