"""Issue 20 point 6 in a real (headless) Chromium: a support user searches "ada", opens the
contact, reads one time-ordered page (messages with their content and why, an inbound reply,
consent, a journey run), filters it, simulates a STOP in the sandbox and sees the consent
change. Addresses stay masked for support. Screenshots go to var/screenshots/support20/; each
page is checked with axe-core (no serious or critical violations)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from hub.contacts.models import Contact, InboundMessage
from hub.roles import roles_ensure
from tests.axe import axe_serious
from tests.factories import grant_consent, make_live_template, make_message, zone_at_local_hour
from tests.hub.broadcasts.test_admin_report import baseline_rules  # noqa: F401 - autouse fixture
from tests.hub.journeys.conftest import definition, live_journey, send_event
from tests.templates_app.admin.conftest import PASSWORD, browser, login, wait

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots" / "support20"
HOSTILE = "<script>document.title='owned'</script>Is it Friday?"

__all__ = ["browser"]


def shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


@pytest.mark.django_db(transaction=True)
def test_support_reads_a_customers_experience_and_simulates_stop(live_server, browser):
    from selenium.webdriver.common.by import By

    driver, base = browser, live_server.url
    driver.set_window_size(1280, 1800)  # the page must fit 1,280 px
    roles_ensure()
    support = get_user_model().objects.create_user(username="sam", password=PASSWORD, is_staff=True)
    support.groups.add(Group.objects.get(name="Support"))
    ada = Contact.objects.create(
        external_id="cust-1", email="ada@example.com", phone="+447911123456", locale="en-GB",
        timezone=zone_at_local_hour(12), attributes={"name": "Ada Lovelace"},
    )  # fmt: skip
    Contact.objects.create(external_id="cust-2", attributes={"name": "Grace Hopper"})
    grant_consent(ada, "sms", "email")
    template = make_live_template()
    # Accepted through the intake; the live server's eager tasks send them through the sandbox.
    make_message(template=template, contact=ada, outcome="queued")
    make_message(template=template, contact=ada, channel="email", outcome="queued")
    InboundMessage.objects.create(contact=ada, channel="sms", from_address=ada.phone, body=HOSTILE)
    live_journey(definition(steps=[{"id": "pause", "type": "wait", "duration": "1h"}]))
    send_event("signed.up")
    problems: dict[str, list[str]] = {}

    # --- Support searches part of the name and opens the contact.
    login(driver, base, "sam")
    driver.get(f"{base}/admin/workspace/contacttimeline/")
    driver.find_element(By.ID, "searchbar").send_keys("ada\n")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#result_list tbody a"))
    assert "cust-2" not in driver.find_element(By.ID, "result_list").text
    shot(driver, "01-search-ada")
    problems["search"] = axe_serious(driver)
    driver.find_element(By.CSS_SELECTOR, "#result_list tbody a").click()
    wait(driver, lambda d: d.find_elements(By.ID, "timeline"))

    # --- One page: the person (masked), consent now, and every kind interleaved in time.
    page = driver.find_element(By.ID, "content").text
    assert "Ada Lovelace" in page and "a•••@example.com" in page and "+44•••••••456" in page
    assert "ada@example.com" not in driver.page_source and "+447911123456" not in driver.page_source
    assert driver.title != "owned" and HOSTILE in driver.find_element(By.ID, "timeline").text
    rows = [r.get_attribute("class") for r in driver.find_elements(By.CSS_SELECTOR, "#timeline > tbody > tr")]
    assert rows == [
        "timeline-journey", "timeline-inbound", "timeline-message", "timeline-message",
        "timeline-consent", "timeline-consent",
    ]  # fmt: skip
    for details in driver.find_elements(By.CSS_SELECTOR, "details.rendered"):
        details.click()  # what the customer received: the email in its sandboxed frame
    frame = driver.find_element(By.CSS_SELECTOR, "iframe.rendered-html")
    assert frame.get_attribute("sandbox") == ""  # the email's HTML: no scripts, no same origin
    assert "order <b>A-1</b> is on its way" in frame.get_attribute("srcdoc")
    assert "delivered" in driver.find_element(By.CSS_SELECTOR, ".status-trail").text
    assert "allowed" in driver.find_element(By.CSS_SELECTOR, ".decision-sentence").text
    assert driver.find_elements(By.LINK_TEXT, "The run's timeline")
    shot(driver, "02-contact-page")
    problems["contact page"] = axe_serious(driver)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 1280

    # --- Filters: messages only, then email only.
    driver.find_element(By.CSS_SELECTOR, "input[name=kind][value=messages]").click()
    driver.find_element(By.ID, "timeline-filter").click()
    wait(driver, lambda d: "kind=messages" in d.current_url)
    rows = [r.get_attribute("class") for r in driver.find_elements(By.CSS_SELECTOR, "#timeline > tbody > tr")]
    assert rows == ["timeline-message", "timeline-message"]
    driver.find_element(By.CSS_SELECTOR, "select[name=channel] option[value=email]").click()
    driver.find_element(By.ID, "timeline-filter").click()
    wait(driver, lambda d: "channel=email" in d.current_url)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#timeline > tbody > tr")) == 1
    assert "Order A-1 shipped" in driver.page_source
    shot(driver, "03-filtered-email-messages")
    problems["filtered"] = axe_serious(driver)

    # --- Sandbox: the customer texts STOP; marketing SMS consent is withdrawn, the number suppressed.
    driver.find_element(By.LINK_TEXT, "Clear").click()
    consent = driver.find_element(By.ID, "consent-now").text
    assert "sms marketing granted" in consent
    driver.find_element(By.ID, "simulate-body").send_keys("STOP")
    driver.find_element(By.CSS_SELECTOR, "form.inbound-simulate button[type=submit]").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".messagelist li"))
    assert "Opt-out" in driver.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert "sms marketing withdrawn" in driver.find_element(By.ID, "consent-now").text
    assert "sms: SMS opt-out" in driver.find_element(By.ID, "suppressions").text
    timeline = driver.find_element(By.ID, "timeline").text
    assert "marketing withdrawn" in timeline and "address suppressed: SMS opt-out" in timeline
    shot(driver, "04-after-simulated-stop")
    problems["after stop"] = axe_serious(driver)

    # --- Dark mode: the same page in the dark theme.
    driver.execute_script(
        "localStorage.setItem('theme', 'dark'); document.documentElement.dataset.theme = 'dark';"
    )
    shot(driver, "05-contact-page-dark")
    problems["dark"] = axe_serious(driver)
    assert {page: found for page, found in problems.items() if found} == {}
