"""Search rounds end to end in process: public shortlist, private selection and confirmation, promotion with a
delta, budgets never exceeded, delta-sync, and backtests that reproduce (or catch) every decision."""

import json
import random
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from adapters import delta as plan_delta
from adapters.drivers.synthetic import SyntheticDriver, SyntheticProblem, optimum
from adapters.ledger.export import ExportError
from adapters.plan import Plan as PlanFile
from adapters.plan import reference_plan
from adapters.portfolio import Portfolio
from adapters.search import Objective, search_space
from governance.models import LedgerEntry
from orchestration import backtest, decisions, orchestrator
from orchestration.models import PlanDelta, PrivacyBudget, SearchRound

from .federation import PROBLEM_CLASS, Federation

pytestmark = pytest.mark.django_db


@pytest.fixture
def federation(tmp_path, monkeypatch, adapter_contract):
    made = Federation(tmp_path)
    monkeypatch.setattr(orchestrator, "_wait", made.wait)
    return made


def test_a_round_promotes_a_plan_that_beats_the_reference(federation):
    outcome = orchestrator.run_round(federation.settings())
    search_round = outcome.round
    assert search_round.state == "finished" and outcome.promoted_version == 1, search_round.stop_reason
    kinds = list(
        LedgerEntry.objects.filter(subject=f"round:{search_round.pk}").order_by("index").values_list("kind", flat=True)
    )
    assert kinds == ["round.started", "round.shortlisted", "round.dispatched", "round.dispatched", "round.finished"]
    delta = PlanDelta.objects.get(problem_class=PROBLEM_CLASS, sequence=1)
    reference = reference_plan("synthetic")
    assert delta.parent.content_hash == reference.content_hash()
    child = plan_delta.apply(
        plan_delta.Delta.from_json(
            {"parent": delta.parent.content_hash, "child": delta.child.content_hash, "ops": delta.ops}
        ),
        reference,
    )
    assert child.content_hash() == delta.child.content_hash == search_round.result["winner"]
    promoted = LedgerEntry.objects.get(kind="plan.promoted")
    signals = set(
        LedgerEntry.objects.filter(kind="signal.accepted", payload__round=search_round.pk).values_list(
            "index", flat=True
        )
    )
    assert set(promoted.payload["evidence"]) == signals and len(signals) == 4 * (len(outcome.shortlist) + 1)
    estimate = promoted.payload["estimate"]
    assert estimate["participants"] == 4 and estimate["mean"] - 1.645 * estimate["std"] > 0.01


def test_rounds_stop_when_budgets_run_out_and_never_exceed_them(federation):
    states = []
    for seed in range(8):
        outcome = orchestrator.run_round(federation.settings(seed=seed))
        states.append((outcome.round.state, outcome.round.stop_reason))
        for budget in PrivacyBudget.objects.all():
            assert budget.rho_spent_nano <= budget.rho_limit_nano
        if outcome.round.state == "stopped":
            break
    assert states[-1] == ("stopped", "privacy budgets exhausted"), states
    assert SearchRound.objects.filter(state="stopped").count() == 1
    # No plan is sent to the participants twice from the same incumbent: that budget would buy nothing new.
    seen: dict[int, set[str]] = {}
    for search_round in SearchRound.objects.order_by("pk"):
        plans = set(
            search_round.tasks.filter(phase="selection")
            .exclude(plan=search_round.incumbent)  # the incumbent is measured afresh on purpose
            .values_list("plan__content_hash", flat=True)
        )
        earlier = seen.setdefault(search_round.incumbent_id, set())
        assert not plans & earlier, search_round.pk
        earlier |= set(search_round.tasks.values_list("plan__content_hash", flat=True))


