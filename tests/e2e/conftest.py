"""The end-to-end tests' browser: Playwright driving Debian's Chromium (/usr/bin/chromium, installed by test.sh);
Playwright's own browser download cannot work on these machines."""

import os
from pathlib import Path

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


AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def axe():
    """Run axe-core (installed from the npm registry by test.sh) on a page; returns its serious and critical
    violations as readable lines. The page's context needs JavaScript on, and `bypass_csp=True` if the page
    sets a Content-Security-Policy, since the scanner is injected."""
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed at {AXE} (test.sh runs npm ci in tests/e2e)")

    def scan(page) -> list[str]:
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        return [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]

    return scan
