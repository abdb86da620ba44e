"""In a real (headless) Chromium: each of the four roles logs in, lands on its home at /admin/,
follows its home's first link, and the home is screenshotted in light and dark mode (the
browser's prefers-color-scheme, which the admin's theme follows by default) and checked with
axe-core: no serious or critical violations, nothing wider than 1,280 px. Screenshots go to
var/screenshots/homes20/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from audit.services import Actor, audit_append
from audit.tasks import sequence_audit_log
from hub.apikeys.services import apikey_create
from hub.broadcasts.models import Broadcast, BroadcastStatus
from hub.callbacks.models import CallbackEndpoint
from hub.contacts.models import Contact, InboundMessage
from hub.contacts.services import consent_record
from hub.messaging.models import DailyRollup, ReasonRollup
from hub.workspace.homes import contact_viewed
from templates_app.services import template_create, template_draft_create, template_version_submit
from tests.axe import axe_serious
from tests.factories import grant_consent, make_live_template
from tests.templates_app.admin.conftest import PASSWORD, browser, login, wait  # noqa: F401 - fixture
from tests.templates_app.admin.test_browser_honest import user

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots" / "homes20"


def shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def dark(driver, on: bool) -> None:
    """Emulate the browser's colour scheme (the admin's theme toggle defaults to following it)."""
    scheme = "dark" if on else "light"
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
    )


def a_morning(marketer, support) -> None:
    """Something on every home: a draft with a finding, one in review, a live template that sent
    this week, a running broadcast, blocks and an opt-out today, a reply, a contact seen, a
    failing callback endpoint, an audit log with a record waiting."""
    template = template_create(
        key="spring.sale", name="Spring sale", category="marketing", actor=Actor.system()
    )
    template_draft_create(
        template=template,
        author=marketer,
        variants=[
            {"channel": "sms", "locale": "en", "text": "Hi {{ name }}, {{ code }} saves 20%. STOP to opt out"}
        ],
        variables=[{"name": "name", "type": "string", "required": True, "example": "Ada"}],
    )
    waiting = template_create(
        key="card.ready", name="Card ready", category="transactional", actor=Actor.system()
    )
    version = template_draft_create(
        template=waiting,
        author=marketer,
        variants=[{"channel": "sms", "locale": "en", "text": "Hi {{ name }}, your card is ready."}],
        variables=[{"name": "name", "type": "string", "required": True, "example": "Ada"}],
    )
    template_version_submit(version=version, actor=Actor.user(marketer.pk), comment="New wording")
    live = make_live_template("order.shipped")
    today = timezone.now().date()
    for days, sent in ((0, 120), (1, 340), (3, 95)):
        DailyRollup.objects.create(
            template=live,
            channel="sms",
            day=today - timedelta(days=days),
            sent=sent,
            delivered=sent - 4,
            clicked=7,
        )
    ReasonRollup.objects.create(
        template=live, channel="sms", day=today, outcome="blocked", reason="no_consent", count=9
    )
    ReasonRollup.objects.create(
        template=live, channel="sms", day=today, outcome="deferred", reason="quiet_hours", count=4
    )
    Broadcast.objects.create(
        name="Spring sale launch", template=live, audience_kind="csv", status=BroadcastStatus.RUNNING
    )
    ada = Contact.objects.create(
        external_id="ada-42", phone="+447911123456", attributes={"name": "Ada Lovelace"}
    )
    grant_consent(ada, "sms")
    consent_record(
        contact=ada,
        channel="sms",
        purpose="marketing",
        granted=False,
        source="sms_keyword",
        actor=Actor.system(),
    )
    InboundMessage.objects.create(
        contact=ada, channel="sms", from_address="+447911123456", body="Where is my order?"
    )
    InboundMessage.objects.create(channel="sms", from_address="+447911000001", body="STOP", keyword="stop")
    contact_viewed(user_id=support.pk, contact_id=ada.pk)
    key = apikey_create(name="shop", scopes=["send"])
    CallbackEndpoint.objects.create(
        api_key=key.api_key,
        url="https://shop.example.com/switchboard/hook",
        secret="s",
        consecutive_failures=6,
    )
    for i in range(3):
        audit_append(actor=Actor.system(), action="t", object_type="t", object_id=i)
    sequence_audit_log()


HOMES = (
    # role, user name, an element the home must show, the first link to follow
    ("Marketer", "mara", "home-drafts", "Error"),
    ("Compliance", "colin", "home-queue", "Review card.ready v1"),
    ("Support", "sue", "home-search", "ada-42"),
    ("Operator", "olga", "operator-figures", "Open the operator dashboard"),
)


@pytest.mark.django_db(transaction=True)
def test_each_role_lands_on_its_home_in_light_and_dark(live_server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    driver, base = browser, live_server.url
    users = {role: user(name, role) for role, name, _, _ in HOMES}
    a_morning(users["Marketer"], users["Support"])
    driver.set_window_size(1280, 1100)
    problems: dict[str, list[str]] = {}
    for role, name, landmark, link in HOMES:
        login(driver, base, name)
        driver.get(f"{base}/admin/")
        wait(driver, lambda d, landmark=landmark: d.find_elements(By.ID, landmark))
        assert driver.find_element(By.TAG_NAME, "h1").text == f"{role} home"
        assert driver.find_elements(By.ID, "sandbox-banner")  # the demo hub sends to the sandbox
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 1280, role
        for mode in (False, True):
            dark(driver, mode)
            driver.get(f"{base}/admin/")
            wait(driver, lambda d, landmark=landmark: d.find_elements(By.ID, landmark))
            if role == "Marketer":  # the broadcast's progress, fetched from its own view
                wait(driver, lambda d: "…" not in d.find_element(By.CSS_SELECTOR, ".sb-progress-text").text)
            label = f"{role.lower()}-{'dark' if mode else 'light'}"
            shot(driver, f"{HOMES.index((role, name, landmark, link)) + 1:02d}-{label}")
            problems[label] = axe_serious(driver)
        dark(driver, False)
        driver.find_element(By.PARTIAL_LINK_TEXT, link).click()
        wait(driver, lambda d: d.current_url.rstrip("/") != f"{base}/admin")
        if role == "Marketer":  # a finding's link lands on the editor's field it is about
            wait(driver, lambda d: d.find_elements(By.ID, "variables-group"))
            driver.back()
            wait(driver, lambda d: d.find_elements(By.ID, "home-drafts"))
            driver.find_element(By.CSS_SELECTOR, "#home-drafts li a[href*='#variants-']").click()
            wait(driver, lambda d: "#variants-" in d.current_url)
            target = driver.execute_script("return document.getElementById(location.hash.slice(1)) !== null")
            assert target, driver.current_url
        shot(driver, f"{HOMES.index((role, name, landmark, link)) + 1:02d}-{role.lower()}-followed")
    assert {label: found for label, found in problems.items() if found} == {}


@pytest.mark.django_db(transaction=True)
def test_a_superuser_switches_between_the_homes_by_tab(live_server, browser):  # noqa: F811
    from django.contrib.auth import get_user_model
    from selenium.webdriver.common.by import By

    get_user_model().objects.create_superuser(username="root", password=PASSWORD)
    driver, base = browser, live_server.url
    driver.set_window_size(1280, 900)
    login(driver, base, "root")
    driver.get(f"{base}/admin/")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Operator home"
    driver.find_element(By.ID, "home-tab-compliance").click()
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Compliance home")
    current = driver.find_element(By.CSS_SELECTOR, ".home-tabs a[aria-current=page]")
    assert current.get_attribute("id") == "home-tab-compliance"
    shot(driver, "05-superuser-compliance-tab")
    assert axe_serious(driver) == []
