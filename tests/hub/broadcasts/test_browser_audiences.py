"""Issue 20, point 7 in a real (headless) Chromium, as a marketer clicks it: a CSV creates three
contacts (one with a bad phone but a good email, and consent with its evidence), the check says
in words what the import will do, the import does it; then a broadcast to a segment built from
fields shows its audience count and compliance forecast before Start, and after Start the
contact with the bad phone still gets the email. Screenshots go to var/screenshots/audience20/,
each page is checked with axe-core (no serious or critical violations)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.contacts.models import ConsentEntry, Contact
from hub.messaging.models import Message
from templates_app.models import Category
from tests.axe import axe_serious
from tests.factories import make_live_template, zone_at_local_hour
from tests.hub.broadcasts.test_admin_report import baseline_rules  # noqa: F401 - autouse fixture
from tests.templates_app.admin.conftest import browser, login, wait  # noqa: F401 - fixture
from tests.templates_app.admin.test_browser_honest import user

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots" / "audience20"
SMS = {"channel": "sms", "locale": "en", "text": "Spring sale: 20% off this week. Reply STOP to opt out."}
EMAIL = {
    "channel": "email",
    "locale": "en",
    "subject": "20% off this week",
    "html": '<p>Spring sale: 20% off this week.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
}


def shot(driver, name: str) -> None:
    """The whole page at 1,280 px wide (the width every admin page must fit)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, max(900, min(int(height) + 120, 3000)))
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    assert driver.execute_script("return document.documentElement.scrollWidth <= 1280"), name


@pytest.mark.django_db(transaction=True)
def test_marketer_imports_contacts_then_broadcasts_to_a_segment(live_server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver, base = browser, live_server.url
    user("mara", "Marketer")
    template = make_live_template(
        "spring.gold", category=Category.MARKETING, variants=[SMS, EMAIL], variables=[]
    )
    problems: dict[str, list[str]] = {}
    zone = zone_at_local_hour(12)
    evidence = "Spring signup form,2026-03-01,I want offers by SMS and email (v3)"
    csv_path = SHOTS / "contacts.csv"
    SHOTS.mkdir(parents=True, exist_ok=True)
    csv_path.write_text(
        "external_id,email,phone,timezone,tier,consent_sms_marketing,consent_email_marketing,"
        "consent_source,consent_at,consent_evidence\n"
        f"a-1,ann@example.com,+447900000101,{zone},gold,yes,yes,{evidence}\n"
        f"a-2,ben@example.com,+44 12,{zone},gold,yes,yes,{evidence}\n"
        f"a-3,cat@example.com,+447900000103,{zone},silver,yes,yes,{evidence}\n"
    )

    # --- 1. Import contacts: check, read, import.
    login(driver, base, "mara")
    driver.get(f"{base}/admin/broadcasts/broadcast/")
    driver.find_element(By.CSS_SELECTOR, ".object-tools a[href$='/import-contacts/']").click()
    wait(driver, lambda d: "/import-contacts/" in d.current_url)
    driver.find_element(By.NAME, "csv_file").send_keys(str(csv_path))
    shot(driver, "01-import-upload")
    problems["import upload"] = axe_serious(driver)
    driver.find_element(By.CSS_SELECTOR, "#content input[type=submit]").click()
    wait(driver, lambda d: d.find_elements(By.ID, "import-summary"))
    assert driver.find_element(By.ID, "import-create").text == "3"
    assert driver.find_element(By.ID, "import-granted").text == "6"
    notes = driver.find_element(By.ID, "import-notes").text
    assert "row 2: phone '+44 12' invalid, not saved (SMS skipped)" in notes
    assert not Contact.objects.exists()  # nothing before Import
    shot(driver, "02-import-check")
    problems["import check"] = axe_serious(driver)
    driver.find_element(By.ID, "import-apply").click()
    wait(driver, lambda d: d.find_elements(By.ID, "import-done"))
    assert Contact.objects.count() == 3 and ConsentEntry.objects.filter(source="import").count() == 6
    assert Contact.objects.get(external_id="a-2").phone == ""
    shot(driver, "03-import-done")
    problems["import done"] = axe_serious(driver)

    # --- 2. A broadcast to "tier is gold", from fields: count and forecast before Start.
    driver.find_element(By.LINK_TEXT, "Send a broadcast to a segment of your contacts").click()
    wait(driver, lambda d: "/segment/" in d.current_url)
    driver.find_element(By.NAME, "name").send_keys("Gold spring sale")
    Select(driver.find_element(By.NAME, "template")).select_by_value(str(template.pk))
    driver.find_element(By.CSS_SELECTOR, "input[name=channels][value=sms]").click()
    driver.find_element(By.CSS_SELECTOR, "input[name=channels][value=email]").click()
    driver.find_element(By.NAME, "conditions-0-attribute").send_keys("tier")
    Select(driver.find_element(By.NAME, "conditions-0-operator")).select_by_value("is")
    driver.find_element(By.NAME, "conditions-0-value").send_keys("gold")
    # A wrong type first: a form error, nothing saved.
    driver.find_element(By.NAME, "conditions-1-attribute").send_keys("tier")
    Select(driver.find_element(By.NAME, "conditions-1-operator")).select_by_value("gte")
    driver.find_element(By.NAME, "conditions-1-value").send_keys("3")
    driver.find_element(By.CSS_SELECTOR, "#content input[type=submit]").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".sb-condition .errorlist"))
    error = driver.find_element(By.CSS_SELECTOR, ".sb-condition .errorlist").text
    assert error == "'tier' holds text; is at least compares numbers."
    shot(driver, "04-segment-form-error")
    problems["segment error"] = axe_serious(driver)
    driver.find_element(By.NAME, "conditions-1-attribute").clear()
    driver.find_element(By.NAME, "conditions-1-value").clear()
    driver.find_element(By.CSS_SELECTOR, "#content input[type=submit]").click()
    wait(driver, lambda d: "/report/" in d.current_url)
    assert driver.find_element(By.ID, "report-segment").text == "tier is gold"
    assert driver.find_element(By.ID, "report-valid").text == "2"
    # Three messages, as the send below makes them: a-2's SMS is made and blocked for want of a
    # phone before routing "first" falls back to email. (This said "2", the forecast's old
    # count, while the same walk's progress says "2 of 3 messages went out" after Start.)
    assert driver.find_element(By.ID, "report-messages").text == "3"
    assert driver.find_element(By.ID, "report-allowed").text == "2"
    assert "Would be blocked: No address for this channel" in driver.find_element(By.ID, "content").text
    assert not Message.objects.exists()
    shot(driver, "05-segment-count-and-forecast")
    problems["segment report"] = axe_serious(driver)

    # --- 3. Start: a-1 by SMS, a-2 (no phone) by email.
    driver.find_element(By.CSS_SELECTOR, "form input[type=submit].default").click()
    wait(driver, lambda d: "/change/" in d.current_url)
    from hub.broadcasts.tasks import release_broadcasts

    release_broadcasts()
    driver.refresh()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".sb-progress").get_attribute("data-done") == "1")
    # Routing "first": a-2's SMS has no address (blocked, no_address) and the email is used.
    went = dict(Message.objects.filter(status__in=("sent", "delivered")).values_list("to", "channel"))
    assert went == {"+447900000101": "sms", "ben@example.com": "email"}
    text = driver.find_element(By.CSS_SELECTOR, ".sb-progress-text").text
    assert "2 of 3 messages went out" in text, text
    shot(driver, "06-segment-broadcast-sent")
    problems["broadcast page"] = axe_serious(driver)
    assert {page: found for page, found in problems.items() if found} == {}
