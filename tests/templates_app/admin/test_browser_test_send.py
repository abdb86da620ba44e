"""In a real (headless) Chromium: a marketer proves a phone is theirs with the code sent to it
(a wrong code first), then sends a test of a draft there. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from audit.models import AuditRecord
from audit.services import Actor
from hub.messaging.models import Notification
from hub.roles import roles_ensure
from templates_app.models import StaffAddress
from templates_app.services import template_create, template_draft_create
from tests.templates_app.admin.conftest import EMAIL, NAME, PASSWORD, SMS, login, sent_code, shot, wait

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = "+447911123456"


@pytest.mark.django_db(transaction=True)
def test_marketer_verifies_a_phone_then_sends_a_test_to_it(live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    base = live_server.url
    roles_ensure()
    marketer = get_user_model().objects.create_user(username="mara", password=PASSWORD, is_staff=True)
    marketer.groups.add(Group.objects.get(name="Marketer"))
    template = template_create(
        key="card.ready", name="Card ready", category="transactional", actor=Actor.user(marketer.pk)
    )
    draft = template_draft_create(template=template, author=marketer, variants=[SMS, EMAIL], variables=[NAME])
    success = (By.CSS_SELECTOR, ".messagelist .success")

    login(driver, base, "mara")
    driver.get(f"{base}/admin/templates_app/templateversion/{draft.pk}/test-send/")
    assert not driver.find_elements(By.CSS_SELECTOR, "input[name=addresses]")  # nowhere to send yet
    assert "no verified test address" in driver.find_element(By.ID, "tpl-test-send-form").text
    shot(driver, "21-test-send-no-verified-address")

    # --- Adds the phone: a code is sent to it.
    driver.find_element(By.ID, "tpl-my-addresses").click()
    driver.find_element(By.CSS_SELECTOR, ".object-tools a.addlink").click()
    Select(driver.find_element(By.NAME, "channel")).select_by_value("sms")
    driver.find_element(By.NAME, "address").send_keys(PHONE)
    shot(driver, "22-add-test-address")
    driver.find_element(By.ID, "tpl-address-submit").click()
    wait(driver, lambda d: "/verify/" in d.current_url)
    code = sent_code(PHONE)
    assert code

    # --- A wrong code is refused; the right one verifies the phone.
    driver.find_element(By.NAME, "code").send_keys("000000" if code != "000000" else "111111")
    driver.find_element(By.ID, "tpl-address-submit").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".errorlist"))
    assert "not the code" in driver.find_element(By.CSS_SELECTOR, ".errorlist").text
    shot(driver, "23-wrong-code-refused")
    driver.find_element(By.NAME, "code").clear()
    driver.find_element(By.NAME, "code").send_keys(code)
    driver.find_element(By.ID, "tpl-address-submit").click()
    wait(driver, lambda d: d.find_elements(*success))
    shot(driver, "24-address-verified")
    assert StaffAddress.objects.get(user=marketer).verified_at is not None

    # --- The test goes to the verified phone only, and is audited.
    driver.get(f"{base}/admin/templates_app/templateversion/{draft.pk}/test-send/")
    driver.find_element(By.CSS_SELECTOR, "input[name=addresses]").click()
    shot(driver, "25-test-send-to-verified-phone")
    driver.find_element(By.ID, "tpl-send-test").click()
    wait(driver, lambda d: d.find_elements(By.ID, "tpl-test-summary"))  # issue 20: what happened
    assert driver.find_element(By.ID, "tpl-test-summary").text.startswith("The test is on its way: sms")
    shot(driver, "26-test-sent")
    notification = Notification.objects.get()
    assert notification.to == {"phone": PHONE} and notification.template_version == draft
    assert AuditRecord.objects.filter(action="template.version_test_sent", actor_id=str(marketer.pk)).exists()
