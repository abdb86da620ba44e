"""Dispatch: claim, render, hand off with no transaction open, record the outcome."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditRecord
from audit.services import Actor
from bench.fakes.sendgrid import sent_mails
from bench.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, INVALID_NUMBER, sent_messages
from hub.messaging import dispatch
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import Message, MessageEvent, Notification
from hub.messaging.models import MessageStatus as S
from hub.providers.errors import PermanentProviderError, RetryableProviderError
from hub.providers.sendgrid import MESSAGE_ID_ARG
from tests.factories import ORDER_DATA
from tests.fake_servers import sendgrid_entry
from tests.hub.messaging.recording import CALLS, ERRORS, queued_messages


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("recording")
class TestDispatch:
    def test_batch_is_sent_once_outside_a_transaction(self, live_template):
        messages = queued_messages(live_template, count=5)
        ids = [m.id for m in messages]
        report = dispatch.messages_dispatch(message_ids=ids)
        assert (report.claimed, report.sent) == (5, 5)
        assert len(CALLS) == 5
        assert CALLS[0].content["text"] == "Hi Ada, order A-1 is on its way."
        assert set(Message.objects.filter(id__in=ids).values_list("status", flat=True)) == {S.SENT}
        # A redelivered task for the same ids sends nothing.
        again = dispatch.messages_dispatch(message_ids=ids)
        assert again.claimed == 0 and len(CALLS) == 5

    def test_batch_cost_does_not_grow_with_its_size(self, live_template):
        """No per-message queries: a batch of 40 costs what a batch of 5 costs."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def cost(count):
            ids = [m.id for m in queued_messages(live_template, count=count)]
            with CaptureQueriesContext(connection) as queries:
                dispatch.messages_dispatch(message_ids=ids)
            return len(queries)

        cost(1)  # warm the per-process caches (providers, rules) first
        small, large = cost(5), cost(40)
        assert large == small, (small, large)
        assert large <= 40

    def test_retryable_error_requeues_with_backoff(self, live_template):
        (message,) = queued_messages(live_template)
        ERRORS.append(RetryableProviderError("busy", code="503", http_status=503))
        report = dispatch.messages_dispatch(message_ids=[message.id])
        assert report.retrying == 1
        message.refresh_from_db()
        assert message.status == S.QUEUED and message.not_before is not None
        assert (message.error_code, message.attempts) == ("503", 1)

    def test_retries_are_bounded(self, live_template, settings):
        settings.HUB_MAX_SEND_ATTEMPTS = 2
        (message,) = queued_messages(live_template)
        for _ in range(2):
            ERRORS.append(RetryableProviderError("busy", code="503"))
            Message.objects.filter(id=message.id).update(not_before=None)
            dispatch.messages_dispatch(message_ids=[message.id])
        message.refresh_from_db()
        assert (message.status, message.attempts) == (S.FAILED, 2)
        assert len(CALLS) == 2

    def test_permanent_error_fails_at_once(self, live_template):
        (message,) = queued_messages(live_template)
        ERRORS.append(PermanentProviderError("invalid number", code="21211", http_status=400))
        dispatch.messages_dispatch(message_ids=[message.id])
        message.refresh_from_db()
        assert (message.status, message.error_code, message.attempts) == (S.FAILED, "21211", 1)

    def test_render_error_fails_without_calling_provider(self, live_template):
        (message,) = queued_messages(live_template, data={"first_name": "Ada"})
        dispatch.messages_dispatch(message_ids=[message.id])
        message.refresh_from_db()
        assert (message.status, message.error_code) == (S.FAILED, "render_error")
        assert CALLS == []


