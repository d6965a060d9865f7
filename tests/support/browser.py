"""Headless Chromium for browser tests, driven by Selenium with Debian's chromedriver.

Nothing is downloaded at run time: the browser and driver come from Debian's
``chromium`` and ``chromium-driver`` packages (``make test-deps`` installs them).
Screenshots are saved under ``test-artifacts/screenshots/`` for people to look at.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT

SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--window-size=1280,900",
)


def _find(*names: str) -> str | None:
    return next((path for name in names if (path := shutil.which(name))), None)


@pytest.fixture
def browser() -> Iterator[object]:
    """A fresh headless Chromium (Selenium WebDriver) with its own profile."""
    chromium = _find("chromium", "chromium-browser")
    driver_path = _find("chromedriver")
    if not (chromium and driver_path):
        message = "Debian's chromium and chromium-driver are needed (make test-deps)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Selenium Manager must never try to fetch a driver: the path is given.
    os.environ.setdefault("SE_AVOID_STATS", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def save_screenshot(driver: object, name: str) -> Path:
    """Saves a PNG of the current page as a test artifact and returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    return path
