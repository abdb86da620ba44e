"""In a real (headless) Chromium: a customer texts back (a signed Twilio inbound webhook); a
support user reads it on the contact's timeline, replies, reads the conversation, and in the
sandbox simulates a STOP. Screenshots go to var/screenshots/twoway18/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from bench.fakes.twilio import AUTH_TOKEN
from hub.contacts.conversations import SUPPORT_REPLY_TEMPLATE
from hub.contacts.models import Contact, InboundMessage, Suppression
from hub.demo_templates import SUPPORT_REPLY, SUPPORT_REPLY_VARIABLES
from hub.messaging.models import Notification
from hub.roles import roles_ensure
from tests.axe import axe_check
from tests.factories import make_live_template, make_message
from tests.hub.webhooks.test_twilio import inbound, post_signed
from tests.templates_app.admin.conftest import PASSWORD, browser, login, wait

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots" / "twoway18"

__all__ = ["browser"]


def shot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    axe_check(driver, name)  # WCAG 2.1 AA, nothing serious


@pytest.mark.django_db(transaction=True)
def test_support_reads_an_inbound_sms_on_the_timeline_and_replies(live_server, browser, settings):
    from selenium.webdriver.common.by import By

    driver = browser
    base = live_server.url
    settings.HUB_BASE_URL = "https://hub.example.com"
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN  # SMS stays in the sandbox; the inbound is signed
    roles_ensure()
    support = get_user_model().objects.create_user(username="sam", password=PASSWORD, is_staff=True)
    support.groups.add(Group.objects.get(name="Support"))
    contact = Contact.objects.create(external_id="cust-1", email="ada@example.com", phone="+447911123456")
    make_live_template(
        SUPPORT_REPLY_TEMPLATE, variants=SUPPORT_REPLY, variables=SUPPORT_REPLY_VARIABLES, lint=True
    )
    shipped = make_message(template=make_live_template(), contact=contact)  # our SMS, delivered

    # --- The customer texts back, through Twilio's signed inbound webhook.
    response = post_signed(Client(), "/webhooks/twilio/inbound", inbound("Can it come on Friday instead?"))
    assert response.status_code == 200
    reply_in = InboundMessage.objects.get()
    assert reply_in.answers_id == shipped.id

    # --- Support reads it on the contact's timeline.
    login(driver, base, "sam")
    driver.get(f"{base}/admin/workspace/contacttimeline/{contact.pk}/change/")
    timeline = driver.find_element(By.ID, "timeline").text
    assert "Can it come on Friday instead?" in timeline
    assert f"answers message {shipped.id}" in timeline
    shot(driver, "01-timeline-with-inbound-sms")

    # --- and replies from there.
    driver.find_element(By.ID, f"reply-body-{reply_in.pk}").send_keys("Yes, Friday works. We have moved it.")
    shot(driver, "02-reply-written")
    driver.find_element(By.CSS_SELECTOR, "form.inbound-reply button[type=submit]").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".messagelist li"))
    notice = driver.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert "Reply by sms:" in notice and "blocked" not in notice
    assert "/contacttimeline/" in driver.current_url  # back where support was
    shot(driver, "03-reply-sent")
    notification = Notification.objects.get(template__key=SUPPORT_REPLY_TEMPLATE)
    assert notification.data == {"body": "Yes, Friday works. We have moved it."}

    # --- The conversation shows both sides.
    driver.get(f"{base}/admin/contacts/inboundmessage/{reply_in.pk}/change/")
    thread = driver.find_element(By.ID, "conversation").text
    assert "Can it come on Friday instead?" in thread and "Yes, Friday works." in thread
    shot(driver, "04-conversation")

    # --- Sandbox: support simulates the customer texting STOP.
    driver.get(f"{base}/admin/workspace/contacttimeline/{contact.pk}/change/")
    driver.find_element(By.ID, "simulate-body").send_keys("STOP")
    driver.find_element(By.CSS_SELECTOR, "form.inbound-simulate button[type=submit]").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".messagelist li"))
    assert "Opt-out" in driver.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert Suppression.objects.filter(channel="sms", lifted_at=None).exists()
    assert len(driver.find_elements(By.CSS_SELECTOR, "form.inbound-reply")) == 1  # under the newest
    shot(driver, "05-simulated-stop")

    # --- A stranger's text waits in the inbox; support links it to the contact.
    stranger = inbound("Hi, it's Ada on my new phone", sid="SM-new", sender="+447700900123")
    assert post_signed(Client(), "/webhooks/twilio/inbound", stranger).status_code == 200
    driver.get(f"{base}/admin/contacts/inboundmessage/?sender=unknown")
    assert "Unknown sender +447700900123" in driver.find_element(By.ID, "result_list").text
    shot(driver, "06-inbox-unknown-sender")
    driver.find_element(By.CSS_SELECTOR, "#result_list tbody a").click()
    driver.find_element(By.ID, "link-external-id").send_keys("cust-1")
    driver.find_element(By.ID, "link-submit").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".messagelist li"))
    assert "Linked to cust-1." in driver.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert InboundMessage.objects.get(provider_message_id="SM-new").contact == contact
    shot(driver, "07-linked")
