"""Issue 20 point 8 in a real (headless) Chromium: each role (Marketer, Compliance, Support,
Operator) walks its main pages at 1,280 px, in the admin's light and dark themes; no page
scrolls sideways, and axe-core (the walk of test_browser_honest, with the WCAG 2.1 A and AA
tags) finds no serious or critical violation. Each page is screenshotted to
var/screenshots/shell20/ to be looked at."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from audit.services import Actor
from hub.broadcasts.models import Broadcast
from hub.broadcasts.tasks import release_broadcasts
from hub.contacts.models import Contact
from hub.demo import demo_seed
from hub.journeys.models import JourneyVersion
from templates_app.services import template_create, template_draft_create, template_version_submit
from tests.axe import axe_serious
from tests.factories import make_live_template
from tests.hub.broadcasts.test_admin_report import baseline_rules, report_of  # noqa: F401 - autouse fixture
from tests.templates_app.admin.conftest import EMAIL, NAME, PASSWORD, SMS, login, wait

pytestmark = [pytest.mark.browser]
SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots" / "shell20"
WIDTH = 1280


def seed() -> dict[str, list[tuple[str, str]]]:
    """The demo hub, a draft in the editor, one in review, a CSV broadcast's report: and each
    role's main pages, as (name, path)."""
    demo_seed()
    users = get_user_model().objects
    for user in users.all():
        user.set_password(PASSWORD)
        user.save()
    marketer, admin = users.get(username="marketer"), users.get(username="admin")
    template = template_create(
        key="autumn.offer", name="Autumn offer", category="marketing", actor=Actor.user(marketer.pk)
    )
    sms = {**SMS, "text": "Hi {{ name }}, 20% off this week. Reply STOP to opt out."}
    email = {**EMAIL, "html": '<p>Hi {{ name }}</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'}
    draft = template_draft_create(template=template, author=marketer, variants=[sms, email], variables=[NAME])
    other = template_create(
        key="winter.offer", name="Winter offer", category="marketing", actor=Actor.user(marketer.pk)
    )
    waiting = template_draft_create(template=other, author=marketer, variants=[sms], variables=[NAME])
    template_version_submit(version=waiting, actor=Actor.user(marketer.pk), comment="Winter copy, legal OK.")
    live = make_live_template(
        "spring.walk",
        category="marketing",
        variants=[sms],
        variables=[{"name": "name", "type": "string", "required": True, "example": "Ada"}],
    )
    client = Client()
    client.force_login(admin)
    report, _ = report_of(
        client,
        live,
        ["external_id,name", "cust-1001,Ada", "cust-1002,Jean", "c-9,Nobody"],
        {"col_0": "external_id", "col_1": "data"},
        name="Autumn week",
    )
    assert client.post(report).status_code == 302  # started: two messages blocked (no consent)
    release_broadcasts()
    broadcast = Broadcast.objects.get(name="Autumn week")
    journey = JourneyVersion.objects.order_by("pk")[0]  # the demo's approved abandoned-cart journey
    contact = Contact.objects.get(external_id="cust-1001")
    path = reverse
    return {
        "Marketer": [
            ("templates", path("admin:templates_app_template_changelist")),
            ("template", path("admin:templates_app_template_change", args=[template.pk])),
            ("editor", path("admin:templates_app_templateversion_change", args=[draft.pk])),
            ("broadcasts", path("admin:broadcasts_broadcast_changelist")),
            ("broadcast-report", report),
            ("broadcast", path("admin:broadcasts_broadcast_change", args=[broadcast.pk])),
            ("journeys", path("admin:journeys_journeyversion_changelist")),
            ("journey-editor", path("admin:journeys_journeyversion_new")),
            ("reports", path("admin:workspace_report_changelist")),
            ("in-review", path("admin:templates_app_templateversion_change", args=[waiting.pk])),
        ],
        "Compliance": [
            ("queue", path("admin:templates_app_approvalqueueentry_changelist")),
            ("review", path("admin:templates_app_templateversion_review", args=[waiting.pk])),
            ("journey", path("admin:journeys_journeyversion_change", args=[journey.pk])),
            ("rules", path("admin:compliance_rule_changelist")),
            ("audit", path("admin:audit_auditrecord_changelist")),
            ("messages", path("admin:workspace_workspacemessage_changelist")),
            ("reports", path("admin:workspace_report_changelist")),
            ("journey-reports", path("admin:workspace_report_journeys")),
        ],
        "Support": [
            ("search", path("admin:workspace_contacttimeline_changelist") + "?q=ada"),
            ("timeline", path("admin:workspace_contacttimeline_change", args=[contact.pk])),
            ("contacts", path("admin:contacts_contact_changelist")),
            ("contact", path("admin:contacts_contact_change", args=[contact.pk])),
            ("inbox", path("admin:contacts_inboundmessage_changelist")),
        ],
        "Operator": [
            ("dashboard", path("admin:workspace_report_operator")),
            ("api-keys", path("admin:apikeys_apikey_changelist")),
            ("providers", path("admin:providers_providerconfig_changelist")),
            ("outbox", path("admin:providers_sandboxoutboxentry_changelist")),
            ("callbacks", path("admin:callbacks_callbackendpoint_changelist")),
        ],
    }


