"""The end-to-end tests' browser: Playwright driving Debian's Chromium (/usr/bin/chromium, installed by test.sh);
Playwright's own browser download cannot work on these machines."""

import os

import pytest
from django.db import connections

CHROMIUM = os.environ.get("OPM_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls below are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()
        # Django keeps a connection per context and Playwright's sync API runs the test among its greenlets:
        # a connection opened there would outlive the test and hold the test database at its teardown.
        connections.close_all()
