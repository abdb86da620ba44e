"""Fixtures shared by the webhook tests: providers configured, and a message sent through each."""

from __future__ import annotations

import pytest

from bench.fakes.signing import SendGridSigner
from hub.messaging import dispatch
from hub.messaging.models import MessageStatus as S
from tests.factories import ALL_CHANNEL_VARIANTS, make_live_template, make_queued_messages
from tests.fake_servers import fcm_entry, sendgrid_entry, twilio_entry


def dispatched(message):
    dispatch.messages_dispatch(message_ids=[message.id])
    message.refresh_from_db()
    assert message.status == S.SENT
    return message


@pytest.fixture
def twilio_configured(settings, fake_twilio):
    settings.HUB_BASE_URL = "https://hub.example.com"
    settings.HUB_PROVIDERS = {**settings.HUB_PROVIDERS, "sms": [twilio_entry(fake_twilio)]}
    return fake_twilio


@pytest.fixture
def signer(settings):
    signer = SendGridSigner()
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = signer.public_key_b64
    return signer


@pytest.fixture
def sent_email(settings, fake_sendgrid, contact):
    settings.HUB_PROVIDERS = {**settings.HUB_PROVIDERS, "email": [sendgrid_entry(fake_sendgrid)]}
    template = make_live_template("news.weekly", category="marketing")
    (message,) = make_queued_messages(template, channel="email", to=contact.email, contact=contact)
    return dispatched(message)


@pytest.fixture
def sent_push(settings, fake_fcm, tmp_path):
    settings.HUB_PROVIDERS = {
        **settings.HUB_PROVIDERS,
        "push": [fcm_entry(fake_fcm, str(fake_fcm.service_account_file(tmp_path)))],
    }
    template = make_live_template("app.alert", variants=ALL_CHANNEL_VARIANTS)
    (message,) = make_queued_messages(template, channel="push", to="inline-fcm-token")
    return dispatched(message)