def editor_helpers(driver) -> None:
    """The editor beside its preview: a declared variable goes in at the cursor (and the
    preview redraws with its example), and the preview switches between desktop and mobile."""
    from selenium.webdriver.common.by import By

    side = driver.find_element(By.ID, "tpl-side").rect
    form = driver.find_element(By.ID, "variables-group").rect
    assert side["x"] > form["x"] + form["width"] - 1, (side, form)  # beside, not below
    assert [b.text for b in driver.find_elements(By.CSS_SELECTOR, ".tpl-insert-variable")] == [
        "{{ name }}",
        "{{ unsubscribe_url }}",
    ]
    sms = driver.execute_script(
        "return [...document.querySelectorAll(\"select[name$='-channel']\")].find(s => s.value === 'sms').name;"
    )
    text = driver.find_element(By.NAME, sms.replace("-channel", "-text"))
    text.click()
    driver.execute_script("arguments[0].setSelectionRange(3, 3);", text)  # after "Hi "
    driver.find_element(By.CSS_SELECTOR, ".tpl-insert-variable[data-variable='name']").click()
    assert text.get_attribute("value").startswith("Hi {{ name }}{{ name }}, 20% off"), text.get_attribute(
        "value"
    )
    assert "Inserted {{ name }}" in driver.find_element(By.CSS_SELECTOR, "#tpl-insert [role=status]").text
    wait(driver, lambda d: "Hi AdaAda, 20% off" in d.find_element(By.CSS_SELECTOR, ".tpl-sms-bubble").text)
    frame = driver.find_element(By.CSS_SELECTOR, "#tpl-preview .tpl-email iframe")
    assert frame.get_attribute("data-preview-width") == "640"
    driver.find_element(By.CSS_SELECTOR, "[data-preview-width='mobile']").click()
    frame = driver.find_element(By.CSS_SELECTOR, "#tpl-preview .tpl-email iframe")
    assert frame.get_attribute("data-preview-width") == "375"
    assert (
        driver.find_element(By.CSS_SELECTOR, "[data-preview-width='mobile']").get_attribute("aria-pressed")
        == "true"
    )
    driver.save_screenshot(str(SHOTS / "marketer-editor-mobile-light.png"))


def new_draft(driver, *, waiting: str) -> None:
    """A frozen version's "Edit as a new draft" sat in a form inside the page's form: the
    browser drops the inner one, so the button posted the frozen version's form (403)."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "tpl-new-draft").click()
    wait(driver, lambda d: not d.current_url.endswith(waiting))
    assert driver.current_url.endswith("/change/"), driver.current_url
    assert "New draft v2, copied from v1." in driver.find_element(By.CSS_SELECTOR, "ul.messagelist").text


def full_shot(driver, path: Path) -> None:
    """The whole page, not only the window (Chromium's DevTools protocol), up to 4,000 px."""
    import base64

    height = min(4000, driver.execute_script("return document.documentElement.scrollHeight;"))
    clip = {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def theme(driver, base: str, name: str) -> None:
    """The admin's own theme toggle keeps the choice in localStorage ("light" or "dark")."""
    driver.get(f"{base}/admin/jsi18n/")
    driver.execute_script("localStorage.setItem('theme', arguments[0]);", name)


@pytest.mark.django_db(transaction=True)
def test_each_role_main_pages_fit_1280_and_pass_axe_in_light_and_dark(live_server, browser):
    driver, base = browser, live_server.url
    pages = seed()
    driver.set_window_size(WIDTH, 1000)
    inner = driver.execute_script("return window.innerWidth;")
    driver.set_window_size(WIDTH + (WIDTH - inner), 1000)  # the viewport itself is 1,280 px wide
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("axe-*.json"):
        old.unlink()
    overflow: dict[str, int] = {}
    problems: dict[str, list[str]] = {}
    for role, walk in pages.items():
        login(driver, base, role.lower())
        for mode in ("light", "dark"):
            theme(driver, base, mode)
            for name, url in walk:
                driver.get(base + url)
                wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")
                key = f"{role}/{name}/{mode}"
                assert driver.execute_script("return document.documentElement.dataset.theme") == mode, key
                assert "/login/" not in driver.current_url and driver.title, key
                width = driver.execute_script("return document.documentElement.scrollWidth;")
                if width > WIDTH:
                    overflow[key] = width
                # A list or report table scrolls inside its own box rather than the page: a
                # column out of sight is as lost (the queue's Review button, a list's date).
                hidden = driver.execute_script(
                    "return Math.max(0, ...[...document.querySelectorAll('#changelist .results, .report-table')]"
                    ".map(e => e.scrollWidth - e.clientWidth));"
                )
                if hidden > 2:
                    overflow[f"{key} (a table's columns out of sight by {hidden} px)"] = hidden
                full_shot(driver, SHOTS / f"{role.lower()}-{name}-{mode}.png")
                found = axe_serious(driver, report=SHOTS / f"axe-{role.lower()}-{name}-{mode}.json")
                if found:
                    problems[key] = found
                if name == "editor" and mode == "light":
                    editor_helpers(driver)
                if name == "in-review" and mode == "dark":  # the last page of the marketer's walk
                    new_draft(driver, waiting=url)
    assert (overflow, problems) == ({}, {})
    # The system's dark setting (no choice made with the toggle) darkens our colours too, and a
    # light choice on the toggle wins over it. The operator is still logged in: the banner.
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    )
    banner = "return getComputedStyle(document.getElementById('sandbox-banner')).backgroundColor;"
    for choice, colour in (("auto", "rgb(61, 46, 0)"), ("light", "rgb(255, 244, 206)")):
        theme(driver, base, choice)
        driver.get(base + reverse("admin:workspace_report_operator"))
        assert driver.execute_script(banner) == colour, choice
