"""Tracking data is personal data: retention purges it, erasure removes it, the evidence pack
includes it. IPs are stored truncated only."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.services import Actor
from hub.contacts.models import Contact
from hub.erasure import contact_erase
from hub.messaging.dispatch import messages_dispatch
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import DailyRollup, Message
from hub.tracking.models import LinkKind, TrackedLink, TrackingHit
from hub.tracking.services import ip_truncated
from hub.tracking.tokens import token_make
from hub.workspace.evidence import evidence_pack_build
from hub.workspace.models import RetentionPolicy
from hub.workspace.retention import retention_purge
from tests.factories import make_queued_messages
from tests.hub.tracking.conftest import DATA, tracked_template

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0"


@pytest.fixture
def clicked(client, contact, hub_base):
    [message] = make_queued_messages(
        tracked_template(), channel="email", to=contact.email, data=DATA, contact=contact
    )
    messages_dispatch(message_ids=[message.id])
    TrackedLink.objects.filter(message=message).update(created_at=timezone.now() - timedelta(minutes=5))
    link = TrackedLink.objects.filter(message=message, kind=LinkKind.LINK).first()
    assert link is not None
    response = client.get(
        f"/l/{token_make(LinkKind.LINK, link.pk)}", HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="2001:db8:abcd:12::7"
    )
    assert response.status_code == 302
    return Message.objects.get(pk=message.pk)


def test_ips_are_kept_truncated_only():
    assert ip_truncated("198.51.100.23") == "198.51.100.0/24"
    assert ip_truncated("2001:db8:abcd:12::7") == "2001:db8:abcd::/48"
    assert ip_truncated("not an ip") == ""


def test_the_evidence_pack_shows_links_clicks_and_their_network(clicked, contact):
    pack = zipfile.ZipFile(io.BytesIO(evidence_pack_build(contact=contact)))
    tracking = json.loads(pack.read("tracking.json"))
    assert [h["kind"] for h in tracking["hits"]] == ["click"]
    assert tracking["hits"][0]["ip_prefix"] == "2001:db8:abcd::/48"
    assert tracking["hits"][0]["user_agent"] == BROWSER
    assert {link["url"] for link in tracking["links"]} == {"https://shop.example/spring?a=1&b=2", ""}
    assert "tracked clicks and opens: 1" in pack.read("SUMMARY.txt").decode()
    assert "2001:db8:abcd:12::7" not in json.dumps(tracking)


def test_erasure_removes_tracking_data_and_keeps_the_counts(clicked, contact):
    contact_erase(contact=Contact.objects.get(pk=contact.pk), actor=Actor.system())
    assert not TrackedLink.objects.exists() and not TrackingHit.objects.exists()
    assert DailyRollup.objects.get(channel="email").clicked == 1


def test_retention_purges_tracking_data_with_the_rest(clicked, client):
    messages_transition([Change(clicked.id, "delivered")], actor=Actor.system(), source="test")
    RetentionPolicy.objects.update_or_create(channel="email", defaults={"days": 30})
    assert retention_purge(now=timezone.now())["tracking"] == 0
    link = TrackedLink.objects.filter(kind=LinkKind.LINK).first()
    assert link is not None
    counts = retention_purge(now=timezone.now() + timedelta(days=31))
    assert counts["tracking"] >= 3  # the hit, the link, the pixel
    assert not TrackingHit.objects.exists() and not TrackedLink.objects.exists()
    # A purged link's token leads to the safe page.
    assert client.get(f"/l/{token_make(LinkKind.LINK, link.pk)}").status_code == 404
