"""Link rewriting at dispatch: each http(s) link in an email (HTML and text parts) or an SMS of
a template with tracking on becomes ``{HUB_BASE_URL}/l/{token}``; an email gets a 1x1 open
pixel, ``{HUB_BASE_URL}/o/{token}``. Rendering stays deterministic and cached per batch
(``hub.messaging.dispatch``); this runs after it, per message, with one INSERT per batch for
all the batch's links and none when no template in it tracks.

Only ``http``/``https`` links with a host are rewritten: ``mailto:``, ``tel:``, ``javascript:``
and anything else stay as written (so no template can ever make the hub redirect to them),
and so do the hub's own links (the unsubscribe page).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from hub.messaging.models import Message
from hub.tracking.models import LinkKind, TrackedLink
from hub.tracking.tokens import token_make
from templates_app.rendering import RenderedContent
from templates_app.sms import text_links

TRACKED_CHANNELS = frozenset({"email", "sms"})
_ANCHOR = re.compile(
    r"(<a\b[^>]*?\bhref\s*=\s*)(\"([^\"]*)\"|'([^']*)')([^>]*>)(.*?)(</a\s*>)", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<[^>]*>")
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def url_trackable(url: str) -> bool:
    """An absolute http(s) URL with a host, not the hub's own, and nothing a browser would
    treat differently from what we store (whitespace, control characters, backslashes)."""
    if not url or any(c.isspace() or ord(c) < 32 or c == "\\" for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return False
    return not url.startswith(f"{settings.HUB_BASE_URL}/")


def click_url(token: str) -> str:
    return f"{settings.HUB_BASE_URL}/l/{token}"


def open_url(token: str) -> str:
    return f"{settings.HUB_BASE_URL}/o/{token}"


@dataclass
class _Plan:
    message: Message
    content: RenderedContent
    html_links: list[TrackedLink | None] = field(default_factory=list)
    text_links: list[TrackedLink] = field(default_factory=list)
    pixel: TrackedLink | None = None
    rows: list[TrackedLink] = field(default_factory=list)


def _label(inner: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", inner)).split())[:200]


def _plan(message: Message, content: RenderedContent, now: datetime) -> _Plan:
    plan = _Plan(message, content)
    by_url: dict[str, TrackedLink] = {}

    def add(url: str, label: str = "") -> TrackedLink:
        row = TrackedLink(
            message_id=message.id, kind=LinkKind.LINK, position=len(plan.rows) + 1, label=label, url=url
        )
        row.created_at = now
        plan.rows.append(row)
        by_url.setdefault(url, row)
        return row

    if message.channel == "email" and content.html:
        for match in _ANCHOR.finditer(content.html):
            url = html.unescape(match.group(3) if match.group(3) is not None else match.group(4))
            plan.html_links.append(add(url, _label(match.group(6))) if url_trackable(url) else None)
    for _, _, url in text_links(content.text):
        if url_trackable(url):
            plan.text_links.append(by_url.get(url) or add(url))
    if message.channel == "email" and content.html:
        plan.pixel = TrackedLink(message_id=message.id, kind=LinkKind.OPEN, position=0, created_at=now)
    return plan


def _rewrite(plan: _Plan) -> RenderedContent:
    content = plan.content
    changes: dict[str, str] = {}
    if content.html:
        anchors = iter(plan.html_links)

        def anchor(match: re.Match[str]) -> str:
            row = next(anchors)
            if row is None:
                return match.group(0)
            href = html.escape(click_url(token_make(LinkKind.LINK, row.pk)))
            return f'{match.group(1)}"{href}"{match.group(5)}{match.group(6)}{match.group(7)}'

        body = _ANCHOR.sub(anchor, content.html)
        if plan.pixel is not None:
            pixel = (
                f'<img src="{open_url(token_make(LinkKind.OPEN, plan.pixel.pk))}" width="1" height="1" '
                'alt="" style="display:block;border:0;width:1px;height:1px">'
            )
            ends = list(_BODY_END.finditer(body))
            body = f"{body[: ends[-1].start()]}{pixel}{body[ends[-1].start() :]}" if ends else body + pixel
        changes["html"] = body
    if plan.text_links:
        out: list[str] = []
        last = 0
        for (start, end, _), row in zip(
            [t for t in text_links(content.text) if url_trackable(t[2])], plan.text_links, strict=True
        ):
            out.extend((content.text[last:start], click_url(token_make(LinkKind.LINK, row.pk))))
            last = end
        out.append(content.text[last:])
        changes["text"] = "".join(out)
    return replace(content, **changes) if changes else content


def contents_tracked(items: Sequence[tuple[Message, RenderedContent]]) -> list[RenderedContent]:
    """The content each message is sent with: its links rewritten and an open pixel added
    where its template tracks (``Template.tracks_links``), else as rendered. Needs the
    messages' ``notification__template`` loaded. Writes the batch's links in one INSERT
    (outside any transaction: dispatch holds none while it hands off)."""
    now = timezone.now()
    plans: list[_Plan | None] = []
    rows: list[TrackedLink] = []
    for message, content in items:
        if message.channel not in TRACKED_CHANNELS or not message.notification.template.tracks_links:
            plans.append(None)
            continue
        plan = _plan(message, content, now)
        plans.append(plan)
        rows.extend(plan.rows)
        if plan.pixel is not None:
            rows.append(plan.pixel)
    if not rows:
        return [content for _, content in items]
    TrackedLink.objects.bulk_create(rows)
    return [
        content if plan is None else _rewrite(plan) for (_, content), plan in zip(items, plans, strict=True)
    ]
