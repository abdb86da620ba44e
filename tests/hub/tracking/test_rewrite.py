"""Links rewritten at dispatch (per template), the open pixel, and the SMS segment counter
counting the shortened links."""

from __future__ import annotations

import re

import pytest

from hub.messaging.dispatch import messages_dispatch
from hub.messaging.models import Message
from hub.providers.models import SandboxOutboxEntry
from hub.tracking.models import LinkKind, TrackedLink
from hub.tracking.tokens import token_read
from templates_app.models import Tracking
from templates_app.preview import version_preview
from templates_app.sms import links_shortened, sms_info, sms_info_sent
from tests.factories import make_live_template, make_queued_messages
from tests.hub.tracking.conftest import DATA, tracked_template

pytestmark = pytest.mark.django_db

TRACKED = re.compile(r"http://testserver/l/([0-9A-Za-z]{15})")


def send(template, channel, to, data=DATA):
    [message] = make_queued_messages(template, channel=channel, to=to, data=data)
    messages_dispatch(message_ids=[message.id])
    message.refresh_from_db()
    assert message.status == "sent", message.error_message
    return message


def test_marketing_email_links_become_tracked_with_position_label_and_an_open_pixel(hub_base):
    message = send(tracked_template(), "email", "ada@example.com")
    sent = SandboxOutboxEntry.objects.get(message_id=str(message.id)).content
    html, text = sent["html"], sent["text"]
    links = list(TrackedLink.objects.filter(message=message, kind=LinkKind.LINK).order_by("position"))
    assert [(link.position, link.label, link.url) for link in links] == [
        (1, "See the spring sale", "https://shop.example/spring?a=1&b=2")
    ]
    assert "https://shop.example" not in html and "https://shop.example" not in text
    [token] = TRACKED.findall(html)
    assert token_read("link", token) == links[0].pk
    assert TRACKED.findall(text) == [token]  # the text part's same link is the same link
    # Never rewritten: javascript:, mailto:, the hub's own unsubscribe link.
    assert 'href="mailto:help@shop.example"' in html
    assert not TrackedLink.objects.filter(url__startswith="javascript").exists()
    # (the hub supplies unsubscribe_url itself: issue 20; whatever it put there stays as it is)
    unsubscribe = re.search(r'<a href="([^"]*)"[^>]*>Unsubscribe</a>', html)
    assert unsubscribe is not None and "/l/" not in unsubscribe.group(1)
    pixel = TrackedLink.objects.get(message=message, kind=LinkKind.OPEN)
    assert re.search(
        r'<img src="http://testserver/o/([0-9A-Za-z]{15})" width="1" height="1"[^>]*></body>', html
    )
    found = re.search(r"/o/(\w{15})", html)
    assert found is not None and token_read("open", found.group(1)) == pixel.pk
    # What is stored as sent is what was sent.
    assert Message.objects.get(pk=message.pk).rendered["html"] == html


def test_sms_links_are_shortened_and_the_segments_count_what_was_sent(hub_base):
    message = send(tracked_template(), "sms", "+447911123456")
    text = message.rendered["text"]
    assert len(TRACKED.findall(text)) == 2 and "shop.example" not in text
    assert text.endswith("Reply STOP to opt out.")  # the full stop after a link stays text
    assert [link.position for link in TrackedLink.objects.filter(message=message)] == [1, 2]
    source = "Sale: https://shop.example/a-very-long-path/" + "x" * 150 + " Reply STOP"
    assert sms_info(source).segments == 2
    assert sms_info_sent(source, tracked=True).segments == 1
    assert len(links_shortened("go https://a.example/b")) == len("go http://testserver/l/") + 15


def test_transactional_templates_are_not_tracked_unless_chosen(hub_base):
    template = make_live_template("order.tracked")
    plain = send(template, "sms", "+447911123456", data=None)
    assert not TrackedLink.objects.filter(message=plain).exists()
    template.tracking = Tracking.ON
    template.save()
    assert template.tracks_links


def test_a_marketing_template_with_tracking_off_sends_links_as_written(hub_base):
    message = send(tracked_template(tracking=Tracking.OFF), "sms", "+447911123456")
    assert "https://shop.example/sms-offer" in message.rendered["text"]
    assert not TrackedLink.objects.exists()


def test_the_admin_preview_counts_sms_segments_with_the_shortened_links(hub_base):
    long_link = "https://shop.example/" + "p" * 150
    variants = [{"channel": "sms", "locale": "en", "text": f"Sale {long_link} Reply STOP to opt out."}]
    template = make_live_template("promo.long", category="marketing", variants=variants)
    assert template.live_version is not None
    [sms] = version_preview(template.live_version)["variants"]
    assert sms["sms"]["segments"] == 1
    template.tracking = Tracking.OFF
    template.save()
    template.live_version.template.refresh_from_db()
    [sms] = version_preview(template.live_version)["variants"]
    assert sms["sms"]["segments"] == 2


def test_templates_as_code_carry_the_measurement_settings_and_refuse_bad_ones():
    from django.contrib.auth import get_user_model

    from templates_app.models import Template
    from templates_app.services.transfer import ImportFailed, templates_export, templates_import

    template = tracked_template(tracking=Tracking.OFF, goal_event="order.completed", attribution_days=3)
    document = templates_export(keys=[template.key])
    [item] = document["templates"]
    assert (item["tracking"], item["goal_event"], item["attribution_days"]) == ("off", "order.completed", 3)
    user = get_user_model().objects.create_user(username="importer")
    item["key"] = "promo.copied"
    templates_import(document=document, user=user)
    copied = Template.objects.get(key="promo.copied")
    assert (copied.tracking, copied.goal_event, copied.attribution_days) == ("off", "order.completed", 3)
    item["key"], item["attribution_days"] = "promo.bad", 1000
    with pytest.raises(ImportFailed, match=r"attribution_days|90"):
        templates_import(document=document, user=user)
    assert not Template.objects.filter(key="promo.bad").exists()
