"""Every webhook against forged input and replays (reliability suite, item 10).

Each kind of forgery — unsigned, a wrong or foreign signature, tampered fields, a signature made
for another URL, a stale or future timestamp — is sent to every endpoint that takes it: 100% are
refused with 403 and nothing changes. Each genuine event replayed 50 times changes state once.
"""

from __future__ import annotations

import base64
import time

import pytest

from bench.fakes.signing import SendGridSigner, twilio_signature
from bench.fakes.twilio import AUTH_TOKEN
from hub.contacts.models import ConsentEntry, InboundMessage, Suppression
from hub.messaging.links import push_receipt_url
from hub.messaging.models import EventKind, MessageEvent
from hub.messaging.models import MessageStatus as S
from tests.hub.webhooks.test_sendgrid import URL as SENDGRID_URL
from tests.hub.webhooks.test_sendgrid import event, post
from tests.hub.webhooks.test_twilio import inbound, post_signed, sent_message, status_params

pytestmark = pytest.mark.django_db

REPLAYS = 50
HUB = "https://hub.example.com"


def twilio_forgeries(path: str, params: dict[str, str]) -> list[tuple[str, str, dict[str, str], str]]:
    """(name, path, params sent, signature) for each way a Twilio request can be forged."""
    good = twilio_signature(HUB + path, params, AUTH_TOKEN)
    forged = [
        ("unsigned", path, params, ""),
        ("garbage signature", path, params, "forged-signature"),
        ("another account's token", path, params, twilio_signature(HUB + path, params, "x" * 32)),
        (
            "signed for another path",
            path,
            params,
            twilio_signature(HUB + "/webhooks/other", params, AUTH_TOKEN),
        ),
        (
            "signed for another host",
            path,
            params,
            twilio_signature("https://evil.example" + path, params, AUTH_TOKEN),
        ),
        (
            "signed over http, not https",
            path,
            params,
            twilio_signature("http://hub.example.com" + path, params, AUTH_TOKEN),
        ),
        ("a parameter added", path, {**params, "Extra": "1"}, good),
        ("a parameter removed", path, dict(list(params.items())[1:]), good),
        ("signature of another body truncated", path, params, good[:-4]),
    ]
    for key in params:
        forged.append((f"{key} tampered", path, {**params, key: params[key] + "x"}, good))
    return forged


def refused(responses: list[int]) -> float:
    return sum(code == 403 for code in responses) / len(responses)


