"""In a real (headless) Chromium: a marketer opens the report of a template that has real sends
(through intake, compliance and the SendGrid fake), opens and clicks reported through the
signed SendGrid webhook, and a conversion; sees the numbers, the funnel and the charts (issue
18 point 5). Screenshots go to var/screenshots/reports18/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from hub.apikeys.services import apikey_create
from hub.messaging.models import DailyRollup
from hub.roles import roles_ensure
from templates_app.models import Template
from tests.axe import axe_check
from tests.factories import key_client
from tests.fake_servers import fake_sendgrid  # noqa: F401 - fixture
from tests.hub.webhooks.conftest import sent_email, signer  # noqa: F401 - fixtures
from tests.hub.webhooks.test_sendgrid import event, post
from tests.templates_app.admin.conftest import PASSWORD, browser, login, wait  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots" / "reports18"


def shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    axe_check(driver, name)  # WCAG 2.1 AA, nothing serious


@pytest.mark.django_db(transaction=True)
def test_marketer_reads_the_report_of_a_template_with_sends_clicks_and_a_conversion(
    live_server,
    browser,  # noqa: F811 - the fixture imported above
    signer,  # noqa: F811
    sent_email,  # noqa: F811
):
    from selenium.webdriver.common.by import By

    webhook = Client()
    batch = [
        event(sent_email, "delivered"),
        event(sent_email, "open"),
        event(sent_email, "click", url="https://example.com/offer"),
    ]
    assert post(webhook, signer, batch).status_code == 204
    # The conversion: the template names its goal, and the calling service reports it through
    # the events API; it is attributed to the delivered email (hub.tracking.conversions).
    Template.objects.filter(key="news.weekly").update(goal_event="order.completed")
    shop = key_client(apikey_create(name="shop", scopes=["events"]))
    goal = shop.post(
        "/api/v1/events",
        {"name": "order.completed", "contact": {"external_id": sent_email.notification.contact.external_id}},
        format="json",
    )
    assert goal.status_code == 202, goal.content
    assert DailyRollup.objects.get(channel="email", day=timezone.now().date()).converted == 1

    roles_ensure()
    marketer = get_user_model().objects.create_user(username="mara", password=PASSWORD, is_staff=True)
    marketer.groups.add(Group.objects.get(name="Marketer"))
    driver = browser
    driver.set_window_size(1280, 1600)
    login(driver, live_server.url, "mara")
    driver.get(f"{live_server.url}/admin/workspace/report/?template=news.weekly")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "figure.chart svg"))

    figures = {
        dt.text: dd.text.split()[0]
        for dt, dd in zip(
            driver.find_elements(By.CSS_SELECTOR, ".report-figures dt"),
            driver.find_elements(By.CSS_SELECTOR, ".report-figures dd"),
            strict=True,
        )
    }
    assert (figures["Sent"], figures["Delivered"], figures["Opened"], figures["Clicked"]) == (
        "1",
        "1",
        "1",
        "1",
    )
    assert figures["Converted"] == "1"
    charts = driver.find_elements(By.CSS_SELECTOR, "figure.chart svg[role=img]")
    assert len(charts) == 3
    funnel_text = charts[0].text
    assert "Converted" in funnel_text and "100.0% of accepted" in funnel_text
    shot(driver, "01-report-template")
    driver.execute_script("window.scrollTo(0, 900)")
    shot(driver, "02-report-template-tables")
    # Nothing wider than a 1,280 px window: no horizontal scrolling of the page.
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 1280
    overflowing = "return [...document.querySelectorAll('.report-table')].filter(e => e.scrollWidth > e.clientWidth).length"
    assert driver.execute_script(overflowing) == 0  # no table needs its own scroll bar either

    # The text alternative opens as a table with the same figures.
    driver.find_element(By.CSS_SELECTOR, "figure.chart details summary").click()
    table = driver.find_element(By.CSS_SELECTOR, "figure.chart table.chart-data")
    assert "Clicked" in table.text and "share of accepted" in table.text.lower()


@pytest.mark.django_db(transaction=True)
def test_operator_sees_the_sandbox_banner_and_the_dashboard(live_server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    roles_ensure()
    operator = get_user_model().objects.create_user(username="olga", password=PASSWORD, is_staff=True)
    operator.groups.add(Group.objects.get(name="Operator"))
    driver = browser
    driver.set_window_size(1280, 1200)
    login(driver, live_server.url, "olga")
    driver.get(f"{live_server.url}/admin/workspace/report/")
    driver.find_element(By.LINK_TEXT, "Operator dashboard").click()
    wait(driver, lambda d: d.find_elements(By.ID, "sandbox-banner"))
    assert "sandbox" in driver.find_element(By.ID, "sandbox-banner").text
    Select(driver.find_element(By.NAME, "window")).select_by_value("24h")
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait(driver, lambda d: "window=24h" in d.current_url)
    assert "Providers, last 24h" in driver.page_source
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 1280
    shot(driver, "03-operator-dashboard")
