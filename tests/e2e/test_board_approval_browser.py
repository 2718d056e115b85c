"""End to end in a real browser: four board members approve a release in the admin; the ledger shows it.

Playwright drives Debian's Chromium (/usr/bin/chromium, installed by test.sh); Playwright's own browser
download cannot work on these machines. A screenshot of the proposal page is kept in artifacts/.
"""

import os
import shutil
from pathlib import Path

import pytest

from governance.models import LedgerEntry, Proposal
from tests.governance.fixtures import pass_conformance

CHROMIUM = os.environ.get("OPM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM} (test.sh installs it)"),
]


def log_in(browser, live_server, username: str):
    page = browser.new_context().new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-" + username)
    page.click("input[type=submit]")
    page.wait_for_selector("#board-dashboard")
    return page


@pytest.mark.django_db(transaction=True)
def test_four_members_approve_a_release_in_the_browser(browser, live_server, board, release, adapter_contract):
    pass_conformance(release, adapter_contract)

    ada = log_in(browser, live_server, "ada")
    ada.goto(f"{live_server.url}/admin/registry/adapterrelease/")
    ada.check(f"input[name=_selected_action][value='{release.pk}']")
    ada.select_option("select[name=action]", "propose_approval")
    ada.click("button[name=index]")
    assert "Opened a proposal to approve release" in ada.inner_text(".messagelist")
    proposal = Proposal.objects.get(release=release)
    proposal_url = f"{live_server.url}/admin/governance/proposal/{proposal.pk}/change/"

    for name in ("bob", "cy", "di"):
        member = log_in(browser, live_server, name)
        assert f"#{proposal.pk} Approve release" in member.inner_text("#board-dashboard")
        member.goto(proposal_url)
        member.fill("#vote-comment", f"{name}: conformance report reviewed")
        member.click("button[value=yes]")
        assert "is recorded in the ledger" in member.inner_text(".messagelist")

    ada.goto(proposal_url)
    assert "This proposal is accepted." in ada.inner_text("#vote-panel")
    ARTIFACTS.mkdir(exist_ok=True)
    ada.screenshot(path=str(ARTIFACTS / "proposal-accepted.png"), full_page=True)

    decided = LedgerEntry.objects.get(kind="proposal.decided", subject=f"proposal:{proposal.pk}")
    ada.goto(f"{live_server.url}/admin/governance/ledgerentry/?kind__exact=proposal.decided")
    assert f"proposal:{proposal.pk}" in ada.inner_text("#result_list")
    ada.goto(f"{live_server.url}/admin/")
    assert "accepted" in ada.inner_text("#board-dashboard")
    assert decided.payload["tally"] == {"yes": 3, "no": 0, "abstain": 0}
    release.refresh_from_db()
    assert release.state == "approved"