@pytest.mark.django_db(transaction=True)
class TestTwilioPath:
    """The SMS path through the real twilio SDK against the fake Twilio server."""

    @pytest.fixture
    def twilio_providers(self, fake_twilio, settings):
        settings.HUB_PROVIDERS = {
            "sms": [
                {
                    "NAME": "twilio",
                    "BACKEND": "hub.providers.twilio.TwilioSmsProvider",
                    "OPTIONS": {
                        "account_sid": ACCOUNT_SID,
                        "auth_token": AUTH_TOKEN,
                        "from_number": FROM_NUMBER,
                        "api_base_url": fake_twilio.base_url,
                        "timeout": 5,
                    },
                }
            ]
        }
        return fake_twilio

    def test_sms_sent_through_sdk(self, live_template, twilio_providers):
        (message,) = queued_messages(live_template)
        dispatch.messages_dispatch(message_ids=[message.id])
        message.refresh_from_db()
        assert message.status == S.SENT
        assert message.provider == "twilio" and message.provider_message_id.startswith("SM")
        (form,) = sent_messages(twilio_providers)
        assert form["To"] == "+447911123456" and form["From"] == FROM_NUMBER
        assert form["Body"] == "Hi Ada, order A-1 is on its way."
        assert form["StatusCallback"].endswith(f"/webhooks/twilio/status?message={message.id}")

    def test_twilio_invalid_number_is_permanent(self, live_template, twilio_providers):
        (message,) = queued_messages(live_template, to=INVALID_NUMBER)
        dispatch.messages_dispatch(message_ids=[message.id])
        message.refresh_from_db()
        assert (message.status, message.error_code) == (S.FAILED, "21211")
        assert len(twilio_providers.calls) == 1

    def test_twilio_5xx_is_retried(self, live_template, twilio_providers):
        from bench.fakes.server import Injection

        twilio_providers.inject(Injection(503, {"code": 20500, "message": "Internal error", "status": 503}))
        (message,) = queued_messages(live_template)
        dispatch.messages_dispatch(message_ids=[message.id])
        message.refresh_from_db()
        assert message.status == S.QUEUED and message.error_code == "20500"


def queued_emails(template, count):
    notification = Notification.objects.create(
        template=template, template_version=template.live_version, data=ORDER_DATA
    )
    messages = Message.objects.bulk_create(
        Message(
            notification=notification,
            channel="email",
            category="transactional",
            to=f"p{i}@example.com",
            locale="en",
        )
        for i in range(count)
    )
    messages_transition([Change(m.id, S.QUEUED) for m in messages], actor=Actor.system(), source="test")
    return [m.id for m in messages]


@pytest.mark.django_db
class TestBatchedEmail:
    """One template version to many recipients: one SendGrid request, an outcome per message."""

    @pytest.fixture(autouse=True)
    def _sendgrid(self, settings, fake_sendgrid):
        settings.HUB_PROVIDERS = {"email": [sendgrid_entry(fake_sendgrid)]}

    def test_one_request_carries_the_batch_and_each_message_is_recorded(self, live_template, fake_sendgrid):
        ids = queued_emails(live_template, count=30)
        report = dispatch.messages_dispatch(message_ids=ids)
        assert (report.claimed, report.sent) == (30, 30)
        (mail,) = sent_mails(fake_sendgrid)
        # Each recipient carries its message id, which the event webhook matches on.
        assert sorted(p["custom_args"][MESSAGE_ID_ARG] for p in mail["personalizations"]) == sorted(
            str(i) for i in ids
        )
        rows = list(Message.objects.filter(id__in=ids))
        # SendGrid answers one X-Message-Id per request: that is what each message records.
        assert {(m.status, m.provider) for m in rows} == {(S.SENT, "sendgrid")}
        assert len({m.provider_message_id for m in rows}) == 1 and rows[0].provider_message_id
        for status in (S.SENDING, S.SENT):
            assert MessageEvent.objects.filter(message_id__in=ids, status=status).count() == 30
            audited = AuditRecord.objects.filter(
                action="message.status_changed", object_id__in=[str(i) for i in ids], payload__to=status
            )
            assert audited.count() == 30

    def test_batch_cost_does_not_grow_with_its_size(self, live_template, fake_sendgrid):
        """Queries (and provider requests) per batch are constant: 5 messages cost what 40 do,
        60 what 100 do. Past a multi-row INSERT's rows (``audit.rows.INSERT_MAX_ROWS``) each
        of the two status changes' audit records also draw their numbers in a statement (and
        go by COPY): two statements more, once."""

        def cost(count):
            ids = queued_emails(live_template, count=count)
            before = len(sent_mails(fake_sendgrid))
            with CaptureQueriesContext(connection) as queries:
                dispatch.messages_dispatch(message_ids=ids)
            return len(queries), len(sent_mails(fake_sendgrid)) - before

        cost(1)  # warm the per-process caches first
        small, medium, large, larger = cost(5), cost(40), cost(60), cost(100)
        assert medium == small and larger == large, (small, medium, large, larger)
        assert large[0] <= small[0] + 2, (small, large)
        assert large[0] <= 30 and large[1] == 1
