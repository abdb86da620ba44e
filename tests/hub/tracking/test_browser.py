"""In a real (headless) Chromium: an operator adds a row to the price table, and a person
following a broken tracked link sees the branded safe page. Screenshots: var/screenshots/track18/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from hub.roles import roles_ensure
from hub.tracking.models import Price
from tests.axe import axe_check
from tests.templates_app.admin.conftest import PASSWORD, browser, login, wait  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots" / "track18"


def shot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
    axe_check(driver, name)  # WCAG 2.1 AA, nothing serious


@pytest.mark.django_db(transaction=True)
def test_an_operator_prices_uk_sms_and_a_broken_link_shows_the_safe_page(live_server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    roles_ensure()
    operator = get_user_model().objects.create_user(username="olga", password=PASSWORD, is_staff=True)
    operator.groups.add(Group.objects.get(name="Operator"))
    driver, base = browser, live_server.url

    login(driver, base, "olga")
    driver.get(f"{base}/admin/tracking/price/add/")
    Select(driver.find_element(By.NAME, "channel")).select_by_value("sms")
    driver.find_element(By.NAME, "country_prefix").send_keys("+44")
    driver.find_element(By.NAME, "price").send_keys("0.04")
    driver.find_element(By.NAME, "_save").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".errorlist"))
    shot(driver, "price_bad_prefix")
    assert not Price.objects.exists()  # "+44" is refused with a form error; nothing saved

    prefix = driver.find_element(By.NAME, "country_prefix")
    prefix.clear()
    prefix.send_keys("44")
    driver.find_element(By.NAME, "_save").click()
    wait(driver, lambda d: "/add/" not in d.current_url)
    shot(driver, "price_list")
    row = Price.objects.get()
    assert (row.channel, row.country_prefix, str(row.price), row.unit) == ("sms", "44", "0.04000", "segment")
    assert "+44" in driver.find_element(By.ID, "result_list").text

    driver.get(f"{base}/l/0000001AAAAAAAA")
    shot(driver, "safe_page")
    assert "This link is not valid" in driver.find_element(By.TAG_NAME, "h1").text
    assert driver.current_url == f"{base}/l/0000001AAAAAAAA"  # no redirect anywhere
