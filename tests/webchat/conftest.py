"""Fixtures of the web chat tests."""

from tests.support.browser import browser  # noqa: F401 - headless Chromium
