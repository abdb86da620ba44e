"""Lint a version before it goes to compliance: errors block submission, warnings inform.

Content is checked as written (variables declared and used) and as a recipient would get it
(rendered with the example values: SMS encoding and segments, links, required wording).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlsplit

import jinja2
from django.conf import settings
from django.utils.module_loading import import_string
from jinja2.sandbox import SandboxedEnvironment

from templates_app.models import Category, Channel, TemplateVariant, Tracking, tracking_on
from templates_app.rendering.core import RenderedContent, RenderError, variant_render
from templates_app.rendering.notify_syntax import notify_to_jinja
from templates_app.rendering.validation import used_names, variant_sources
from templates_app.rendering.variables import (
    RESERVED_VARIABLES,
    SAMPLE_RESERVED,
    VariableSpec,
    example_data,
    value_problem,
)
from templates_app.sms import sms_info_sent

ERROR, WARNING, INFO = "error", "warning", "info"
PUSH_TITLE_MAX = 65
PUSH_BODY_MAX = 240
_URL_IN_TEXT = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)


# Where each finding points in the version editor, so the page can link to it: a content
# field of the finding's channel/locale block, "variables", "layout", or "" (the whole block).
FINDING_FIELDS: dict[str, str] = {
    "no_content": "variants",
    "reserved_variable": "variables",
    "undeclared_variable": "variables",
    "unused_variable": "variables",
    "bad_example": "variables",
    "bad_form": "",
    "syntax_error": "",
    "render_error": "",
    "content_rule": "",
    "malformed_link": "",
    "sms_empty": "text",
    "sms_ucs2": "text",
    "sms_segments": "text",
    "sms_too_long": "text",
    "sms_no_opt_out": "text",
    "email_no_subject": "subject",
    "email_no_body": "html",
    "no_unsubscribe": "html",
    "no_postal_address": "layout",
    "push_no_body": "text",
    "push_title_long": "title",
    "push_body_long": "text",
    "push_data_not_object": "data",
}


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    message: str
    channel: str = ""
    locale: str = ""

    @property
    def field(self) -> str:
        return FINDING_FIELDS.get(self.code, "")

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "field": self.field}


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)


def sms_max_segments() -> int:
    return int(getattr(settings, "TEMPLATES_SMS_MAX_SEGMENTS", 3))


def sms_segment_price() -> tuple[Decimal, str]:
    """The price of one SMS segment for the estimate. The hub's price table answers through
    ``TEMPLATES_SMS_PRICE`` (an import path; ``hub.tracking.pricing.sms_segment_estimate``), the
    same function its reports' cost comes from; without it, the two fallback settings."""
    if path := getattr(settings, "TEMPLATES_SMS_PRICE", ""):
        price, currency = import_string(path)()
        return Decimal(price), str(currency)
    price = Decimal(str(getattr(settings, "TEMPLATES_SMS_SEGMENT_PRICE", "0.0079")))
    return price, str(getattr(settings, "TEMPLATES_SMS_PRICE_CURRENCY", "USD"))


def sms_opt_out_words() -> tuple[str, ...]:
    return tuple(
        getattr(settings, "TEMPLATES_SMS_OPT_OUT_WORDS", ("STOP", "opt out", "opt-out", "unsubscribe"))
    )


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (href, link text)
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href") or ""
            self.links.append((href, ""))
            self._open.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open and self.links:
            href, text = self.links[-1]
            self.links[-1] = (href, text + data)


def link_problem(url: str) -> str:
    """Why a link would not work for a recipient ('' if it is fine)."""
    if not url:
        return "is empty"
    if any(c.isspace() for c in url.strip()) or "{{" in url or "{%" in url:
        return "contains spaces or an unfinished variable"
    parts = urlsplit(url.strip())
    if parts.scheme in ("mailto", "tel"):
        return "" if parts.path else "has no address"
    if parts.scheme not in ("http", "https"):
        return "must start with https:// (or http://, mailto:, tel:)"
    if not parts.netloc or "." not in parts.netloc.split(":")[0]:
        return "has no valid domain"
    return ""