def test_delta_sync_takes_a_client_from_any_version_to_the_current_plan(federation):
    orchestrator.run_round(federation.settings(seed=1))
    orchestrator.run_round(federation.settings(seed=2))
    client = APIClient()
    synced = client.get("/api/v1/plans/deltas", {"problem_class": PROBLEM_CLASS, "since": 0}).json()
    plan = reference_plan("synthetic")
    for item in synced["deltas"]:
        plan = plan_delta.apply(plan_delta.Delta.from_json({k: item[k] for k in ("parent", "child", "ops")}), plan)
    assert synced["version"] == len(synced["deltas"]) >= 1
    current = client.get(f"/api/v1/plans/{plan.content_hash()}").json()
    assert PlanFile.from_json(current["body"]) == plan
    assert client.get(f"/api/v1/plans/{current['id']}").json()["content_hash"] == plan.content_hash()
    beyond = client.get("/api/v1/plans/deltas", {"problem_class": PROBLEM_CLASS, "since": synced["version"] + 1})
    assert beyond.status_code == 400 and beyond.json()["code"] == "invalid_range"
    assert client.get("/api/v1/plans/" + "0" * 64).status_code == 404
    wrong_parent = plan_delta.Delta.from_json({k: synced["deltas"][-1][k] for k in ("parent", "child", "ops")})
    if synced["version"] >= 2:
        with pytest.raises(plan_delta.DeltaError):
            plan_delta.apply(wrong_parent, reference_plan("synthetic"))


def export(tmp_path: Path) -> Path:
    directory = tmp_path / "export"
    call_command("ledger", "checkpoint")
    call_command("ledger", "export", str(directory), "--no-progress")
    return directory


def test_backtest_reproduces_every_decision_byte_for_byte(federation, tmp_path):
    orchestrator.run_round(federation.settings(seed=3))
    orchestrator.run_round(federation.settings(strategy="random", seed=4))
    directory = export(tmp_path)
    first, second = tmp_path / "a.note", tmp_path / "b.note"
    call_command("backtest", "--export", str(directory), "--out", str(first), "--no-progress")
    call_command("backtest", "--export", str(directory), "--out", str(second), "--no-progress")
    assert first.read_bytes() == second.read_bytes()
    from governance.log_key import operator_signer

    vkey = operator_signer().verifier.vkey
    body = backtest.open_attestation(first.read_bytes(), vkey)
    assert body["verdict"] == "reproduced" and body["rounds"] == 2 and body["checkpoint"]["size"] > 0
    call_command("backtest", "verify", str(first), "--key", vkey)
    forged = first.read_bytes().replace(b'"reproduced"', b'"reproduces"')
    (tmp_path / "forged.note").write_bytes(forged)
    with pytest.raises(CommandError, match="does not verify"):
        call_command("backtest", "verify", str(tmp_path / "forged.note"), "--key", vkey)


def test_backtest_catches_a_tampered_export_and_a_changed_rule(federation, tmp_path, monkeypatch):
    orchestrator.run_round(federation.settings(seed=5))
    directory = export(tmp_path)
    entries = directory / "entries.jsonl"
    original = entries.read_bytes()
    entries.write_bytes(original.replace(b'"round.shortlisted"', b'"round.shortlistes"', 1))
    with pytest.raises(ExportError) as caught:
        backtest.replay(directory)
    assert caught.value.first_bad_index is not None or "root" in str(caught.value)
    entries.write_bytes(original)
    assert backtest.replay(directory).verdict == "reproduced"

    real = decisions.promotion_decision
    monkeypatch.setattr(decisions, "promotion_decision", lambda c, i, policy: real(c, i, {**policy, "min_margin": 0.5}))
    changed = backtest.replay(directory)
    assert changed.verdict == "diverged" and "promotion rule" in changed.divergence and "round" in changed.divergence
    with pytest.raises(CommandError, match="diverged at entry"):
        call_command("backtest", "--export", str(directory), "--out", str(tmp_path / "c.note"), "--no-progress")


@pytest.mark.parametrize("strategy", ["random", "greedy", "evolutionary"])
def test_each_strategy_finds_the_synthetic_optimum_without_noise(tmp_path, strategy):
    driver = SyntheticDriver(problem=SyntheticProblem(seed=3, passes=8, length=3, crash_pairs=1))
    from adapters.drivers.synthetic import write_corpus

    corpus = write_corpus(tmp_path, driver.problem, count=4)
    objective = Objective(driver, corpus)
    space = search_space(driver)
    found = decisions.drive_strategy(strategy, space, 11, 3000, objective.evaluate)
    best = min(found, key=lambda e: e.score)
    assert best.plan == optimum(driver.problem)


