"""Staff users in their roles, and a draft version to work on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from audit.services import Actor
from hub.roles import roles_ensure
from templates_app.services import template_create, template_draft_create
from tests.axe import axe_check
from tests.chromium import SharedChromium, chromium_as_new

SMS = {"channel": "sms", "locale": "en", "text": "Hi {{ name }}"}
EMAIL = {"channel": "email", "locale": "en", "subject": "Hello {{ name }}", "html": "<p>Hi {{ name }}</p>"}
NAME = {"name": "name", "type": "string", "required": True, "example": "Ada"}


def staff(username: str, *roles: str):
    roles_ensure()
    user = get_user_model().objects.create_user(
        username=username, password="pw", email=f"{username}@example.com", is_staff=True
    )
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def marketer(db):
    return staff("mara", "Marketer")


@pytest.fixture
def compliance(db):
    return staff("colin", "Compliance")


@pytest.fixture
def draft(marketer):
    template = template_create(
        key="card.ready", name="Card ready", category="transactional", actor=Actor.user(marketer.pk)
    )
    return template_draft_create(template=template, author=marketer, variants=[SMS, EMAIL], variables=[NAME])


def sent_code(address: str) -> str:
    """The one-time code last sent to ``address`` (through the sandbox provider), or ""."""
    from hub.providers.models import SandboxOutboxEntry

    entry = SandboxOutboxEntry.objects.filter(to=address).order_by("-created_at").first()
    found = re.search(r"\b(\d{6})\b", str(entry.content)) if entry else None
    return found.group(1) if found else ""


def editor_post(version, **overrides):
    """The POST the version editor sends, built from the saved draft."""
    data = {"layout": "", "change_note": "", "_continue": "1"}
    variables = list(version.variables.all())
    variants = list(version.variants.all())
    for prefix, rows, fields in (
        ("variables", variables, ("name", "type", "required", "example", "description")),
        (
            "variants",
            variants,
            ("channel", "locale", "subject", "preheader", "html", "text", "title", "link", "data"),
        ),
    ):
        data |= {
            f"{prefix}-TOTAL_FORMS": str(len(rows)),
            f"{prefix}-INITIAL_FORMS": str(len(rows)),
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
        for i, row in enumerate(rows):
            data[f"{prefix}-{i}-id"] = str(row.pk)
            data[f"{prefix}-{i}-version"] = str(version.pk)
            for field in fields:
                value = getattr(row, field)
                if field == "required":
                    if value:
                        data[f"{prefix}-{i}-{field}"] = "on"
                    continue
                data[f"{prefix}-{i}-{field}"] = "{}" if field == "data" and not value else str(value)
    data.update(overrides)
    return data


# --- Headless Chromium (tests marked browser): screenshots go to test-artifacts/ -----------

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "templates_admin"
PASSWORD = "browser-test-password"


@pytest.fixture
def browser(shared_chromium: SharedChromium, live_server: Any) -> Iterator[Any]:
    """The run's one Chromium (tests/chromium.py), as new for this test; put back as new after
    it, so nothing it did (cookies, storage, window size, emulated media) reaches the next."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver = shared_chromium.lend(live_server.url)
    try:
        yield driver
    finally:
        if not chromium_as_new(driver, live_server.url):
            shared_chromium.stop()


def wait(driver, condition, timeout: float = 30):
    """Wait for ``condition``; the preview redraws, so vanished elements mean "not yet"."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(condition)


def login(driver, base: str, username: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}/admin/login/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait(driver, lambda d: "/admin/login/" not in d.current_url)


def shot(driver, name: str) -> None:
    """Screenshot the page, then check it with axe-core (WCAG 2.1 AA, nothing serious)."""
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    axe_check(driver, name)