_syntax_env = SandboxedEnvironment()  # content may also use Notify's ((placeholders))


def _syntax_findings(variant: TemplateVariant) -> list[Finding]:
    findings = []
    for source in variant_sources(variant):
        try:
            _syntax_env.parse(notify_to_jinja(source))
        except jinja2.TemplateSyntaxError as exc:
            findings.append(
                Finding(
                    ERROR,
                    "syntax_error",
                    f"Line {exc.lineno}: {exc.message}",
                    variant.channel,
                    variant.locale,
                )
            )
    return findings


def version_lint(
    *,
    category: str,
    variants: Sequence[TemplateVariant],
    specs: Sequence[VariableSpec],
    layout: Mapping[str, str],
    tracked: bool | None = None,
) -> list[Finding]:
    """All findings for this content; see the module docstring. ``tracked``: the template's
    links are rewritten to tracked links (SMS counted with them); None decides by category."""
    if tracked is None:
        tracked = tracking_on(Tracking.AUTO, category)
    findings: list[Finding] = []
    if not variants:
        findings.append(Finding(ERROR, "no_content", "Add content for at least one channel."))
    declared = {s.name for s in specs}
    used = used_names(variants, layout)
    for name in sorted(declared & RESERVED_VARIABLES):
        findings.append(
            Finding(
                ERROR,
                "reserved_variable",
                f"'{name}' is filled by the hub (its own signed link for each recipient and channel):"
                f" remove it from the variables and place {{{{ {name} }}}} in the content.",
            )
        )
    for name in sorted(used - declared - RESERVED_VARIABLES):
        findings.append(
            Finding(
                ERROR, "undeclared_variable", f"'{name}' is used but not declared: add it to the variables."
            )
        )
    for name in sorted(declared - used - RESERVED_VARIABLES):
        findings.append(Finding(WARNING, "unused_variable", f"'{name}' is declared but never used."))
    for spec in specs:
        if problem := value_problem(spec, example_data([spec]).get(spec.name)):
            findings.append(Finding(ERROR, "bad_example", f"Example value: {problem}"))
    data = {**example_data(specs), **SAMPLE_RESERVED}  # the hub fills reserved names
    for variant in variants:
        syntax = _syntax_findings(variant)
        findings.extend(syntax)
        if syntax:
            continue
        try:
            rendered = variant_render(variant, data, layout=layout, specs=specs)
        except RenderError as exc:
            findings.append(Finding(ERROR, "render_error", str(exc), variant.channel, variant.locale))
            continue
        findings.extend(
            _channel_findings(variant, rendered, category=category, layout=layout, tracked=tracked)
        )
        findings.extend(_rule_findings(variant, rendered, category=category))
    return findings


def _rule_findings(variant: TemplateVariant, rendered: RenderedContent, *, category: str) -> list[Finding]:
    """The compliance rule set's required-content verdict on the rendered content. The rules
    live in the hub; templates_app reaches them only through ``TEMPLATES_CONTENT_CHECK``."""
    path = getattr(settings, "TEMPLATES_CONTENT_CHECK", "")
    if not path:
        return []
    check = import_string(path)
    # Source and rendered text together: rules may look for a placeholder (e.g. unsubscribe_url)
    # in the source, or for what the layout adds (e.g. the postal address) in the rendered email.
    content = {name: f"{getattr(variant, name, '')}\n{value}" for name, value in rendered.as_dict().items()}
    problems: list[str] = check(category=category, channel=variant.channel, content=content)
    return [Finding(ERROR, "content_rule", problem, variant.channel, variant.locale) for problem in problems]


