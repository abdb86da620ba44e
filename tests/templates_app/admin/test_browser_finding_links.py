"""In a real (headless) Chromium: the lint findings of a draft are a list whose entries link to
the field they are about (the SMS text, the variables), on the editor and, for a reviewer, on
the review page (to the version's page, at the content block). Screenshots in
var/screenshots/forms20/."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.services import Actor
from templates_app.services import template_create, template_draft_create, template_version_submit
from tests.axe import axe_serious
from tests.templates_app.admin.conftest import NAME, login, wait
from tests.templates_app.admin.test_browser_honest import user

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots" / "forms20"


@pytest.mark.django_db(transaction=True)
def test_findings_link_to_their_fields(live_server, browser):
    from selenium.webdriver.common.by import By

    driver, base = browser, live_server.url
    driver.set_window_size(1280, 1400)
    marketer = user("mara", "Marketer")
    user("colin", "Compliance")
    template = template_create(
        key="spring.sms", name="Spring", category="marketing", actor=Actor.user(marketer.pk)
    )
    unused = {"name": "coupon", "type": "string", "required": False, "example": "X1"}
    sms = {"channel": "sms", "locale": "en", "text": "Hi {{ name }}, 20% off this week."}  # no opt-out words
    draft = template_draft_create(
        template=template, author=marketer, variants=[sms], variables=[NAME, unused]
    )
    login(driver, base, "mara")
    driver.get(f"{base}/admin/templates_app/templateversion/{draft.pk}/change/")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#tpl-findings .tpl-finding-link"))
    links = {
        a.find_element(By.XPATH, "..").text: a.get_attribute("href")
        for a in driver.find_elements(By.CSS_SELECTOR, "#tpl-findings .tpl-finding-link")
    }
    opt_out = next(href for text, href in links.items() if "how to opt out" in text)
    assert opt_out.endswith("#id_variants-0-text"), links
    unused_link = next(href for text, href in links.items() if "'coupon' is declared but never used" in text)
    assert unused_link.endswith("#variables-group"), links
    assert driver.find_element(By.ID, "id_variants-0-text") and driver.find_element(By.ID, "variables-group")
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.find_element(By.CSS_SELECTOR, "#tpl-findings").location_once_scrolled_into_view  # noqa: B018
    driver.save_screenshot(str(SHOTS / "05-editor-findings-link-to-fields.png"))
    # The findings list itself (the editor's tabular variables inline has unlabelled inputs of
    # its own, stock Django's: outside this change, reported to the lead).
    violations = axe_serious(driver, context="#tpl-preview")
    assert violations == [], violations

    # A warning-only draft can be submitted; the reviewer's links lead to the version's page.
    draft.variants.filter(channel="sms").update(text="Hi {{ name }}, 20% off. Reply STOP to opt out.")
    template_version_submit(version=draft, actor=Actor.user(marketer.pk), comment="ok")
    login(driver, base, "colin")
    driver.get(f"{base}/admin/templates_app/templateversion/{draft.pk}/review/")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#tpl-findings .tpl-finding-link"))
    hrefs = [
        a.get_attribute("href")
        for a in driver.find_elements(By.CSS_SELECTOR, "#tpl-findings .tpl-finding-link")
    ]
    change = f"/admin/templates_app/templateversion/{draft.pk}/change/"
    assert any(h.endswith(change + "#variables-group") for h in hrefs), hrefs
    assert any(h.endswith(change + "#variants-0") for h in hrefs), (
        hrefs
    )  # the SMS segment count, at its block
    driver.save_screenshot(str(SHOTS / "06-review-findings-link-to-the-version.png"))
