"""A marketer writes, previews and submits a template in a real (headless) Chromium; a
compliance officer approves it. Screenshots go to test-artifacts/ for people to look at."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from hub.roles import roles_ensure
from templates_app.models import EmailLayout, Template, VersionStatus
from tests.templates_app.admin.conftest import PASSWORD, login, shot, wait

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _staff(username: str, role: str):
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.com", is_staff=True
    )
    user.groups.add(Group.objects.get(name=role))
    return user


def _srcdoc(driver) -> str:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        frame = driver.find_element(By.CSS_SELECTOR, ".tpl-card.tpl-email iframe")
        return frame.get_attribute("srcdoc") or ""
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def _sms_counter(driver) -> str:
    """The counter right under the SMS text box (the preview card shows the same)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        counters = driver.find_elements(By.CSS_SELECTOR, ".tpl-inline-counter")
        return counters[0].text if counters else ""
    except StaleElementReferenceException:
        return ""


def _show(driver, element) -> None:
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)


def _variant_index(driver, channel: str) -> int:
    from selenium.webdriver.common.by import By

    total = int(driver.find_element(By.NAME, "variants-TOTAL_FORMS").get_attribute("value"))
    for i in range(total):
        if driver.find_element(By.NAME, f"variants-{i}-channel").get_attribute("value") == channel:
            return i
    raise AssertionError(f"no {channel} content block")


@pytest.mark.django_db(transaction=True)
def test_marketer_writes_previews_and_submits_then_compliance_approves(live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    base = live_server.url
    roles_ensure()
    marketer = _staff("mara", "Marketer")
    compliance = _staff("colin", "Compliance")
    EmailLayout.objects.create(
        name="Brand", postal_address="Example Bank, 1 High Street, London", css="p { color: #1f2933; }"
    )

    # --- The marketer creates the template and its first draft.
    login(driver, base, "mara")
    driver.get(f"{base}/admin/templates_app/template/add/")
    driver.find_element(By.NAME, "key").send_keys("card.activated")
    driver.find_element(By.NAME, "name").send_keys("Card activated")
    Select(driver.find_element(By.NAME, "category")).select_by_value("transactional")
    shot(driver, "01-marketer-new-template")
    driver.find_element(By.NAME, "_save").click()
    wait(driver, lambda d: "/new-draft/" in d.current_url)
    for channel in ("sms", "email"):
        driver.find_element(By.CSS_SELECTOR, f"input[name=channels][value={channel}]").click()
    shot(driver, "02-marketer-choose-channels")
    driver.find_element(By.NAME, "_create").click()
    wait(driver, lambda d: "/templateversion/" in d.current_url and "/change/" in d.current_url)

    # --- Declares a variable and writes the SMS, watching the segment counter.
    driver.find_element(By.CSS_SELECTOR, "#variables-group .add-row a").click()
    driver.find_element(By.NAME, "variables-0-name").send_keys("first_name")
    driver.find_element(By.NAME, "variables-0-example").send_keys("Ada")
    sms = driver.find_element(By.NAME, f"variants-{_variant_index(driver, 'sms')}-text")
    sms.send_keys("Hi {{ first_name }}, your new card is active.")
    wait(driver, lambda d: "1 segment" in _sms_counter(d) and "GSM-7" in _sms_counter(d))
    one_segment = _sms_counter(driver)
    assert "Hi Ada, your new card is active." in driver.find_element(By.CSS_SELECTOR, ".tpl-sms-bubble").text
    _show(driver, sms)
    shot(driver, "03-marketer-sms-one-segment")
    sms.send_keys(" You can now pay in shops and online, and withdraw cash at any cash machine." * 2)
    wait(driver, lambda d: "2 segments" in _sms_counter(d))
    sms.send_keys(" ✓")
    wait(driver, lambda d: "UCS-2" in _sms_counter(d))
    assert _sms_counter(driver) != one_segment
    wait(
        driver,
        lambda d: "UCS-2" in d.find_element(By.CSS_SELECTOR, ".tpl-card.tpl-sms .tpl-sms-counter").text,
    )
    _show(driver, sms)
    shot(driver, "04-marketer-sms-ucs2-three-segments")
    # Back to a short GSM-7 text before submitting.
    sms.clear()
    sms.send_keys("Hi {{ first_name }}, your new card is active.")
    wait(driver, lambda d: "1 segment" in _sms_counter(d))

    # --- The email, in the brand layout, previewed in a sandboxed frame.
    email = _variant_index(driver, "email")
    driver.find_element(By.NAME, f"variants-{email}-subject").send_keys(
        "Your card is ready, {{ first_name }}"
    )
    driver.find_element(By.NAME, f"variants-{email}-html").send_keys(
        "<p>Hi {{ first_name }},</p><p>Your new card is <b>active</b>.</p><script>alert(1)</script>"
    )
    Select(driver.find_element(By.NAME, "layout")).select_by_visible_text("Brand")
    # The preview redraws as it updates: wait until the email shows the body in the layout.
    wait(driver, lambda d: "Your new card is" in _srcdoc(d) and "1 High Street" in _srcdoc(d))
    frame = driver.find_element(By.CSS_SELECTOR, ".tpl-card.tpl-email iframe")
    assert frame.get_attribute("sandbox") == ""  # no scripts, forms or same-origin access
    assert "<script" not in _srcdoc(driver)
    driver.find_element(By.NAME, "change_note").send_keys("First version")
    driver.execute_script("document.querySelector('.tpl-card.tpl-email').scrollIntoView({block: 'center'});")
    shot(driver, "05-marketer-preview-email")
    driver.find_element(By.NAME, "_continue").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".messagelist .success"))

    # --- Submits it.
    driver.find_element(By.ID, "tpl-submit-link").click()
    driver.find_element(By.NAME, "comment").send_keys("New card activation message")
    shot(driver, "06-marketer-submit")
    driver.find_element(By.ID, "tpl-submit").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".messagelist .success"))
    shot(driver, "07-marketer-submitted-read-only")
    template = Template.objects.get(key="card.activated")
    version = template.versions.get()
    assert version.status == VersionStatus.IN_REVIEW and version.author == marketer
    # The marketer has no way to approve: no review link.
    assert not driver.find_elements(By.ID, "tpl-review-link")

    # --- Compliance approves it from the queue.
    login(driver, base, "colin")
    driver.get(f"{base}/admin/templates_app/approvalqueueentry/")
    shot(driver, "08-compliance-queue")
    driver.find_element(By.LINK_TEXT, "Review").click()
    wait(driver, lambda d: "/review/" in d.current_url)
    driver.find_element(By.NAME, "comment").send_keys("Wording checked")
    shot(driver, "09-compliance-review")
    driver.find_element(By.ID, "tpl-approve").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".messagelist .success"))
    shot(driver, "10-compliance-approved")

    template.refresh_from_db()
    version.refresh_from_db()
    assert template.live_version == version and version.status == VersionStatus.APPROVED
    assert version.approvals.get().approved_by == compliance
