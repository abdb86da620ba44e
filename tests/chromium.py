"""The headless Chromium of the browser tests (Debian's chromium and chromium-driver): one for
the whole run, lent to each test as new (tests/conftest.py: ``shared_chromium``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW = (1400, 1800)
WINDOW_SIZE = {"width": WINDOW[0], "height": WINDOW[1]}  # what --window-size gives, as WebDriver says it


def chromium_start() -> tuple[Any, str]:
    """A headless Chromium (its WebDriver) with a fresh profile directory, and that directory."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        message = "Debian chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)"
        if os.environ.get("HUB_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="switchboard-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        size = driver.get_window_size()
        if size != WINDOW_SIZE:  # then putting it back by set_window_size would not be as new
            raise RuntimeError(f"Chromium started at {size}, not {WINDOW_SIZE}")
    except BaseException:
        chromium_stop(driver, profile)
        raise
    return driver, profile


def chromium_stop(driver: Any, profile: str) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def chromium_as_new(driver: Any, origin: str) -> bool:
    """Put a Chromium a test used back as it started: one blank window of the first size, no
    cookies, storage or cache (``origin``: the live server's), no emulated media, the default
    timeouts. False if it cannot be (a crashed tab, a dialog left open): start another."""
    from selenium.common.exceptions import WebDriverException

    try:
        if len(driver.window_handles) != 1:
            return False
        driver.get("about:blank")
        driver.execute_cdp_cmd("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
        driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        driver.execute_cdp_cmd("Network.clearBrowserCache", {})
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})
        if driver.get_window_size() != WINDOW_SIZE:
            driver.set_window_size(*WINDOW)
        driver.implicitly_wait(0)
        driver.set_script_timeout(30)
        driver.set_page_load_timeout(300)
    except WebDriverException:
        return False
    return True


class SharedChromium:
    """One headless Chromium for the whole run (starting one costs seconds on a shared machine),
    lent to each browser test as new (:func:`chromium_as_new`), or started again if it cannot be."""

    def __init__(self) -> None:
        self.started: tuple[Any, str] | None = None

    def lend(self, origin: str) -> Any:
        if self.started is not None and not chromium_as_new(self.started[0], origin):
            self.stop()
        if self.started is None:
            self.started = chromium_start()
            if not chromium_as_new(self.started[0], origin):
                raise RuntimeError("a fresh Chromium could not be set up")
        return self.started[0]

    def stop(self) -> None:
        if self.started is not None:
            started, self.started = self.started, None
            chromium_stop(*started)
