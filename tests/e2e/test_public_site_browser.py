"""The public markets, rounds, privacy and governance pages in a real browser (Debian's Chromium through
Playwright): with and without JavaScript, at 1366 px and on a 375 px phone; their figures match the database,
nothing overflows the page sideways, charts scale to the screen, and axe-core finds no serious accessibility
violation. Screenshots of the chart pages are kept in artifacts/."""

import os
import shutil
from pathlib import Path

import pytest

from governance.models import LedgerEntry, Policy
from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import policy_create, proposal_open, proposal_vote
from orchestration import selectors
from orchestration.models import PlanDelta, PortfolioDelta, SearchRound
from tests.orchestration.federation import PROBLEM_CLASS
from tests.transparency.market_data import run_market

CHROMIUM = os.environ.get("OPM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM} (test.sh installs it)"),
]

SCREENS = [(1366, 768), (375, 740)]
SCREENSHOTS = ("/markets/synthetic", "/privacy/p", "/rounds/2", "/governance/")


def expected_pages(board) -> list[tuple[str, list[str]]]:
    """Each public page of these sections with texts it must show, read from the database."""
    plan = PlanDelta.objects.get(problem_class=PROBLEM_CLASS, sequence=1)
    portfolio = PortfolioDelta.objects.get(problem_class=PROBLEM_CLASS, sequence=1)
    pages = [
        ("/markets/", [PROBLEM_CLASS, f"version 1 {plan.child.content_hash[:12]}"]),
        (
            f"/markets/{PROBLEM_CLASS}/",
            [
                "{mean:+.3%} ± {std:.3%}".format(**plan.evidence["estimate"]),
                "{mean:+.3%} ± {std:.3%}".format(**portfolio.evidence["estimate"]),
            ],
        ),
        ("/rounds/", [f"Round {r.pk}" for r in SearchRound.objects.all()]),
    ]
    for search_round in SearchRound.objects.all():
        texts = [f"Seed\n{search_round.seed}", search_round.result["decision"]["reason"]]
        texts += [
            "{mean:+.3%} ± {std:.3%}".format(**estimate) for estimate in search_round.result["estimates"].values()
        ]
        pages.append((f"/rounds/{search_round.pk}/", texts))
    views = selectors.budget_views()
    pages.append(("/privacy/", [view.budget.participant.display_name for view in views]))
    view = views[0]
    pages.append(
        (
            f"/privacy/{view.budget.participant.name}/",
            [f"ε spent {view.spent_epsilon:.3f} of limit {view.budget.epsilon} at δ = {view.budget.delta:g}"],
        )
    )
    proposal = board["proposal"]
    pages.append(("/governance/", [f"#{proposal.pk} Activate policy", "Privacy policy"]))
    pages.append((f"/governance/proposals/{proposal.pk}/", [user.username for user in board["users"]]))
    size = LedgerEntry.objects.count()
    pages.append(("/", ["Markets", "The log", f"The log holds {size} entries"]))
    return pages


@pytest.mark.django_db(transaction=True)
def test_public_market_pages_in_the_browser(browser, axe, live_server, board, tmp_path, monkeypatch, adapter_contract):
    run_market(tmp_path, monkeypatch)
    ada, bob, cy, di = board
    policy = policy_create(kind="privacy", document={**DEFAULT_DOCUMENTS["privacy"], "epsilon": 2.0}, created_by=ada)
    proposal = proposal_open(kind="activate_policy", proposer=ada, policy=policy, rationale="a looser limit")
    proposal_vote(proposal=proposal, voter=bob, choice="no", comment="too loose")
    assert Policy.objects.filter(kind="privacy").count() == 2
    pages = expected_pages({"proposal": proposal, "users": [ada, bob]})
    ARTIFACTS.mkdir(exist_ok=True)

    failures = []
    for javascript in (True, False):
        for width, height in SCREENS:
            context = browser.new_context(
                java_script_enabled=javascript, viewport={"width": width, "height": height}, bypass_csp=javascript
            )
            page = context.new_page()
            for path, texts in pages:
                response = page.goto(f"{live_server.url}{path}")
                assert response.status == 200, path
                body = page.inner_text("main")
                for text in texts:
                    assert text in body, (path, text, javascript, width)
                widths = page.evaluate(
                    "() => [document.documentElement.scrollWidth, window.innerWidth,"
                    " Math.max(0, ...[...document.querySelectorAll('figure.chart')]"
                    ".map(s => s.getBoundingClientRect().right))]"
                )
                assert widths[0] <= widths[1], (path, width, javascript, widths)
                assert widths[2] <= widths[1], (path, width, javascript, "a chart's box is wider than the screen")
                if javascript:
                    failures += [f"{path} at {width}px: {line}" for line in axe(page)]
                if not javascript and path.startswith(SCREENSHOTS):
                    name = path.strip("/").replace("/", "-")
                    page.screenshot(path=str(ARTIFACTS / f"public-{name}-{width}.png"), full_page=True)
            # The charts' numbers are in a table behind a <details> that opens without JavaScript too.
            page.goto(f"{live_server.url}/markets/{PROBLEM_CLASS}/")
            page.locator("figure.chart summary").first.click()
            assert page.locator("figure.chart details table").first.is_visible()
            context.close()
    assert not failures, "\n".join(failures)
