"""Portfolio rounds end to end in process: a public pool, private marginal gains over the portfolio, a promoted
member with its delta, delta-sync of portfolios, exports and backtests that reproduce (or catch) each step."""

import json
from pathlib import Path

import pytest
import rfc8785
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from adapters import privacy
from adapters.plan import Plan as PlanFile
from adapters.portfolio import Portfolio, PortfolioDelta, apply_delta
from governance.models import LedgerEntry
from opm_site.errors import OpmError
from orchestration import backtest, decisions, orchestrator, services
from orchestration.models import EvaluationTask
from orchestration.models import PortfolioDelta as PortfolioDeltaRow
from orchestration.selectors import portfolio_current

from .federation import ORCHESTRATION, PROBLEM_CLASS, Federation, activate, signal_statement

pytestmark = pytest.mark.django_db

# A small pool search keeps the synthetic variants' best plans apart, so the pool holds several candidates.
PORTFOLIO_POLICY = {**ORCHESTRATION, "pool_budget": 6, "pool_strategy": "random", "portfolio_size": 2}


@pytest.fixture
def federation(tmp_path, monkeypatch, adapter_contract):
    made = Federation(tmp_path)
    activate("orchestration", PORTFOLIO_POLICY)
    monkeypatch.setattr(orchestrator, "_wait", made.wait)
    return made


def export(tmp_path: Path) -> Path:
    directory = tmp_path / "export"
    call_command("ledger", "checkpoint")
    call_command("ledger", "export", str(directory), "--no-progress")
    return directory


def test_a_portfolio_round_promotes_the_candidate_that_adds_most(federation):
    outcome = orchestrator.run_portfolio_round(federation.settings(seed=3))
    search_round = outcome.round
    assert search_round.kind == "portfolio" and search_round.state == "finished", search_round.stop_reason
    assert outcome.promoted_version == 1, search_round.stop_reason
    kinds = list(
        LedgerEntry.objects.filter(subject=f"round:{search_round.pk}").order_by("index").values_list("kind", flat=True)
    )
    assert kinds == ["round.started", "round.pooled", "round.dispatched", "round.dispatched", "round.finished"]
    pooled = LedgerEntry.objects.get(kind="round.pooled").payload
    assert pooled["shortlist"] == outcome.shortlist and pooled["candidates"]
    assert all(len(item["sizes"]) == len(pooled["reference"]) for item in pooled["candidates"])
    # Every task asked for a marginal gain over the empty portfolio, the version the round started from.
    empty = Portfolio("synthetic", ())
    assert set(EvaluationTask.objects.values_list("base__content_hash", flat=True)) == {empty.content_hash()}
    signals = LedgerEntry.objects.filter(kind="signal.accepted", payload__round=search_round.pk)
    assert {entry.payload["body"]["statistic"] for entry in signals} == {"marginal_log_gain"}
    promoted = LedgerEntry.objects.get(kind="portfolio.promoted").payload
    assert promoted["member"] == search_round.result["winner"]
    assert set(promoted["evidence"]) == set(signals.values_list("index", flat=True))
    row = PortfolioDeltaRow.objects.get(problem_class=PROBLEM_CLASS, sequence=1)
    assert row.ledger_index == LedgerEntry.objects.get(kind="portfolio.promoted").index  # what finality covers
    delta = {"parent": row.parent.content_hash, "child": row.child.content_hash, "ops": row.ops}
    child = apply_delta(PortfolioDelta.from_json(delta), empty)
    assert [member.content_hash() for member in child.members] == [promoted["member"]]
    estimate = promoted["estimate"]
    assert estimate["participants"] == 4 and estimate["mean"] - 1.645 * estimate["std"] > PORTFOLIO_POLICY["min_margin"]


