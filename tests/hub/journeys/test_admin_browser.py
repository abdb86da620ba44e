"""Issue 17.3 end to end in a real (headless) Chromium: a marketer builds a three-step journey
in admin from forms, simulates it and submits it; a compliance officer approves it; an event
posted to ``POST /api/v1/events`` starts a run, and the support user sees it on the contact's
timeline. Screenshots go to var/screenshots/jadmin17/ for people to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from hub.apikeys.services import apikey_create
from hub.journeys.models import JourneyRun, JourneyVersion
from hub.roles import roles_ensure
from templates_app.models import VersionStatus
from tests.axe import axe_check
from tests.factories import make_contacts, make_live_template
from tests.templates_app.admin.conftest import PASSWORD, browser, login, wait  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots" / "jadmin17"


def _staff(username: str, role: str):
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.com", is_staff=True
    )
    user.groups.add(Group.objects.get(name=role))
    return user


def _shot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1400, max(900, min(int(height) + 120, 4000)))
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    axe_check(driver, name)  # WCAG 2.1 AA, nothing serious


def _fill(driver, name: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.NAME, name)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", field)
    field.clear()
    field.send_keys(value)


def _step(driver, index: int, step_id: str, kind: str, **fields: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _fill(driver, f"steps-{index}-id", step_id)
    Select(driver.find_element(By.NAME, f"steps-{index}-type")).select_by_value(kind)
    for name, value in fields.items():
        if name == "channels":
            box = driver.find_element(
                By.CSS_SELECTOR, f"input[name='steps-{index}-channels'][value='{value}']"
            )
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
            box.click()
        else:
            _fill(driver, f"steps-{index}-{name}", value)


def _click(driver, css: str) -> None:
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.CSS_SELECTOR, css)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


@pytest.mark.django_db(transaction=True)
def test_marketer_builds_simulates_submits_compliance_approves_event_runs_support_sees(
    live_server,
    browser,  # noqa: F811 - the fixture imported above
) -> None:
    from selenium.webdriver.common.by import By

    driver, base = browser, live_server.url
    roles_ensure()
    _staff("mara", "Marketer")
    _staff("colin", "Compliance")
    _staff("sam", "Support")
    make_live_template("order.shipped")
    [contact] = make_contacts(1)
    key = apikey_create(name="shop", scopes=["events"])

    # --- The marketer builds the journey step by step (forms, not JSON).
    login(driver, base, "mara")
    driver.get(f"{base}{reverse('admin:journeys_journeyversion_changelist')}")
    _click(driver, "#journey-new")
    wait(driver, lambda d: d.find_elements(By.NAME, "trigger_event"))
    _fill(driver, "key", "welcome")
    _fill(driver, "name", "Welcome")
    _fill(driver, "trigger_event", "signed.up")
    _fill(driver, "exit_events", "account.closed")
    _step(driver, 0, "hello", "send", template="order.shipped", channels="sms")
    _click(driver, "#journey-add-step")
    wait(driver, lambda d: d.find_elements(By.NAME, "steps-1-id"))
    # The second form shows only what a wait needs once its kind is chosen.
    _step(driver, 1, "pause", "wait", duration="2d")
    assert not driver.find_element(By.NAME, "steps-1-template").is_displayed()
    _click(driver, "#journey-add-step")
    wait(driver, lambda d: d.find_elements(By.NAME, "steps-2-id"))
    _step(driver, 2, "again", "send", template="order.shipped", channels="email")
    _shot(driver, "01-editor-three-steps")
    _click(driver, "#journey-save")
    wait(driver, lambda d: "/change/" in d.current_url)
    version = JourneyVersion.objects.get()
    assert [s["id"] for s in version.definition["steps"]] == ["hello", "pause", "again"]
    page = driver.find_element(By.ID, "content").text
    assert "Send SMS order.shipped." in page and "Wait 2 days." in page
    assert driver.find_elements(By.CSS_SELECTOR, "svg.journey-diagram g.journey-step")
    _shot(driver, "02-version-page-summary-diagram-lint")

    # --- Simulate: real rules and templates, nothing sent.
    _click(driver, "#journey-simulate")
    _fill(driver, "contact", contact.external_id)
    _fill(driver, "events", "+0m signed.up first_name=Ada order_number=A-1")
    _click(driver, "#journey-simulate")
    wait(driver, lambda d: d.find_elements(By.ID, "simulation-result"))
    result = driver.find_element(By.ID, "simulation-result").text
    assert "completed" in result
    assert len(driver.find_elements(By.CSS_SELECTOR, "tr.journey-sim-step")) == 3
    assert "Hi Ada, order A-1 is on its way." in driver.page_source
    assert not JourneyRun.objects.exists()
    _shot(driver, "03-simulation")

    # --- Submit for review.
    driver.get(f"{base}{reverse('admin:journeys_journeyversion_change', args=[version.pk])}")
    _click(driver, "#journey-submit")
    _click(driver, "input#journey-submit")
    wait(driver, lambda d: "/change/" in d.current_url)
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW

    # --- Compliance reviews and approves.
    login(driver, base, "colin")
    driver.get(f"{base}{reverse('admin:journeys_journeyversion_review', args=[version.pk])}")
    assert driver.find_elements(By.CSS_SELECTOR, "svg.journey-diagram")
    _shot(driver, "04-review")
    _fill(driver, "comment", "Looks right.")
    _click(driver, "#journey-approve")
    wait(driver, lambda d: "/change/" in d.current_url)
    version.refresh_from_db()
    assert version.status == VersionStatus.APPROVED and version.journey.live_version_id == version.pk
    _shot(driver, "05-approved")

    # --- An event through the API starts a run.
    response = requests.post(
        f"{base}/api/v1/events",
        json={
            "name": "signed.up",
            "contact": {"external_id": contact.external_id},
            "data": {"first_name": "Ada", "order_number": "A-1"},
            "id": "evt-browser-1",
        },
        headers={"Authorization": f"Bearer {key.raw}"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    [started] = response.json()["runs"]
    assert (started["journey"], started["action"], started["step"]) == ("welcome", "started", "pause")
    run = JourneyRun.objects.get()

    # --- Support sees the run on the contact's timeline.
    login(driver, base, "sam")
    driver.get(f"{base}{reverse('admin:workspace_contacttimeline_change', args=[contact.pk])}")
    timeline = driver.find_element(By.ID, "content").text
    assert "welcome v1" in timeline and "pause" in timeline
    _shot(driver, "06-support-contact-timeline")
    assert run.status == "waiting"
