"""The admin on a 1366 x 768 screen in a real browser: every list fits without a horizontal scroll, a proposal's
vote buttons are in the first screenful, and a 250-pass release and its proposal stay short.

Playwright drives Debian's Chromium (/usr/bin/chromium, installed by test.sh); screenshots are kept in artifacts/.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.contrib import admin

from tests.admin_data import board_items, federation_rounds

CHROMIUM = os.environ.get("OPM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
WIDTH, HEIGHT = 1366, 768
MAX_PAGE_HEIGHT = 2500

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM} (test.sh installs it)"),
]

# Widths that overflow: the document's, and any scrolling box's inside the list (Django wraps the table in
# `.results`, which scrolls sideways rather than widening the page).
OVERFLOW = """() => {
  const boxes = [...document.querySelectorAll('#changelist .results, #changelist table')];
  return {
    page: document.documentElement.scrollWidth,
    boxes: boxes.filter(b => b.scrollWidth > b.clientWidth + 1)
                .map(b => [b.className || b.id, b.scrollWidth, b.clientWidth]),
    rows: document.querySelectorAll('#result_list tbody tr').length,
  };
}"""


def log_in(browser, live_server, username: str, password: str):
    page = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}).new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#board-dashboard")
    return page


@pytest.mark.django_db(transaction=True)
def test_the_admin_fits_a_1366_screen(
    browser, live_server, tmp_path, monkeypatch, board, adapter_contract, django_user_model
):
    rounds = federation_rounds(tmp_path, monkeypatch)
    site = board_items(board, adapter_contract, django_user_model)
    django_user_model.objects.create_superuser("root", "root@example.org", "pw-root")
    root = log_in(browser, live_server, "root", "pw-root")
    ARTIFACTS.mkdir(exist_ok=True)
    for stale in ARTIFACTS.glob("changelist-*.png"):
        stale.unlink()

    assert "round " in root.inner_text("#dashboard-rounds") and "ε " in root.inner_text("#dashboard-budgets")
    overflowing = {}
    for model in admin.site._registry:
        opts = model._meta
        root.goto(f"{live_server.url}/admin/{opts.app_label}/{opts.model_name}/")
        measured = root.evaluate(OVERFLOW)
        assert measured["rows"] >= 1, f"{opts.label}: the list is empty, so its width proves nothing"
        if measured["page"] > WIDTH or measured["boxes"]:
            overflowing[opts.label] = measured
            root.screenshot(path=str(ARTIFACTS / f"changelist-{opts.label}.png"), full_page=True)
    assert overflowing == {}, overflowing

    bob = log_in(browser, live_server, "bob", "pw-bob")
    bob.goto(f"{live_server.url}/admin/governance/proposal/{site.release_proposal.pk}/change/")
    yes = bob.locator("button[value=yes]").bounding_box()
    assert yes is not None and yes["y"] + yes["height"] <= HEIGHT, yes
    assert "250 passes offered" in bob.inner_text("#summary")
    proposal_height = bob.evaluate("document.documentElement.scrollHeight")
    bob.screenshot(path=str(ARTIFACTS / "proposal-250-passes.png"), full_page=True)
    assert proposal_height <= MAX_PAGE_HEIGHT

    bob.goto(f"{live_server.url}/admin/registry/adapterrelease/{site.release.pk}/change/")
    assert bob.locator("#release-passes li").count() == 250 and bob.locator("#release-passes li").first.is_visible()
    release_height = bob.evaluate("document.documentElement.scrollHeight")
    bob.screenshot(path=str(ARTIFACTS / "release-250-passes.png"), full_page=True)
    assert release_height <= MAX_PAGE_HEIGHT

    # The other summarised pages, kept as screenshots for review.
    from orchestration.models import PerformanceSignal, PrivacyBudget

    pages = {
        "round-plan": f"orchestration/searchround/{rounds.plan_round.pk}",
        "round-portfolio": f"orchestration/searchround/{rounds.portfolio_round.pk}",
        "policy": f"governance/policy/{site.policy.pk}",
        "policy-proposal": f"governance/proposal/{site.policy_proposal.pk}",
        "budget": f"orchestration/privacybudget/{PrivacyBudget.objects.first().pk}",
        "signal": f"orchestration/performancesignal/{PerformanceSignal.objects.first().pk}",
    }
    for name, path in pages.items():
        root.goto(f"{live_server.url}/admin/{path}/change/")
        assert root.evaluate("document.documentElement.scrollWidth") <= WIDTH, name
        root.screenshot(path=str(ARTIFACTS / f"page-{name}.png"), full_page=True)
    root.goto(f"{live_server.url}/admin/")
    root.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