def test_the_promotion_rule_keeps_false_promotions_within_the_policy_rate():
    """At the demo's settings (m = 20, c = 0.1, n = 250, four participants), a candidate whose true gain is at
    the margin (never better) is promoted at most at rate 1 - confidence."""
    policy = {"min_margin": 0.01, "min_participants": 2, "confidence": 0.95}
    rng = random.Random(2026)
    std = 20 * 2 * 0.1 / 250
    trials, promoted = 4000, 0
    for _ in range(trials):
        observations = [decisions.Observation(f"p{i}", 0.01 + rng.gauss(0, std), 250, 20.0, 0.1) for i in range(4)]
        promoted += decisions.promotion_decision(decisions.aggregate(observations), None, policy).promote
    rate = promoted / trials
    assert rate <= 0.05 + 3 * (0.05 * 0.95 / trials) ** 0.5, rate
    assert rate > 0.02  # the rule is not vacuous: at the boundary it promotes near the stated rate


def test_choose_noise_fits_the_tightest_budget():
    from orchestration.accounting import rho_limit_nano, rho_nano_of_noise_multiplier

    limit = rho_limit_nano(1.0, 1e-6)
    multiplier, releases = decisions.choose_noise(limit, 5, minimum=20.0, maximum=40.0)
    assert multiplier == 20.0 and releases == 5
    multiplier, releases = decisions.choose_noise(limit, 30, minimum=20.0, maximum=40.0)
    assert 20.0 < multiplier <= 40.0 and releases * rho_nano_of_noise_multiplier(multiplier) <= limit
    assert decisions.choose_noise(0, 3, minimum=20.0, maximum=40.0)[1] == 0


@pytest.mark.django_db(transaction=True)
def test_opm_adapter_sync_follows_promotions_over_http(federation, live_server, tmp_path):
    from adapters.sdk import MarketClient
    from adapters.sync import initial_state, sync

    state = initial_state(PROBLEM_CLASS)
    with MarketClient(live_server.url) as client:
        assert sync(client, state).version == 0  # nothing promoted yet
        orchestrator.run_round(federation.settings(seed=8))
        synced = sync(client, state)
    version, plan = plan_delta_current()
    assert (synced.version, synced.plan.content_hash()) == (version, plan.content_hash) and version >= 1


def plan_delta_current():
    from orchestration.services import plan_current

    return plan_current(problem_class=PROBLEM_CLASS)


def test_orchestrate_and_plan_export_commands(federation, tmp_path, capsys, monkeypatch):
    from orchestration import public_corpus

    monkeypatch.setattr(public_corpus, "public_corpus", lambda problem_class, subsets=None: federation.public)
    monkeypatch.setattr("orchestration.management.commands.orchestrate.public_corpus", public_corpus.public_corpus)
    call_command(
        "orchestrate",
        "--problem-class",
        PROBLEM_CLASS,
        "--kind",
        "plan",
        "--strategy",
        "greedy",
        "--rounds",
        "1",
        "--seed",
        "3",
    )
    out = capsys.readouterr().out
    assert "summary" in out and "finished" in out and "v1" in out
    target = tmp_path / "plan.json"
    call_command("plan", "export", "--promoted", PROBLEM_CLASS, "-o", str(target))
    exported = Portfolio.from_json(json.loads(target.read_text()))  # a promoted plan is a portfolio of one
    delta = PlanDelta.objects.get(problem_class=PROBLEM_CLASS, sequence=1)
    assert [member.content_hash() for member in exported.members] == [delta.child.content_hash]
    call_command("plan", "export", delta.child.content_hash[:12], "-o", str(tmp_path / "again.json"))
    again = PlanFile.from_json(json.loads((tmp_path / "again.json").read_text()))
    assert again == exported.members[0]
    with pytest.raises(CommandError, match="no plan"):
        call_command("plan", "export", "0" * 64, "-o", str(tmp_path / "x.json"))
    with pytest.raises(CommandError, match="either"):
        call_command("plan", "export", "-o", str(tmp_path / "x.json"))
    monkeypatch.setattr("orchestration.tasks.public_corpus", public_corpus.public_corpus)
    call_command(
        "orchestrate",
        "--problem-class",
        PROBLEM_CLASS,
        "--kind",
        "plan",
        "--rounds",
        "1",
        "--seed",
        "4",
        "--background",
    )
    assert "enqueued as task" in capsys.readouterr().out  # the immediate backend ran it in place
    assert SearchRound.objects.filter(seed=4, state__in=["finished", "stopped"]).exists()
    with pytest.raises(CommandError, match="toolchain/objective"):
        call_command("orchestrate", "--problem-class", "nonsense")
    with pytest.raises(CommandError, match="needs --export"):
        call_command("backtest")