def test_rounds_grow_the_portfolio_up_to_k_and_never_ask_about_a_candidate_twice(federation):
    outcomes = [orchestrator.run_portfolio_round(federation.settings(seed=3)) for _ in range(2)]
    version, current = portfolio_current(problem_class=PROBLEM_CLASS)
    members = current.members
    assert version == len(members) == sum(outcome.promoted_version is not None for outcome in outcomes)
    for earlier, later in zip(outcomes, outcomes[1:], strict=False):  # a base keeps its tried candidates out
        if earlier.round.base_id == later.round.base_id:
            assert not set(earlier.shortlist) & set(later.shortlist)
    if version == PORTFOLIO_POLICY["portfolio_size"]:
        with pytest.raises(OpmError, match="already holds 2 plans"):
            orchestrator.run_portfolio_round(federation.settings(seed=3))


def test_portfolio_delta_sync_and_export(federation, tmp_path):
    orchestrator.run_portfolio_round(federation.settings(seed=3))
    client = APIClient()
    synced = client.get("/api/v1/portfolios/deltas", {"problem_class": PROBLEM_CLASS, "since": 0}).json()
    portfolio = Portfolio("synthetic", ())
    for item in synced["deltas"]:
        portfolio = apply_delta(PortfolioDelta.from_json({k: item[k] for k in ("parent", "child", "ops")}), portfolio)
    version, current = portfolio_current(problem_class=PROBLEM_CLASS)
    assert synced["version"] == version == 1 and portfolio.content_hash() == current.content_hash()
    fetched = client.get(f"/api/v1/portfolios/{current.content_hash()[:12]}").json()
    assert Portfolio.from_json(fetched["body"]) == portfolio
    assert client.get("/api/v1/portfolios/" + "0" * 64).status_code == 404
    beyond = client.get("/api/v1/portfolios/deltas", {"problem_class": PROBLEM_CLASS, "since": 2})
    assert beyond.status_code == 400 and beyond.json()["code"] == "invalid_range"

    target = tmp_path / "portfolio.json"
    call_command("plan", "export", "--promoted", PROBLEM_CLASS, "-o", str(target))
    assert Portfolio.from_json(json.loads(target.read_text())) == portfolio
    member = portfolio.members[0]
    call_command("plan", "export", member.content_hash()[:12], "-o", str(tmp_path / "member.json"))
    assert PlanFile.from_json(json.loads((tmp_path / "member.json").read_text())) == member
    with pytest.raises(CommandError, match="no plan"):
        call_command("plan", "export", "abc", "-o", str(tmp_path / "x.json"))


def test_backtest_replays_portfolio_rounds_and_catches_a_changed_rule(federation, tmp_path, monkeypatch):
    for _ in range(2):
        orchestrator.run_portfolio_round(federation.settings(seed=3))
    directory = export(tmp_path)
    replay = backtest.replay(directory)
    assert replay.verdict == "reproduced", replay.divergence
    promoted = [decision for decision in replay.decisions if decision["promoted"]]
    assert promoted and all(decision["kind"] == "portfolio" for decision in replay.decisions)

    real = decisions.portfolio_shortlist
    monkeypatch.setattr(decisions, "portfolio_shortlist", lambda gains, size, tried=(): real(gains, 1, tried))
    changed = backtest.replay(directory)
    assert changed.verdict == "diverged" and "shortlist" in changed.divergence


def test_a_portfolio_tasks_signal_must_name_its_statistic_and_portfolio(federation):
    member = federation.members[0]
    candidate = PlanFile.from_json({"toolchain": "synthetic", "passes": [{"name": "s00"}]})
    base = services.portfolio_row(Portfolio("synthetic", ()))
    EvaluationTask.objects.create(
        plan=services.plan_row(candidate),
        base=base,
        local_problem=member.deployment.problems.get(),
        noise_multiplier=20.0,
        clip_bound=0.1,
    )
    task = services.tasks_lease(deployment=member.deployment, limit=1)[0]
    gains, statistic = member.gains(task)
    assert statistic == privacy.MARGINAL_LOG_GAIN and all(0.0 <= gain <= 0.1 for gain in gains)

    def submit(document_statistic: str, base_hash: str | None):
        released = privacy.release(gains, clip=0.1, noise_multiplier=20.0, statistic=statistic)
        body = rfc8785.dumps({**signal_statement(task, released), "statistic": document_statistic, "base": base_hash})
        return services.signal_submit(deployment=member.deployment, body=body, signature=member.key.sign(body))

    for wrong in ((privacy.MARGINAL_LOG_GAIN, "f" * 64), (privacy.CLIPPED_GAIN, None)):
        with pytest.raises(OpmError) as caught:
            submit(*wrong)
        assert caught.value.code == "invalid_signal"
    signal, created = submit(privacy.MARGINAL_LOG_GAIN, base.content_hash)
    assert created and LedgerEntry.objects.get(index=signal.ledger_index).payload["base"] == base.content_hash


