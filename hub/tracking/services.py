"""A tracked link followed, an open pixel fetched: recorded as a hit (personal data, IP
truncated) and as an engagement on the message through the one feedback path
(``hub.messaging.reports.provider_reports_apply`` → ``outcomes_apply``), which puts it on the
timeline and counts it in the rollups.

Machines are told apart from people and counted apart (``machine_click``/``machine_open``):
- a click from a known link scanner's user agent, with no user agent, by ``HEAD``, or within
  ``HUB_TRACKING_SCANNER_SECONDS`` of the hand-off (security gateways follow every link of a
  message as it arrives);
- an open from a privacy proxy: Gmail's image proxy or Yahoo's (user agent), Apple Mail
  Privacy Protection (Apple's 17.0.0.0/8 network, or the bare ``Mozilla/5.0`` agent it sends),
  or within the scanner window.
A person's click on an email with no recorded open counts as an open too (as SendGrid does).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import Actor
from hub.messaging.feedback import Outcome
from hub.messaging.models import EventKind, MessageEvent
from hub.messaging.reports import ProviderReport, provider_reports_apply
from hub.tracking.links import url_trackable
from hub.tracking.models import HitKind, LinkKind, TrackedLink, TrackingHit
from hub.tracking.tokens import token_read

TRACKING_SOURCE = "tracking"
SCANNER_AGENTS = re.compile(
    r"barracuda|mimecast|proofpoint|symantec|messagelabs|trend ?micro|forcepoint|safelinks|"
    r"bingpreview|microsoft office|ms-office|python-requests|python-urllib|aiohttp|curl/|wget/|"
    r"go-http-client|okhttp|java/|libwww|headlesschrome|phantomjs|bot\b|bot/|spider|crawler|"
    r"scanner|slurp|facebookexternalhit|skypeuripreview|whatsapp|preview",
    re.IGNORECASE,
)
PROXY_AGENTS = re.compile(r"googleimageproxy|ggpht\.com|yahoomailproxy|yahoo! slurp", re.IGNORECASE)
APPLE_PROXY_NETWORKS = (ipaddress.ip_network("17.0.0.0/8"),)
MPP_AGENT = "Mozilla/5.0"


def ip_truncated(ip: str) -> str:
    """The network a hit came from, never the address: IPv4 /24, IPv6 /48 ("" if unparsable)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _automated(user_agent: str, handed_off: datetime, now: datetime) -> str:
    """What gives away a machine for clicks and opens alike ("" for none)."""
    if not user_agent.strip():
        return "no_user_agent"
    if SCANNER_AGENTS.search(user_agent):
        return "scanner_agent"
    if now - handed_off < timedelta(seconds=settings.HUB_TRACKING_SCANNER_SECONDS):
        return "too_soon"
    return ""


def click_machine_reason(*, user_agent: str, method: str, handed_off: datetime, now: datetime) -> str:
    """Why this click is a machine's ("" for a person)."""
    if method == "HEAD":
        return "head_request"
    return _automated(user_agent, handed_off, now)


def open_machine_reason(*, user_agent: str, ip: str, handed_off: datetime, now: datetime) -> str:
    """Why this open is a proxy's or a machine's ("" for a person)."""
    if PROXY_AGENTS.search(user_agent):
        return "image_proxy"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        address = None
    if address is not None and any(address in net for net in APPLE_PROXY_NETWORKS):
        return "apple_mpp"
    if user_agent.strip() == MPP_AGENT:
        return "apple_mpp"
    return _automated(user_agent, handed_off, now)


def _link(kind: str, token: str) -> TrackedLink | None:
    pk = token_read(kind, token)
    if pk is None:
        return None
    return TrackedLink.objects.select_related("message").filter(pk=pk, kind=kind).first()


def _record(
    link: TrackedLink, *, kind: str, reason: str, user_agent: str, ip: str, now: datetime
) -> TrackingHit:
    message = link.message
    with transaction.atomic():
        hit = TrackingHit.objects.create(
            link=link,
            message=message,
            kind=kind,
            machine=bool(reason),
            machine_reason=reason,
            user_agent=user_agent[:300],
            ip_prefix=ip_truncated(ip),
            at=now,
        )
        human = "clicked" if kind == HitKind.CLICK else "opened"
        engagement = f"machine_{kind}" if reason else human
        detail = {"link": link.pk, "position": link.position, **({"machine": reason} if reason else {})}
        reports = [
            ProviderReport(
                f"{kind}:{hit.pk}",
                f"tracked_{kind}",
                Outcome(message_id=message.id, engagement=engagement, detail=detail, occurred_at=now),
            )
        ]
        if engagement == "clicked" and message.channel == "email" and not _opened(message.id):
            reports.append(
                ProviderReport(
                    f"open-by-click:{hit.pk}",
                    "tracked_click",
                    Outcome(
                        message_id=message.id,
                        engagement="opened",
                        detail={"implied_by": "click", "link": link.pk},
                        occurred_at=now,
                    ),
                )
            )
        provider_reports_apply(provider=TRACKING_SOURCE, reports=reports, actor=Actor.system())
    return hit


def _opened(message_id: UUID) -> bool:
    return MessageEvent.objects.filter(
        message_id=message_id, kind=EventKind.ENGAGEMENT, status="opened"
    ).exists()


def link_follow(*, token: str, user_agent: str, ip: str, method: str = "GET") -> str | None:
    """The destination of a tracked link, with the click recorded; None for a token that is
    malformed, truncated, forged, of another kind or of a link since purged (the caller shows
    the safe page). The stored URL is checked again: only http(s) is ever a redirect."""
    link = _link(LinkKind.LINK, token)
    if link is None or not url_trackable(link.url):
        return None
    now = timezone.now()
    reason = click_machine_reason(user_agent=user_agent, method=method, handed_off=link.created_at, now=now)
    _record(link, kind=HitKind.CLICK, reason=reason, user_agent=user_agent, ip=ip, now=now)
    return link.url


def pixel_fetch(*, token: str, user_agent: str, ip: str) -> bool:
    """Record an open for a valid pixel token; False (nothing recorded) for any other."""
    link = _link(LinkKind.OPEN, token)
    if link is None:
        return False
    now = timezone.now()
    reason = open_machine_reason(user_agent=user_agent, ip=ip, handed_off=link.created_at, now=now)
    _record(link, kind=HitKind.OPEN, reason=reason, user_agent=user_agent, ip=ip, now=now)
    return True
