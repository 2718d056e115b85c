"""The board's pages read as summaries and tables that match the database, the raw JSON one click away (a
collapsed <details>), every stored string escaped; the dashboard adds rounds and budgets in a fixed number of
queries."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from governance.models import LedgerEntry
from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.selectors import policy_diff
from governance.services import policy_activate, policy_create, proposal_open
from orchestration import accounting
from orchestration.models import PerformanceSignal, PrivacyBudget
from registry.models import PassSpec
from registry.selectors import release_latest_conformance
from registry.services import conformance_record, release_submit
from tests.admin_data import HOSTILE, board_items, federation_rounds, llvm_release
from tests.governance.fixtures import make_manifest
from tests.orchestration import factories as of
from tests.page_reading import Page

pytestmark = pytest.mark.django_db


def page_of(client, name: str, *args) -> Page:
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return Page(response.content.decode())


def percent(value: float) -> float:
    """The number in a cell like "+0.482%" or "+9.44% ± 0.67%" (its first), as a fraction."""
    return float(re.search(r"[-+]?\d+(?:\.\d+)?", value).group(0)) / 100


def collapsed_raw(page: Page, element_id: str) -> str:
    """The JSON inside a collapsed <details> block."""
    details = page.element(element_id)
    assert details.tag == "details" and "open" not in details.attrs
    return details.find_all("pre")[0].text()


@pytest.fixture
def rounds(tmp_path, monkeypatch, adapter_contract):
    return federation_rounds(tmp_path, monkeypatch)


def test_round_pages_are_their_outcome_candidates_and_ledger_entries(admin_client, rounds):
    for search_round in (rounds.plan_round, rounds.portfolio_round):
        check_round_page(admin_client, search_round)


def check_round_page(admin_client, search_round):
    result = search_round.result
    page = page_of(admin_client, "admin:orchestration_searchround_change", search_round.pk)

    assert f"version {result['promoted_version']}" in page.text("round-outcome")
    assert search_round.stop_reason in page.text("round-outcome")
    rows = {row[0].rstrip("…"): row for row in page.rows("round-candidates")}
    assert len(rows) == len(set(result["shortlist"]) | set(result["estimates"]))
    for plan_hash in result["shortlist"]:
        row = rows[plan_hash[:12]]
        estimate = result["estimates"].get(plan_hash)
        if estimate:
            # shown to the digits the noise leaves meaningful (two significant digits of its std)
            assert percent(row[3]) == pytest.approx(estimate["mean"], abs=estimate["std"] / 10)
            assert row[4] == str(estimate["participants"])
        if plan_hash == result["winner"]:
            assert f"promoted as version {result['promoted_version']}" in row[5]
        else:
            assert "lower estimate than the winner" in row[5]
    assert "at 95% confidence" in page.text("round-decision")
    assert percent(page.text("round-decision").split("is ")[1]) == pytest.approx(
        result["decision"]["lower_bound"], abs=0.0001
    )

    own = LedgerEntry.objects.filter(subject=f"round:{search_round.pk}")
    assert {f"#{e.index} {e.kind}" for e in own} <= set(page.text("round-entries").split(", "))
    signals = PerformanceSignal.objects.filter(task__round=search_round)
    assert {f"#{s.ledger_index}" for s in signals} == {row[0] for row in page.rows("round-signals")}
    assert json.loads(collapsed_raw(page, "raw-json")) == result


def test_signals_and_budgets_read_in_their_units(admin_client, rounds):
    check_signal_pages(admin_client, rounds)
    check_budget_pages(admin_client, rounds)


def check_signal_pages(admin_client, rounds):
    """A signal reads as a percentage with its unit, its noise and its ledger entry."""
    portfolio = PerformanceSignal.objects.filter(task__round=rounds.portfolio_round).first()
    plan = PerformanceSignal.objects.filter(task__round=rounds.plan_round).first()
    for signal, unit in ((portfolio, "marginal log gain over the portfolio"), (plan, "mean clipped gain over the ref")):
        page = page_of(admin_client, "admin:orchestration_performancesignal_change", signal.pk)
        summary = page.text("signal-summary")
        std = signal.parameters["std"]
        assert unit in summary and f"{signal.corpus_size} programs" in summary
        shown = re.search(r"Value ([-+][\d.]+)%", summary).group(1)
        assert float(shown) / 100 == pytest.approx(signal.value, abs=std / 10)  # digits down to a tenth of the noise
        assert len(shown.split(".")[1]) <= 4  # never the 18 decimals of a float
        assert re.search(rf"Noise std {std * 100:.2g}%", summary)
        assert signal.task.local_problem.participant.name in summary
        entry = LedgerEntry.objects.get(index=signal.ledger_index)
        assert entry.kind == "signal.accepted"
        assert reverse("admin:governance_ledgerentry_change", args=[entry.pk]) in page.html
        assert json.loads(collapsed_raw(page, "raw-json"))["value"] == signal.value

    listing = admin_client.get(reverse("admin:orchestration_performancesignal_changelist")).content.decode()
    assert repr(plan.value) in listing and f"{plan.value!r}</td>" not in listing  # the raw float only in a tooltip


def check_budget_pages(admin_client, rounds):
    """A budget shows epsilon spent of its limit, converted as the demo converts it, on its page, the list and
    the dashboard."""
    budget = PrivacyBudget.objects.filter(rho_spent_nano__gt=0).select_related("participant").first()
    spent = accounting.epsilon_of_rho_nano(budget.rho_spent_nano, budget.delta)  # the demo's figure
    limit = accounting.epsilon_of_rho_nano(budget.rho_limit_nano, budget.delta)
    expected = f"ε {spent:.3f} of {limit:.3f} at δ = {budget.delta:g}"
    nano = f"{budget.rho_spent_nano:,} of {budget.rho_limit_nano:,} nano-rho spent"

    page = page_of(admin_client, "admin:orchestration_privacybudget_change", budget.pk)
    assert expected in page.text("budget-summary")
    assert f'title="{nano}"' in page.html
    assert f"{budget.rho_spent_nano / budget.rho_limit_nano:.0%} of ρ used" in page.text("budget-summary")
    assert "adds up in ρ" in page.text("budget-explained") and "remaining" not in page.text("budget-summary")
    listing = admin_client.get(reverse("admin:orchestration_privacybudget_changelist")).content.decode()
    dashboard = page_of(admin_client, "admin:index")
    assert expected in listing and f'title="{nano}"' in listing
    assert expected in dashboard.text("dashboard-budgets")
    assert f"round {rounds.plan_round.pk}" in dashboard.text("dashboard-rounds")


def test_a_release_page_summarises_its_250_pass_manifest_and_conformance(admin_client, board, adapter_contract):
    release, run = llvm_release(adapter_contract, description="Sized for embedded code.")
    page = page_of(admin_client, "admin:registry_adapterrelease_change", release.pk)

    summary = page.text("release-summary")
    assert f"{release.name} {release.version} by {release.vendor}" in summary
    assert "LLVM 22.1.8" in summary and "opm-adapter@2.0.0" in summary and "Sized for embedded code." in summary
    passes = page.element("release-passes")
    assert passes.tag == "details" and "open" in passes.attrs
    assert [li.text() for li in passes.find_all("li")] == sorted(release.manifest["passes"])
    assert "250 passes offered" in passes.text()
    assert [row for row in page.rows("release-conformance")] == [
        [check["name"], "passed", check["detail"]] for check in run.report["checks"]
    ]
    assert json.loads(collapsed_raw(page, "raw-manifest")) == release.manifest
    assert "pass offers" not in page.html.lower()  # no inline of 250 rows


def test_a_proposal_opens_with_the_vote_and_summarises_its_release(client, board, adapter_contract):
    ada, bob, cy, di = board
    release, run = llvm_release(adapter_contract)
    proposal = proposal_open(kind="approve_release", proposer=ada, release=release, rationale="Reviewed.")
    client.force_login(bob)
    page = page_of(client, "admin:governance_proposal_change", proposal.pk)

    html = page.html
    assert html.index('id="vote-panel"') < html.index('id="summary"') < html.index("Record (every field")
    assert html.index('value="yes"') < html.index('id="summary"')
    assert "is open" in page.text("proposal-status") and "0 yes, 0 no, 0 abstain" in page.text("vote-panel")
    assert "quorum 3 votes, at least 2/3 yes" in page.text("vote-panel")
    passes = page.element("release-passes")
    assert "open" not in passes.attrs and "250 passes offered" in passes.text()
    assert page.rows("release-conformance")[0][:2] == [run.report["checks"][0]["name"], "passed"]
    assert release_latest_conformance(release=release) == [run]
    assert json.loads(collapsed_raw(page, "raw-manifest")) == release.manifest


def test_a_policy_page_is_a_settings_table_and_its_diffs(admin_client, board, adapter_contract, django_user_model):
    items = board_items(board, adapter_contract, django_user_model)
    policy = items.policy
    page = page_of(admin_client, "admin:governance_policy_change", policy.pk)
    assert page.rows("policy-settings") == [[k, json.dumps(v)] for k, v in sorted(policy.document.items())]
    assert "The first privacy policy version" in page.text("summary")
    assert json.loads(collapsed_raw(page, "raw-json")) == policy.document

    proposal_page = page_of(admin_client, "admin:governance_proposal_change", items.policy_proposal.pk)
    assert proposal_page.rows("policy-settings") == page.rows("policy-settings")
    assert proposal_page.html.index('id="vote-panel"') < proposal_page.html.index('id="policy-settings"')


def test_a_new_policy_version_shows_the_changes_from_the_previous_and_the_active_one(admin_client):
    active = policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"], created_by=None)
    policy_activate(policy=active, proposal=None, actor="test")
    middle = policy_create(kind="privacy", document={**active.document, "clip_bound": 0.02}, created_by=None)
    newest = policy_create(kind="privacy", document={**middle.document, "epsilon": 3.0}, created_by=None)

    page = page_of(admin_client, "admin:governance_policy_change", newest.pk)
    assert page.rows("policy-previous-diff") == [["epsilon", json.dumps(active.document["epsilon"]), "3.0"]]
    assert page.rows("policy-active-diff") == [
        [k, json.dumps(a), json.dumps(b)] for k, a, b in policy_diff(policy=newest, against=active)
    ]
    assert {row[0] for row in page.rows("policy-active-diff")} == {"clip_bound", "epsilon"}


def test_a_conformance_run_page_lists_its_checks(admin_client, board, adapter_contract):
    _, run = llvm_release(adapter_contract, verdict="failed")
    page = page_of(admin_client, "admin:registry_conformancerun_change", run.pk)
    assert "Failed: 0 of 6 checks passed" in page.text("conformance-summary")
    assert "bubblewrap" in page.text("conformance-summary")
    assert page.rows("conformance-checks") == [[c["name"], "failed", c["detail"]] for c in run.report["checks"]]
    assert json.loads(collapsed_raw(page, "raw-json")) == run.report


def test_stored_strings_are_escaped_on_every_summary(client, board, adapter_contract):
    ada, bob, cy, di = board
    now = timezone.now()
    for name in ("gvn", HOSTILE):
        PassSpec.objects.create(
            toolchain="llvm", name=name, kind="function", description=name, toolchain_version="1", synced_at=now
        )
    release = release_submit(
        manifest=make_manifest(name="hostile", passes=["gvn", HOSTILE], description=HOSTILE),
        vendor=HOSTILE,
        actor="vendor:x",
    )
    report = {"verdict": "passed", "sandbox": HOSTILE, "checks": [{"name": HOSTILE, "passed": True, "detail": HOSTILE}]}
    run = conformance_record(
        release=release, contract=adapter_contract, report=report, started_at=now, finished_at=now, actor="t"
    )
    proposal = proposal_open(kind="approve_release", proposer=ada, release=release, rationale=HOSTILE)
    client.force_login(bob)
    for name, pk in (
        ("admin:governance_proposal_change", proposal.pk),
        ("admin:registry_adapterrelease_change", release.pk),
        ("admin:registry_conformancerun_change", run.pk),
    ):
        html = client.get(reverse(name, args=[pk])).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, name
        assert escape(HOSTILE) in html, name
    page = page_of(client, "admin:governance_proposal_change", proposal.pk)
    assert page.text("proposal-rationale") == HOSTILE
    assert HOSTILE in [li.text() for li in page.element("release-passes").find_all("li")]


def test_the_dashboard_reads_rounds_and_budgets_in_a_fixed_number_of_queries(admin_client):
    def queries_with(rounds: int, participants: int) -> int:
        for _ in range(rounds):
            of.SearchRoundFactory(state="finished", stop_reason="no plan beat the incumbent on public code")
        for _ in range(participants):
            budget = of.PrivacyBudgetFactory(rho_spent_nano=5_000_000)
            of.PrivacyChargeFactory(budget=budget, rho_nano=5_000_000, spent_after_nano=5_000_000)
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get(reverse("admin:index"))
        assert response.status_code == 200
        sql = [query["sql"] for query in captured.captured_queries]
        assert not [q for q in sql if re.match(r"\s*(INSERT|UPDATE|DELETE)\b", q, re.IGNORECASE)]  # reads only
        return len(sql)

    few = queries_with(2, 2)
    many = queries_with(30, 30)
    assert many == few
    page = Page(admin_client.get(reverse("admin:index")).content.decode())
    assert len(page.element("dashboard-rounds").find_all("tr")) == 10
    assert len(page.element("dashboard-budgets").find_all("tr")) == 10
    assert "Finished without a promotion: no plan beat the incumbent on public code." in page.text("dashboard-rounds")
