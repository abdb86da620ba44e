"""Issue 20 in a real (headless) Chromium, as each role clicks it: a marketer's test send that
compliance blocks says so and why; a CSV broadcast's report forecasts the blocks before Start
and its progress is honest after; compliance opens the queue, follows its link to the review
page, reads the author's note and the side-by-side changes, and approves. Each page is
screenshotted to var/screenshots/admin20/ and checked with axe-core (no serious or critical
violations on the page)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from audit.services import Actor
from hub.contacts.models import Contact
from hub.roles import roles_ensure
from templates_app.models import StaffAddress, VersionStatus
from templates_app.services import template_create, template_draft_create, template_version_submit
from tests.axe import axe_serious
from tests.factories import grant_consent, make_live_template, zone_at_local_hour
from tests.hub.broadcasts.test_admin_report import baseline_rules  # noqa: F401 - autouse fixture
from tests.templates_app.admin.conftest import NAME, PASSWORD, SMS, login, wait

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots" / "admin20"
PHONE = "+447911123456"


def shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def user(username: str, role: str):
    roles_ensure()
    made = get_user_model().objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.com", is_staff=True
    )
    made.groups.add(Group.objects.get(name=role))
    return made


@pytest.mark.django_db(transaction=True)
def test_marketer_and_compliance_see_what_really_happened(live_server, browser):
    from selenium.webdriver.common.by import By

    driver, base = browser, live_server.url
    marketer = user("mara", "Marketer")
    user("colin", "Compliance")
    problems: dict[str, list[str]] = {}

    # --- 1. Marketer: a test of a marketing draft to their own phone, which has no consent.
    template = template_create(
        key="spring.offer", name="Spring offer", category="marketing", actor=Actor.user(marketer.pk)
    )
    sms = {**SMS, "text": "Hi {{ name }}, 20% off this week. Reply STOP to opt out."}
    draft = template_draft_create(template=template, author=marketer, variants=[sms], variables=[NAME])
    StaffAddress.objects.create(user=marketer, channel="sms", address=PHONE, verified_at=timezone.now())
    login(driver, base, "mara")
    driver.get(f"{base}/admin/templates_app/templateversion/{draft.pk}/test-send/")
    driver.find_element(By.CSS_SELECTOR, "input[name=addresses]").click()
    driver.find_element(By.ID, "tpl-send-test").click()
    wait(driver, lambda d: d.find_elements(By.ID, "tpl-test-summary"))
    summary = driver.find_element(By.ID, "tpl-test-summary").text
    assert summary == "Nothing was sent: sms blocked (No consent)."
    row = driver.find_element(By.CSS_SELECTOR, ".tpl-test-outcome").text
    assert "No consent" in row and "no marketing sms consent is recorded" in row
    shot(driver, "01-marketer-test-send-blocked-says-why")
    problems["test result"] = axe_serious(driver)

    # --- 2. Marketer: a CSV broadcast of a live marketing template; one of three consented.
    live = make_live_template(
        "spring.live",
        category="marketing",
        variants=[sms],
        variables=[{"name": "name", "type": "string", "required": True, "example": "Ada"}],
    )
    for i in (1, 2, 3):
        contact = Contact.objects.create(
            external_id=f"c-{i}", phone=f"+4479000000{i:02d}", timezone=zone_at_local_hour(12)
        )
        if i == 1:
            grant_consent(contact, "sms")
    csv_path = SHOTS / "audience.csv"
    SHOTS.mkdir(parents=True, exist_ok=True)
    csv_path.write_text("external_id,name\nc-1,Ada\nc-2,Bob\nc-3,Cy\nc-4,Nobody\n")
    driver.get(f"{base}/admin/broadcasts/broadcast/upload/")
    driver.find_element(By.NAME, "name").send_keys("Spring week")
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.NAME, "template")).select_by_value(str(live.pk))
    driver.find_element(By.CSS_SELECTOR, "input[name=channels][value=sms]").click()
    driver.find_element(By.NAME, "csv_file").send_keys(str(csv_path))
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait(driver, lambda d: "/map/" in d.current_url)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait(driver, lambda d: "/report/" in d.current_url)
    assert driver.find_element(By.ID, "report-valid").text == "3"
    assert driver.find_element(By.ID, "report-allowed").text == "1"
    blocked = driver.find_element(By.CSS_SELECTOR, ".report-blocked").text
    assert "No consent" in blocked and blocked.endswith("2")
    assert "unknown contact" in driver.find_element(By.ID, "report-rows-table").text
    shot(driver, "02-broadcast-report-forecast")
    problems["broadcast report"] = axe_serious(driver)
    driver.find_element(By.CSS_SELECTOR, "form input[type=submit].default").click()
    wait(driver, lambda d: "/change/" in d.current_url)
    from hub.broadcasts.tasks import release_broadcasts

    release_broadcasts()
    driver.refresh()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".sb-progress").get_attribute("data-done") == "1")
    text = driver.find_element(By.CSS_SELECTOR, ".sb-progress-text").text
    assert "1 of 3 messages went out" in text and "No consent 2" in text, text
    assert "4 recipients" in text and "1 skipped" in text, text
    assert int(driver.find_element(By.CSS_SELECTOR, ".sb-progress progress").get_attribute("value")) == 33
    shot(driver, "03-broadcast-progress-honest")
    problems["broadcast page"] = axe_serious(driver)

    # --- 3. Compliance: queue -> review page (note, side by side) -> approve; buttons go.
    template_version_submit(version=draft, actor=Actor.user(marketer.pk), comment="Spring copy, legal OK.")
    login(driver, base, "colin")
    driver.get(f"{base}/admin/templates_app/approvalqueueentry/")
    assert "1 version waiting" in driver.find_element(By.TAG_NAME, "h1").text
    shot(driver, "04-compliance-queue")
    problems["queue"] = axe_serious(driver)
    driver.find_element(By.LINK_TEXT, str(draft)).click()
    wait(driver, lambda d: "/review/" in d.current_url)
    assert driver.find_element(By.ID, "tpl-author-note").text == "Spring copy, legal OK."
    shot(driver, "05-compliance-review-page")
    problems["review"] = axe_serious(driver)
    driver.find_element(By.ID, "tpl-approve").click()
    wait(driver, lambda d: "approvalqueueentry" in d.current_url)
    assert "0 versions waiting" in driver.find_element(By.TAG_NAME, "h1").text
    draft.refresh_from_db()
    assert draft.status == VersionStatus.APPROVED
    driver.get(f"{base}/admin/templates_app/templateversion/{draft.pk}/review/")
    assert not driver.find_elements(By.ID, "tpl-approve") and not driver.find_elements(By.ID, "tpl-reject")
    shot(driver, "06-compliance-review-after-decision")
    problems["review after"] = axe_serious(driver)
    assert {page: found for page, found in problems.items() if found} == {}