def test_the_orchestrate_command_runs_portfolio_rounds_until_the_portfolio_is_full(federation, capsys, monkeypatch):
    from orchestration import public_corpus

    monkeypatch.setattr(
        "orchestration.management.commands.orchestrate.public_corpus", lambda problem_class: federation.public
    )
    call_command("orchestrate", "--problem-class", PROBLEM_CLASS, "--rounds", "4", "--seed", "3")
    out = capsys.readouterr().out
    assert "portfolio round 1/4" in out and "summary" in out
    version, current = portfolio_current(problem_class=PROBLEM_CLASS)
    assert 1 <= version <= PORTFOLIO_POLICY["portfolio_size"]
    assert public_corpus  # the real corpus function stays untouched


@pytest.mark.django_db(transaction=True)
def test_opm_adapter_sync_follows_portfolio_promotions_over_http(federation, live_server, tmp_path, capsys):
    from adapters.cli import main

    state, out = tmp_path / "state.json", tmp_path / "portfolio.json"
    argv = [
        "sync",
        "--server",
        live_server.url,
        "--insecure-http",
        "--problem-class",
        PROBLEM_CLASS,
        "--state",
        str(state),
    ]
    assert main([*argv, "--portfolio", "--portfolio-out", str(out)]) == 0
    assert "portfolio version 0 -> 0" in capsys.readouterr().out
    orchestrator.run_portfolio_round(federation.settings(seed=3))
    assert main([*argv, "--portfolio", "--portfolio-out", str(out)]) == 0
    version, current = portfolio_current(problem_class=PROBLEM_CLASS)
    assert f"portfolio version 0 -> {version}" in capsys.readouterr().out and version == 1
    assert Portfolio.from_json(json.loads(out.read_text())).content_hash() == current.content_hash()
    assert json.loads(state.read_text())["version"] == 1
    assert main(argv) == 2  # the state holds a portfolio: reading it as a plan state is refused
    assert "expected an object with exactly the keys" in capsys.readouterr().err


def test_a_shortlist_of_one_goes_straight_to_confirmation_and_replays(federation, tmp_path):
    activate("orchestration", {**PORTFOLIO_POLICY, "shortlist_size": 1})
    outcome = orchestrator.run_portfolio_round(federation.settings(seed=3))
    phases = set(EvaluationTask.objects.filter(round=outcome.round).values_list("phase", flat=True))
    assert phases == {"confirmation"} and outcome.round.result["winner"] == outcome.shortlist[0]
    assert outcome.promoted_version == 1, outcome.round.stop_reason
    assert backtest.replay(export(tmp_path)).verdict == "reproduced"


def test_release_planning_for_portfolio_rounds():
    assert [decisions.portfolio_releases(n) for n in (0, 1, 2, 3)] == [0, 1, 3, 4]
    assert decisions.portfolio_selection(["a", "b", "c"], 4) == ["a", "b", "c"]
    assert decisions.portfolio_selection(["a", "b", "c"], 3) == ["a", "b"]
    assert decisions.portfolio_selection(["a", "b", "c"], 2) == []  # one selection release buys nothing
    assert decisions.portfolio_selection(["a"], 1) == []


