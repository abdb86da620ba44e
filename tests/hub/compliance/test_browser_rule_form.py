"""In a real (headless) Chromium at 1,280 px: a compliance officer edits the quiet-hours rule
with the time pickers, previews the change on past messages (the edit survives the dry run),
and saves it as a new, audited version; on the add page only the chosen kind's settings show.
Screenshots go to var/screenshots/forms20/; axe-core finds no serious or critical violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.models import AuditRecord
from hub.compliance.models import Rule
from tests.axe import axe_serious
from tests.hub.broadcasts.test_admin_report import baseline_rules  # noqa: F401 - autouse fixture
from tests.hub.compliance.test_admin import decided_messages
from tests.templates_app.admin.conftest import browser, login, wait  # noqa: F401 - fixture
from tests.templates_app.admin.test_browser_honest import user

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots" / "forms20"


def shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def pick_time(driver, name: str, hours: str, minutes: str) -> None:
    """Type into the browser's own time picker as a person does: hours, then minutes (the
    picker moves on by itself; in a 12-hour locale it reads 18 as 6 PM)."""
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.NAME, name)
    driver.execute_script("arguments[0].focus()", field)  # the hours part has the focus
    field.send_keys(hours + minutes)


@pytest.mark.django_db(transaction=True)
def test_compliance_edits_quiet_hours_with_pickers_previews_and_saves(
    live_server,
    browser,  # noqa: F811 - the fixture imported above
    marketing_template,
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver, base = browser, live_server.url
    driver.set_window_size(1280, 1400)
    user("colin", "Compliance")
    decided_messages(marketing_template, [22, 19, 19])
    rule = Rule.objects.get(key="quiet_hours_marketing_sms")
    problems: dict[str, list[str]] = {}
    login(driver, base, "colin")

    driver.get(f"{base}/admin/compliance/rule/{rule.pk}/change/")
    assert driver.find_element(By.NAME, "quiet_start").get_attribute("type") == "time"
    assert driver.find_element(By.NAME, "quiet_end").get_attribute("value") == "21:00"
    assert "08:00 until 21:00" in driver.find_element(By.ID, "versions-group").text
    shot(driver, "01-quiet-hours-rule-with-time-pickers")
    problems["rule page"] = axe_serious(driver)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 1280

    pick_time(driver, "quiet_end", "18", "00")
    assert driver.find_element(By.NAME, "quiet_end").get_attribute("value") == "18:00"
    driver.find_element(By.NAME, "note").send_keys("Evenings are quiet from six")
    driver.find_element(By.ID, "rule-preview-change").click()
    wait(driver, lambda d: d.find_elements(By.ID, "preview-result"))
    # The dry run kept the edit: its form shows 18:00 and the messages at 19:00 would now wait.
    assert driver.find_element(By.NAME, "quiet_end").get_attribute("value") == "18:00"
    assert driver.find_element(By.NAME, "note").get_attribute("value") == "Evenings are quiet from six"
    totals = driver.find_elements(By.CSS_SELECTOR, "#preview-result tbody tr")[-1].text
    assert totals.split()[-1] == "2", totals  # decided differently: the two at 19:00
    shot(driver, "02-preview-keeps-the-edit")
    problems["preview"] = axe_serious(driver)
    assert rule.versions.count() == 1  # previewing saves nothing

    driver.find_element(By.CSS_SELECTOR, "input[name=_save]").click()
    wait(driver, lambda d: "/change/" in d.current_url)
    assert "Saved a new version" in driver.find_element(By.CSS_SELECTOR, ".messagelist").text
    latest = rule.versions.order_by("-number").first()
    assert latest is not None
    assert (latest.number, latest.params, latest.note) == (
        2,
        {"start": "08:00", "end": "18:00"},
        "Evenings are quiet from six",
    )
    record = AuditRecord.objects.filter(action="rule.version_created", object_id=rule.key).latest("seq")
    assert record.payload["params"] == {"start": "08:00", "end": "18:00"}
    assert "08:00 until 18:00" in driver.find_element(By.ID, "versions-group").text
    shot(driver, "03-saved-as-version-2")

    # The add page: choosing a kind shows only its settings.
    driver.get(f"{base}/admin/compliance/rule/add/")
    Select(driver.find_element(By.NAME, "kind")).select_by_value("frequency_cap")
    visible = [f for f in driver.find_elements(By.CSS_SELECTOR, "fieldset.sb-kind") if f.is_displayed()]
    assert [f.get_attribute("class").split()[-1] for f in visible] == ["sb-kind-frequency_cap"]
    assert driver.find_element(By.NAME, "cap_limit").is_displayed()
    shot(driver, "04-add-rule-frequency-cap")
    problems["add rule"] = axe_serious(driver)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 1280
    assert problems == {key: [] for key in problems}, problems
