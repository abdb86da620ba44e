"""Email HTML: clean the marketer's markup, frame it in a layout, inline the CSS, derive text.

Order matters: content is rendered (autoescaped) first, then cleaned, so neither the
marketer's markup nor the caller's data can smuggle in scripts, handlers or frames; the
layout is cleaned the same way, and its CSS may not close the style element.
"""

from __future__ import annotations

from collections.abc import Mapping

import css_inline
import nh3
from inscriptis import get_text
from inscriptis.model.config import ParserConfig
from markupsafe import escape

# Email-safe markup: ammonia's defaults (no script, style, iframe, object, form, on*
# attributes) plus the presentational attributes email clients still rely on.
_EXTRA_ATTRIBUTES = {"style", "class", "align", "valign", "width", "height", "bgcolor", "dir", "lang", "role"}
_ATTRIBUTES: dict[str, set[str]] = {
    tag: set(attrs) | _EXTRA_ATTRIBUTES for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()
}
_ATTRIBUTES["*"] = set(_ATTRIBUTES.get("*", set())) | _EXTRA_ATTRIBUTES
_TAGS = set(nh3.ALLOWED_TAGS) | {"center", "font"}
_URL_SCHEMES = {"http", "https", "mailto", "tel"}
# Inline styles keep only layout and typography; anything that can load a URL (background,
# background-image, behavior, list-style-image...) is dropped.
_STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "line-height",
    "letter-spacing",
    "text-align",
    "text-decoration",
    "text-transform",
    "vertical-align",
    "white-space",
    "width",
    "max-width",
    "min-width",
    "height",
    "display",
    "margin",
    "margin-top",
    "margin-right",
    "margin-bottom",
    "margin-left",
    "padding",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "border",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "border-color",
    "border-width",
    "border-style",
    "border-radius",
    "border-collapse",
    "border-spacing",
}


def html_clean(html: str) -> str:
    """Marketer HTML without scripts, event handlers, iframes, forms or javascript: links."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
        filter_style_properties=_STYLE_PROPERTIES,
    )


def css_safe(css: str) -> str:
    """Brand CSS with anything that could end the style element or load code removed."""
    lowered = css.lower()
    if "<" in css or "expression(" in lowered or "javascript:" in lowered or "@import" in lowered:
        return ""
    return css


SKELETON = (
    '<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<style>{css}</style></head><body>"
    '<div class="preheader" style="display:none;max-height:0;overflow:hidden">{preheader}</div>'
    '<div class="header">{header}</div>'
    '<div class="content">{content}</div>'
    '<div class="footer">{footer}<p class="address">{address}</p></div>'
    "</body></html>"
)


def email_document(
    *, content: str, preheader: str, layout: Mapping[str, str], locale: str, header: str, footer: str
) -> str:
    """The final email HTML: cleaned content in the layout frame, CSS inlined."""
    document = SKELETON.format(
        lang=escape(locale),
        css=css_safe(layout.get("css", "")),
        preheader=escape(preheader),
        header=html_clean(header),
        content=html_clean(content),
        footer=html_clean(footer),
        address=escape(layout.get("postal_address", "")),
    )
    inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
    return inliner.inline(document)


_TEXT_CONFIG = ParserConfig(display_links=True)


def html_to_text(html: str) -> str:
    """A readable plain-text part from email HTML (links kept as ``text [url]``)."""
    if not html.strip():
        return ""
    return str(get_text(html, _TEXT_CONFIG)).strip()