class TestForgeries:
    def test_twilio_status_forgeries_are_all_refused(self, client, live_template, twilio_configured, figure):
        message = sent_message(live_template)
        events = message.events.count()
        cases = twilio_forgeries("/webhooks/twilio/status", status_params(message, "delivered"))
        cases += twilio_forgeries(
            f"/webhooks/twilio/status?message={message.id}", status_params(message, "failed")
        )
        codes = [
            post_signed(client, path, params, signature=sig).status_code for _, path, params, sig in cases
        ]
        figure("forged status callbacks", len(codes))
        figure("refused with 403", f"{refused(codes):.0%}")
        assert codes == [403] * len(codes), [
            c[0] for c, code in zip(cases, codes, strict=True) if code != 403
        ]
        message.refresh_from_db()
        assert message.status == S.SENT and message.events.count() == events

    def test_twilio_inbound_forgeries_are_all_refused(self, client, twilio_configured, contact, figure):
        cases = twilio_forgeries("/webhooks/twilio/inbound", inbound("STOP"))
        codes = [
            post_signed(client, path, params, signature=sig).status_code for _, path, params, sig in cases
        ]
        figure("forged inbound SMS", len(codes))
        figure("refused with 403", f"{refused(codes):.0%}")
        assert codes == [403] * len(codes)
        assert not InboundMessage.objects.exists()
        assert not Suppression.objects.exists() and not ConsentEntry.objects.exists()

    def test_sendgrid_forgeries_are_all_refused(self, client, signer, sent_email, figure):
        batch = [event(sent_email, "delivered"), event(sent_email, "spamreport")]
        raw = signer.body(batch)
        now = int(time.time())
        good = signer.sign(raw, now)
        sig_header, ts_header = (
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE",
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP",
        )
        tampered = signer.body([{**batch[0], "event": "bounce"}, batch[1]])
        cases: list[tuple[str, bytes, dict[str, str]]] = [
            ("unsigned", raw, {}),
            ("no timestamp", raw, {sig_header: good[sig_header]}),
            ("no signature", raw, {ts_header: good[ts_header]}),
            ("another key", raw, SendGridSigner().sign(raw, now)),
            ("tampered body", tampered, good),
            ("body with a byte added", raw + b" ", good),
            ("timestamp changed after signing", raw, {**good, ts_header: str(now + 1)}),
            ("signature not base64", raw, {**good, sig_header: "%%%"}),
            ("signature truncated", raw, {**good, sig_header: good[sig_header][:-8]}),
            ("signature of the empty body", raw, signer.sign(b"", now)),
            ("garbage DER", raw, {**good, sig_header: base64.b64encode(b"\x30\x03\x02\x01\x01").decode()}),
        ]
        for skew in (-3600, -330, 330, 3600):
            cases.append((f"timestamp {skew:+} s", raw, signer.sign(raw, now + skew)))
        codes = [
            client.post(SENDGRID_URL, data=body, content_type="application/json", **headers).status_code
            for _, body, headers in cases
        ]
        figure("forged SendGrid event batches", len(codes))
        figure("refused with 403", f"{refused(codes):.0%}")
        assert codes == [403] * len(codes), [
            c[0] for c, code in zip(cases, codes, strict=True) if code != 403
        ]
        sent_email.refresh_from_db()
        assert sent_email.status == S.SENT
        assert not Suppression.objects.exists() and not ConsentEntry.objects.exists()

    def test_push_receipt_forgeries_are_all_refused(self, client, sent_push, figure):
        token = push_receipt_url(message_id=str(sent_push.id)).rsplit("/", 1)[1]
        forged = [
            token[:-2] + ("xx" if not token.endswith("xx") else "yy"),
            token[:-1],
            token + "a",
            "not-a-token",
            token.swapcase(),
            "",
        ]
        codes = [client.post(f"/webhooks/push/receipt/{t}").status_code for t in forged if t]
        codes.append(client.get(f"/webhooks/push/receipt/{token}").status_code)  # wrong method
        figure("forged push receipts", len(codes))
        assert all(code in (403, 405) for code in codes), codes
        assert codes[:-1] == [403] * (len(codes) - 1)
        sent_push.refresh_from_db()
        assert sent_push.status == S.SENT


def status_changes(message) -> int:
    return MessageEvent.objects.filter(message=message, kind=EventKind.STATUS).count()


class TestReplays:
    def test_twilio_status_replayed_50_times_changes_state_once(
        self, client, live_template, twilio_configured, figure
    ):
        message = sent_message(live_template)
        before = status_changes(message)
        codes = {
            post_signed(client, "/webhooks/twilio/status", status_params(message, "delivered")).status_code
            for _ in range(REPLAYS)
        }
        assert codes == {204}
        message.refresh_from_db()
        figure("replays", REPLAYS)
        figure("state changes", status_changes(message) - before)
        assert message.status == S.DELIVERED and status_changes(message) - before == 1

    def test_twilio_inbound_replayed_50_times_is_recorded_once(
        self, client, twilio_configured, contact, figure
    ):
        for _ in range(REPLAYS):
            assert post_signed(client, "/webhooks/twilio/inbound", inbound("STOP")).status_code == 200
        figure("replays", REPLAYS)
        figure("inbound messages recorded", InboundMessage.objects.count())
        assert InboundMessage.objects.count() == 1
        assert ConsentEntry.objects.count() == 1
        assert Suppression.objects.count() == 1

    def test_sendgrid_batch_replayed_50_times_changes_state_once(self, client, signer, sent_email, figure):
        batch = [event(sent_email, "delivered"), event(sent_email, "open"), event(sent_email, "click")]
        before = status_changes(sent_email)
        for _ in range(REPLAYS):
            assert post(client, signer, batch).status_code == 204
        figure("replays", REPLAYS)
        figure("state changes", status_changes(sent_email) - before)
        assert status_changes(sent_email) - before == 1
        assert sent_email.events.filter(kind=EventKind.ENGAGEMENT, status="opened").count() == 1
        assert sent_email.events.filter(kind=EventKind.ENGAGEMENT, status="clicked").count() == 1

    def test_push_receipt_replayed_50_times_delivers_once(self, client, sent_push, figure):
        url = "/webhooks/" + push_receipt_url(message_id=str(sent_push.id)).split("/webhooks/", 1)[1]
        before = status_changes(sent_push)
        assert {client.post(url).status_code for _ in range(REPLAYS)} == {204}
        figure("state changes", status_changes(sent_push) - before)
        assert status_changes(sent_push) - before == 1
