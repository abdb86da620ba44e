"""``/l/{token}`` and ``/o/{token}``: clicks and opens recorded through the feedback path and
counted in the rollups, machines apart from people, and never an open redirect."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from hub.messaging.dispatch import messages_dispatch
from hub.messaging.models import DailyRollup, MessageEvent
from hub.tracking.models import LinkKind, TrackedLink, TrackingHit
from hub.tracking.tokens import token_make
from hub.tracking.views import PIXEL
from tests.factories import make_queued_messages
from tests.hub.tracking.conftest import DATA, tracked_template

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"


@pytest.fixture
def email(hub_base):
    template = tracked_template()
    [message] = make_queued_messages(template, channel="email", to="ada@example.com", data=DATA)
    messages_dispatch(message_ids=[message.id])
    message.refresh_from_db()
    # Handed off a minute ago: past the scanners' window.
    TrackedLink.objects.filter(message=message).update(created_at=message.created_at - timedelta(minutes=1))
    return message


def link_token(message, kind=LinkKind.LINK):
    return token_make(kind, TrackedLink.objects.filter(message=message, kind=kind).order_by("position")[0].pk)


def rollup(message):
    row = DailyRollup.objects.get(template_id=message.notification.template_id, channel=message.channel)
    return {name: getattr(row, name) for name in ("opened", "clicked", "machine_opens", "machine_clicks")}


def test_a_person_clicking_is_redirected_and_counted_as_a_click_and_an_open(client, email):
    response = client.get(f"/l/{link_token(email)}", HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="203.0.113.77")
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example/spring?a=1&b=2"
    assert "no-store" in response["Cache-Control"]
    assert rollup(email) == {"opened": 1, "clicked": 1, "machine_opens": 0, "machine_clicks": 0}
    hit = TrackingHit.objects.get()
    assert (hit.kind, hit.machine, hit.ip_prefix) == ("click", False, "203.0.113.0/24")
    assert "203.0.113.77" not in str(list(TrackingHit.objects.values()))
    kinds = sorted(
        MessageEvent.objects.filter(message=email, kind="engagement").values_list("status", flat=True)
    )
    assert kinds == ["clicked", "opened"]
    # A second click: one more click, the open is not implied again.
    client.get(f"/l/{link_token(email)}", HTTP_USER_AGENT=BROWSER)
    assert rollup(email) == {"opened": 1, "clicked": 2, "machine_opens": 0, "machine_clicks": 0}


@pytest.mark.parametrize(
    ("agent", "method"),
    [
        ("Mozilla/5.0 (compatible; Barracuda Sentinel)", "get"),
        ("python-requests/2.31", "get"),
        ("", "get"),
        (BROWSER, "head"),
    ],
)
def test_link_scanners_are_redirected_but_counted_as_machine_clicks(client, email, agent, method):
    response = getattr(client, method)(f"/l/{link_token(email)}", HTTP_USER_AGENT=agent)
    assert response.status_code == 302
    assert rollup(email) == {"opened": 0, "clicked": 0, "machine_opens": 0, "machine_clicks": 1}
    assert TrackingHit.objects.get().machine


def test_a_click_within_seconds_of_the_hand_off_is_a_scanner(client, email):
    TrackedLink.objects.filter(message=email).update(
        created_at=email.created_at.now(tz=email.created_at.tzinfo)
    )
    client.get(f"/l/{link_token(email)}", HTTP_USER_AGENT=BROWSER)
    assert rollup(email)["machine_clicks"] == 1
    assert TrackingHit.objects.get().machine_reason == "too_soon"


def test_the_pixel_is_a_gif_not_stored_and_privacy_proxies_are_machine_opens(client, email):
    token = link_token(email, LinkKind.OPEN)
    response = client.get(f"/o/{token}", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert response.content == PIXEL and "no-store" in response["Cache-Control"]
    client.get(f"/o/{token}", HTTP_USER_AGENT="Mozilla/5.0", REMOTE_ADDR="17.58.1.9")  # Apple MPP
    client.get(f"/o/{token}", HTTP_USER_AGENT="Mozilla/5.0 (via ggpht.com GoogleImageProxy)")
    assert rollup(email) == {"opened": 1, "clicked": 0, "machine_opens": 2, "machine_clicks": 0}
    reasons = sorted(TrackingHit.objects.values_list("machine_reason", flat=True))
    assert reasons == ["", "apple_mpp", "image_proxy"]


def test_broken_and_forged_tokens_get_the_safe_page_and_record_nothing(client, email):
    token = link_token(email)
    other_kind = link_token(email, LinkKind.OPEN)
    for bad in (token[:-1], token[:-1] + ("a" if token[-1] != "a" else "b"), other_kind, "x" * 15, "a%2Fb"):
        response = client.get(f"/l/{bad}", HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 404
        assert "Location" not in response
        assert b"This link is not valid" in response.content and b"Switchboard" in response.content
    assert not TrackingHit.objects.exists()
    assert client.get(f"/o/{token}").content == PIXEL  # a link's token is no pixel's
    assert not TrackingHit.objects.exists()


def test_a_token_for_another_message_never_leads_to_this_ones_link(client, email, hub_base):
    template = tracked_template("promo.other")
    [other] = make_queued_messages(template, channel="email", to="bob@example.com", data=DATA)
    messages_dispatch(message_ids=[other.id])
    theirs, ours = link_token(other), link_token(email)
    response = client.get(f"/l/{theirs[:7]}{ours[7:]}", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 404 and not TrackingHit.objects.exists()


def test_a_stored_non_http_url_is_never_a_redirect(client, email):
    link = TrackedLink.objects.filter(message=email, kind=LinkKind.LINK).first()
    assert link is not None
    for url in ("javascript:alert(1)", "//evil.example/x", "data:text/html,hi", "https:/\\evil.example"):
        TrackedLink.objects.filter(pk=link.pk).update(url=url)
        response = client.get(f"/l/{token_make(LinkKind.LINK, link.pk)}", HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 404, url
    assert not TrackingHit.objects.exists()


def test_clicks_reach_the_rollups_the_backfill_rebuilds(client, email):
    from hub.messaging.rollups import rollups_rebuild

    client.get(f"/l/{link_token(email)}", HTTP_USER_AGENT="curl/8.0")
    client.get(f"/l/{link_token(email)}", HTTP_USER_AGENT=BROWSER)
    live = rollup(email)
    rollups_rebuild()
    assert rollup(email) == live == {"opened": 1, "clicked": 1, "machine_opens": 0, "machine_clicks": 1}
    assert re.fullmatch(r"[0-9A-Za-z]{15}", link_token(email))