def test_a_portfolio_task_is_leased_with_its_portfolio_and_requeued_with_it(federation):
    import datetime as dt

    from django.utils import timezone

    from adapters.sdk import Task

    member = federation.members[0]
    candidate = PlanFile.from_json({"toolchain": "synthetic", "passes": [{"name": "s01"}]})
    base = services.portfolio_row(
        Portfolio("synthetic", (PlanFile.from_json({"toolchain": "synthetic", "passes": [{"name": "s02"}]}),))
    )
    EvaluationTask.objects.create(
        plan=services.plan_row(candidate),
        base=base,
        local_problem=member.deployment.problems.get(),
        noise_multiplier=20.0,
        clip_bound=0.1,
    )
    client = APIClient()
    client.force_authenticate(user=None, token=member.deployment)
    leased = client.post("/api/v1/tasks/lease", {"lease_seconds": 10}, format="json").json()["tasks"][0]
    task = Task.from_json(leased)  # what the adapter reads
    assert task.base == base.body and task.base_hash == base.content_hash
    assert Portfolio.from_json(task.base).content_hash() == task.base_hash
    requeued = services.tasks_expire(now=timezone.now() + dt.timedelta(seconds=11))
    assert [row.base_id for row in requeued] == [base.pk]


def test_adapters_of_the_1_x_contract_get_no_tasks(federation):
    """1.x adapters signed only the value, not what it measures: a 2.0 server never asks (nor charges) them."""
    from registry.contract_defs import ADAPTER_CONTRACT_NAME, ADAPTER_CONTRACT_SCHEMAS
    from registry.services import contract_create, contract_mark_approved

    from .federation import synthetic_release

    contract_mark_approved(
        contract=contract_create(name=ADAPTER_CONTRACT_NAME, version="1.1.0", message_schemas=ADAPTER_CONTRACT_SCHEMAS)
    )
    old = synthetic_release("synthetic-old", [f"{ADAPTER_CONTRACT_NAME}@1.1.0"])
    stale = federation.members[0]
    stale.deployment.release = old
    stale.deployment.save(update_fields=["release"])
    outcome = orchestrator.run_portfolio_round(federation.settings(seed=3))
    asked = set(
        EvaluationTask.objects.filter(round=outcome.round).values_list("local_problem__participant__name", flat=True)
    )
    assert asked == {member.participant.name for member in federation.members[1:]}


def test_a_round_stopped_while_waiting_records_what_arrived_and_replays(federation, tmp_path, monkeypatch):
    activate("orchestration", {**PORTFOLIO_POLICY, "shortlist_size": 2})
    some = federation.members[:2]

    def half_of_them_answer(search_round, phase, settings, progress):
        for member in some:
            member.work()
        return False  # the other adapters never answer

    monkeypatch.setattr(orchestrator, "_wait", half_of_them_answer)
    outcome = orchestrator.run_portfolio_round(federation.settings(seed=3))
    assert (outcome.round.state, outcome.round.stop_reason) == ("stopped", "selection signals did not arrive in time")
    assert outcome.estimates and all(row["participants"] == 2 for row in outcome.estimates.values())
    assert backtest.replay(export(tmp_path)).verdict == "reproduced"


def test_a_refused_promotion_stops_the_round_instead_of_leaving_it_running(federation, monkeypatch):
    from django.db import IntegrityError

    from orchestration import services as round_services

    real = round_services.round_finish

    def conflicting(**kwargs):
        if kwargs.get("decision") is not None and kwargs["decision"].promote:
            raise IntegrityError("duplicate key value violates unique constraint portfolio_delta_unique_sequence")
        return real(**kwargs)

    monkeypatch.setattr(round_services, "round_finish", conflicting)
    outcome = orchestrator.run_portfolio_round(federation.settings(seed=3))
    assert outcome.round.state == "stopped" and outcome.round.stop_reason.startswith("promotion refused")
    assert not PortfolioDeltaRow.objects.exists()


def test_a_malformed_entry_is_a_divergence_not_a_traceback():
    entries = [{"index": 0, "kind": "round.started", "payload": {"round": 1, "kind": "portfolio"}}]
    with pytest.raises(backtest.Divergence, match="entry 0: a malformed round.started entry"):
        backtest._replay(iter(entries), [])