def _channel_findings(
    variant: TemplateVariant,
    rendered: RenderedContent,
    *,
    category: str,
    layout: Mapping[str, str],
    tracked: bool = False,
) -> list[Finding]:
    ch, loc = variant.channel, variant.locale

    def finding(severity: str, code: str, message: str) -> Finding:
        return Finding(severity, code, message, ch, loc)

    out: list[Finding] = []
    marketing = category == Category.MARKETING
    if ch == Channel.SMS:
        out.extend(_sms_findings(rendered.text, marketing, finding, tracked=tracked))
        out.extend(
            finding(ERROR, "malformed_link", f"Link {url!r} {p}.")
            for url in _URL_IN_TEXT.findall(rendered.text)
            if (p := link_problem(url if "://" in url else f"https://{url}"))
        )
    elif ch == Channel.EMAIL:
        if not rendered.subject.strip():
            out.append(finding(ERROR, "email_no_subject", "The email needs a subject."))
        if not variant.html.strip() and not variant.text.strip():
            out.append(finding(ERROR, "email_no_body", "The email needs a body (HTML or text)."))
        parser = _Links()
        parser.feed(rendered.html)
        out.extend(
            finding(ERROR, "malformed_link", f"Link {href!r} {p}.")
            for href, _ in parser.links
            if (p := link_problem(href))
        )
        if marketing:
            # By construction: the link must be the hub's own (``{{ unsubscribe_url }}``, which
            # renders here as its sample), not any URL that merely says "unsubscribe".
            hub_link = SAMPLE_RESERVED["unsubscribe_url"]
            if not any(href.strip() == hub_link for href, _ in parser.links):
                out.append(
                    finding(
                        ERROR,
                        "no_unsubscribe",
                        "Marketing email must carry the hub's unsubscribe link: "
                        '<a href="{{ unsubscribe_url }}">Unsubscribe</a>.',
                    )
                )
            if not layout.get("postal_address", "").strip():
                out.append(
                    finding(
                        ERROR,
                        "no_postal_address",
                        "Marketing email must show your postal address: choose a layout that has one.",
                    )
                )
    elif ch == Channel.PUSH:
        if not rendered.text.strip():
            out.append(finding(ERROR, "push_no_body", "The push needs a body."))
        if len(rendered.title) > PUSH_TITLE_MAX:
            out.append(
                finding(
                    WARNING,
                    "push_title_long",
                    f"Title is {len(rendered.title)} characters; phones cut it after about {PUSH_TITLE_MAX}.",
                )
            )
        if len(rendered.text) > PUSH_BODY_MAX:
            out.append(
                finding(
                    WARNING,
                    "push_body_long",
                    f"Body is {len(rendered.text)} characters; phones cut it after about {PUSH_BODY_MAX}.",
                )
            )
        if rendered.link and (p := link_problem(rendered.link)):
            out.append(finding(ERROR, "malformed_link", f"Link {rendered.link!r} {p}."))
        if variant.data and not isinstance(variant.data, dict):
            out.append(finding(ERROR, "push_data_not_object", "Push data must be a JSON object."))
    return out


def _sms_findings(
    text: str, marketing: bool, finding: Callable[[str, str, str], Finding], *, tracked: bool = False
) -> list[Finding]:
    out: list[Finding] = []
    if not text.strip():
        return [finding(ERROR, "sms_empty", "The SMS has no text.")]
    info = sms_info_sent(text, tracked=tracked)
    price, currency = sms_segment_price()
    # With no price set the estimate was "about 0.0000 USD per message" on every page.
    cost = (
        f"about {info.cost(price):.4f} {currency} per message"
        if price
        else f"no SMS price is set (0 {currency} a segment; prices are under Measurement)"
    )
    summary = f"{info.encoding}, {info.units} characters, {info.segments} segment(s), {cost}."
    if info.encoding == "UCS-2":
        chars = " ".join(repr(c) for c in info.ucs2_characters[:10])
        out.append(finding(WARNING, "sms_ucs2", f"{summary} These characters force UCS-2: {chars}."))
    else:
        out.append(finding(INFO, "sms_segments", summary))
    if info.segments > sms_max_segments():
        out.append(
            finding(
                ERROR,
                "sms_too_long",
                f"{info.segments} segments is over the limit of {sms_max_segments()}: shorten the text.",
            )
        )
    if marketing:
        lowered = text.lower()
        if not any(word.lower() in lowered for word in sms_opt_out_words()):
            out.append(
                finding(ERROR, "sms_no_opt_out", "Marketing SMS must say how to opt out, e.g. 'Reply STOP'.")
            )
    return out