def test_a_round_whose_signals_never_come_stops_and_still_replays(federation, tmp_path, monkeypatch):
    """Adapters that stop answering: the round stops with its reason, and the backtest accepts the record."""
    calls = []

    def wait_then_give_up(search_round, phase, settings, progress):
        calls.append(phase)
        if phase == "selection":
            return federation.wait(search_round, phase, settings, progress)
        return False  # the confirmation signals never arrive

    monkeypatch.setattr(orchestrator, "_wait", wait_then_give_up)
    outcome = orchestrator.run_round(federation.settings(seed=9))
    assert calls == ["selection", "confirmation"]
    assert (outcome.round.state, outcome.round.stop_reason) == (
        "stopped",
        "confirmation signals did not arrive in time",
    )
    assert not PlanDelta.objects.exists()
    assert backtest.replay(export(tmp_path)).verdict == "reproduced"


def test_a_round_without_enough_participants_stops_before_spending(federation):
    from .federation import ORCHESTRATION, activate

    activate("orchestration", {**ORCHESTRATION, "min_participants": 5})
    outcome = orchestrator.run_round(federation.settings(seed=10))
    assert (outcome.round.state, outcome.round.stop_reason) == ("stopped", "4 participant(s) enrolled for the class")
    assert not PrivacyBudget.objects.filter(rho_spent_nano__gt=0).exists()


def test_a_round_that_loses_its_database_stops_with_the_reason_and_still_replays(federation, tmp_path, monkeypatch):
    """A step that loses the database (a restart outside a wait) must not leave the round running."""
    from django.db import OperationalError

    def database_gone(search_round, phase, settings, progress):
        if phase == "confirmation":
            raise OperationalError("terminating connection due to unexpected postmaster exit\nmore")
        return federation.wait(search_round, phase, settings, progress)

    monkeypatch.setattr(orchestrator, "_wait", database_gone)
    outcome = orchestrator.run_round(federation.settings(seed=11))
    assert (outcome.round.state, outcome.round.stop_reason) == (
        "stopped",
        "database unavailable: terminating connection due to unexpected postmaster exit",
    )
    finished = LedgerEntry.objects.get(kind="round.finished", subject=f"round:{outcome.round.pk}")
    assert finished.payload["state"] == "stopped"
    assert backtest.replay(export(tmp_path)).verdict == "reproduced"


def test_waiting_for_signals_rides_out_a_database_outage(monkeypatch):
    """The real wait: a poll that fails on a dropped connection is retried, not raised."""
    from django.db import InterfaceError, OperationalError

    answers = iter([OperationalError("connection refused"), InterfaceError("connection already closed"), 2, 0])

    def open_tasks(**kwargs):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(orchestrator.selectors, "round_open_tasks", open_tasks)
    monkeypatch.setattr(orchestrator.services, "tasks_expire", lambda: [])
    said: list[str] = []
    settings = orchestrator.RoundSettings(PROBLEM_CLASS, "greedy", [], seed=1, wait_seconds=30, poll_seconds=0)
    assert orchestrator._wait(None, "selection", settings, said.append) is True
    assert [line.strip() for line in said] == [
        "selection: database unavailable, waiting (connection refused)",
        "selection: database unavailable, waiting (connection already closed)",
        "selection: 2 task(s) still open",
    ]
