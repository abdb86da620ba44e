"""Push display receipts: signed per message, refused when forged, counted once."""

from __future__ import annotations

import pytest

from hub.messaging.links import push_receipt_url
from hub.messaging.models import EventKind
from hub.messaging.models import MessageStatus as S

pytestmark = pytest.mark.django_db


def path_of(url):
    return "/webhooks/" + url.split("/webhooks/", 1)[1]


def test_receipt_marks_the_push_delivered_once(client, sent_push):
    url = path_of(push_receipt_url(message_id=str(sent_push.id)))
    assert client.post(url).status_code == 204
    assert client.post(url).status_code == 204
    sent_push.refresh_from_db()
    assert sent_push.status == S.DELIVERED
    assert sent_push.events.filter(kind=EventKind.STATUS, status=S.DELIVERED).count() == 1


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + "xx", lambda t: "not-a-token"])
def test_forged_receipt_is_refused(client, sent_push, mangle):
    token = push_receipt_url(message_id=str(sent_push.id)).rsplit("/", 1)[1]
    assert client.post(f"/webhooks/push/receipt/{mangle(token)}").status_code == 403
    sent_push.refresh_from_db()
    assert sent_push.status == S.SENT
