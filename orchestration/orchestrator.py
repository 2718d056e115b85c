"""Runs search rounds (docs/design.md §4, §8, §8b): free search on public code, then private budget spent only
to choose among the shortlist (selection) and to confirm that the choice generalises (confirmation).

A plan round looks for a plan that beats the class's current plan; a portfolio round looks for one more
member of the class's portfolio: a free per-program search over the public corpus fills a pool, the pool
plans with the largest public marginal gain over the portfolio are shortlisted, and the participants
release each one's marginal gain on their private code.

The runner is not a transaction: each step is a service with its own transaction and ledger entry, and the
runner waits between steps for the adapters to lease tasks and send signals over the API. Every decision goes
through `orchestration.decisions`, which the backtest calls again on the recorded history.

The runner is a long-lived process outside Django's request cycle, so it drops connections the database
closed (a restart) itself: while it waits it rides out an outage, and a started round that loses its database
for good is closed as stopped with that reason once the database is back, never left running.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, close_old_connections, connection
from tqdm import tqdm

from adapters.cache import Cache
from adapters.drivers import get_driver
from adapters.measurements import MeasurementStore
from adapters.plan import Plan as PlanFile
from adapters.plan import problem_toolchain, reference_plan
from adapters.portfolio import Portfolio as PortfolioFile
from adapters.privacy import RANGE_WIDTH, statistic_for
from adapters.search import Evaluation, Objective, search_per_program, search_space
from adapters.search.objective import unmeasurable
from governance.policy_schemas import ORCHESTRATION_DEFAULTS
from governance.selectors import policy_active
from governance.services import checkpoint_issue
from opm_site.errors import ErrorCode, OpmError
from orchestration import decisions, selectors, services
from orchestration.models import Plan, RoundKind, RoundState, SearchRound

Progress = Callable[[str], None]
DATABASE_ERRORS = (OperationalError, InterfaceError)
"""A lost or refused connection: the database restarting, not a rule failing."""
STOP_RETRY_SECONDS = 300.0
"""How long a round that lost its database keeps trying to record that it stopped."""


@dataclasses.dataclass(frozen=True)
class RoundSettings:
    problem_class: str
    strategy: str
    public_corpus: Sequence[Path]
    seed: int | None = None
    wait_seconds: float = 600.0
    poll_seconds: float = 0.5


@dataclasses.dataclass(frozen=True)
class RoundOutcome:
    round: SearchRound
    shortlist: list[str]
    estimates: dict[str, dict[str, Any]]
    promoted_version: int | None


def _observations(search_round: SearchRound, phase: str) -> tuple[dict[str, list[decisions.Observation]], list[int]]:
    by_plan: dict[str, list[decisions.Observation]] = {}
    evidence = []
    for signal in selectors.round_signals(search_round=search_round, phase=phase):
        task = signal.task
        by_plan.setdefault(task.plan.content_hash, []).append(
            decisions.Observation(
                participant=task.local_problem.participant.name,
                value=signal.value,
                corpus_size=signal.corpus_size,
                noise_multiplier=task.noise_multiplier,
                clip_bound=task.clip_bound,
                width=RANGE_WIDTH[statistic_for(task.base_id)],
            )
        )
        evidence.append(signal.ledger_index)
    return by_plan, evidence


def _wait(search_round: SearchRound, phase: str, settings: RoundSettings, progress: Progress) -> bool:
    """Wait until no task of the phase is queued or leased (expired leases are requeued meanwhile)."""
    deadline = time.monotonic() + settings.wait_seconds
    last = None
    while True:
        _reconnect_if_dropped()  # a connection the database dropped is replaced, not used
        try:
            open_tasks = selectors.round_open_tasks(search_round=search_round, phase=phase)
            if open_tasks == 0:
                return True
            if open_tasks != last:
                progress(f"    {phase}: {open_tasks} task(s) still open")
                last = open_tasks
            services.tasks_expire()
        except DATABASE_ERRORS as exc:
            progress(f"    {phase}: database unavailable, waiting ({_first_line(exc)})")
        if time.monotonic() > deadline:
            return False
        time.sleep(settings.poll_seconds)


def _reconnect_if_dropped() -> None:
    """Replace a connection the database dropped (a restart) before the next step uses it: Django does this
    for each request, the runner is one long process. Never inside a transaction (tests run in one)."""
    if not connection.in_atomic_block:
        close_old_connections()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]


def _closing_on_database_loss(search_round: SearchRound, steps: Callable[[], RoundOutcome]) -> RoundOutcome:
    """Run a started round's remaining steps. If a step loses the database (a restart outside a wait), the
    round is recorded as stopped, with that reason, as soon as the database answers again."""
    try:
        return steps()
    except DATABASE_ERRORS as exc:
        reason = f"database unavailable: {_first_line(exc)}"
    deadline = time.monotonic() + STOP_RETRY_SECONDS
    while True:
        _reconnect_if_dropped()
        try:
            return _finish(search_round, RoundState.STOPPED, reason, {})
        except OpmError:  # the failing step's commit went through after all and closed the round
            search_round.refresh_from_db()
            return RoundOutcome(search_round, search_round.result.get("shortlist", []), {}, None)
        except DATABASE_ERRORS:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def public_search(
    problem_class: str,
    strategy: str,
    seed: int,
    incumbent: PlanFile,
    corpus: Sequence[Path],
    budget: int,
    show_progress: bool = True,
) -> tuple[dict[str, Any], float, list[Evaluation]]:
    """The free part: search the public corpus from the incumbent. Returns (space, start score, evaluations)."""
    driver = get_driver(problem_toolchain(problem_class))
    space = dataclasses.replace(search_space(driver), start=incumbent)
    objective = Objective(driver, list(corpus), cache=Cache(Path(settings.VAR_DIR) / "adapter-cache"))
    start = objective.evaluate(incumbent) if incumbent.passes != () or incumbent.knobs else None
    start_score = 1.0 if start is None or not start.ok else start.score

    with tqdm(total=budget, desc="  public search", unit="plan", file=sys.stderr, disable=not show_progress) as bar:

        def evaluate(plan: PlanFile) -> Evaluation | None:
            if objective.rejection(plan) is not None:
                return None
            bar.update()
            return objective.evaluate(plan)

        evaluations = decisions.drive_strategy(strategy, space, seed, budget, evaluate, start_score=start_score)
    return decisions.space_to_json(space), start_score, evaluations


def _policies() -> tuple[dict[str, Any], dict[str, Any]]:
    """The active orchestration policy (over its defaults) and privacy policy; 409 while either is missing."""
    orchestration = policy_active(kind="orchestration")
    privacy = policy_active(kind="privacy")
    if orchestration is None or privacy is None:
        raise OpmError(
            ErrorCode.VALIDATION_FAILED, "the board must activate an orchestration and a privacy policy", status=409
        )
    return {**ORCHESTRATION_DEFAULTS, **orchestration.document}, privacy.document


def run_round(settings: RoundSettings, progress: Progress = lambda line: None) -> RoundOutcome:
    """One round for a problem class; stops cleanly (state and reason recorded) when budgets run out."""
    _reconnect_if_dropped()
    policy, privacy = _policies()
    seed = settings.seed if settings.seed is not None else secrets.randbelow(2**62)
    _, incumbent_row = services.plan_current(problem_class=settings.problem_class)
    incumbent = PlanFile.from_json(incumbent_row.body)

    progress(f"  public search ({settings.strategy}, {policy['public_budget']} evaluations, seed {seed})")
    space, start_score, evaluations = public_search(
        settings.problem_class, settings.strategy, seed, incumbent, settings.public_corpus, policy["public_budget"]
    )
    _reconnect_if_dropped()  # the search took a while: the connection may have been dropped meanwhile
    search_round = services.round_start(
        problem_class=settings.problem_class, strategy=settings.strategy, seed=seed, space=space
    )
    return _closing_on_database_loss(
        search_round,
        lambda: _plan_round_steps(
            search_round, settings, progress, policy, privacy, incumbent_row, evaluations, start_score
        ),
    )


def _plan_round_steps(
    search_round: SearchRound,
    settings: RoundSettings,
    progress: Progress,
    policy: dict[str, Any],
    privacy: dict[str, Any],
    incumbent_row: Plan,
    evaluations: list[Evaluation],
    start_score: float,
) -> RoundOutcome:
    """A plan round after its start: shortlist, selection, confirmation."""
    short = decisions.shortlist(evaluations, policy["shortlist_size"], start_score, search_round.result["tried"])
    services.round_shortlist(
        search_round=search_round, start_score=start_score, evaluations=evaluations, shortlist=short
    )
    best = min((e.score for e in evaluations), default=start_score)
    progress(f"  shortlist: {len(short)} plan(s), best public ratio {best:.4f} (incumbent {start_score:.4f})")
    if not short:
        return _finish(search_round, RoundState.FINISHED, "no plan beat the incumbent on public code", {})

    # Plan the private spend: selection (one release per shortlisted plan, plus the incumbent if it is not
    # the reference) and confirmation (the winner, plus the incumbent), all within the tightest budget.
    problems = selectors.problems_for_class(problem_class=settings.problem_class)
    if len(problems) < policy["min_participants"]:
        return _finish(search_round, RoundState.STOPPED, f"{len(problems)} participant(s) enrolled for the class", {})
    with_incumbent = incumbent_row.content_hash != services.plan_row(_reference(settings.problem_class)).content_hash
    extra = 1 if with_incumbent else 0
    remaining = min(selectors.budget_remaining_nano(participant=p.participant) for p in problems)
    multiplier, releases = decisions.choose_noise(
        remaining,
        len(short) + extra + 1 + extra,
        minimum=privacy["min_noise_multiplier"],
        maximum=policy["max_noise_multiplier"],
    )
    selection_count = releases - 1 - 2 * extra
    if selection_count < 1:
        return _finish(search_round, RoundState.STOPPED, "privacy budgets exhausted", {})
    short = short[:selection_count]
    clip = privacy["clip_bound"]
    rows = [services.plan_row(plan) for plan in short] + ([incumbent_row] if with_incumbent else [])
    progress(f"  selection: {len(rows)} plan(s) x {len(problems)} participant(s) at noise multiplier {multiplier}")
    selected = _select(search_round, settings, progress, rows, multiplier, clip, leave_out=incumbent_row.content_hash)
    if isinstance(selected, RoundOutcome):
        return selected
    winner, shown, evidence = selected

    progress(f"  confirmation: plan {winner[:12]} on fresh signals")
    return _confirm(
        search_round,
        settings,
        progress,
        Confirmation(
            winner=winner,
            incumbent=incumbent_row if with_incumbent else None,
            multiplier=multiplier,
            clip=clip,
            policy=policy,
            shortlist=[p.content_hash() for p in short],
            shown=shown,
            evidence=evidence,
        ),
    )


@dataclasses.dataclass
class Confirmation:
    """What the confirmation phase needs: the winner, the incumbent plan a plan round measures it against
    (None: a marginal gain or the reference, already relative), the noise, and the round's record so far."""

    winner: str
    incumbent: Plan | None
    multiplier: float
    clip: float
    policy: dict[str, Any]
    shortlist: list[str]
    shown: dict[str, Any]
    evidence: list[int]


def _confirm(
    search_round: SearchRound, settings: RoundSettings, progress: Progress, step: Confirmation
) -> RoundOutcome:
    """Ask for the winner (and a plan round's incumbent) again on fresh signals, apply the promotion rule and
    close the round: shared by plan and portfolio rounds."""
    plans = [Plan.objects.get(content_hash=step.winner), *([step.incumbent] if step.incumbent else [])]
    services.round_dispatch(
        search_round=search_round,
        phase="confirmation",
        plans=plans,
        noise_multiplier=step.multiplier,
        clip_bound=step.clip,
    )
    if not _wait(search_round, "confirmation", settings, progress):
        return _finish(search_round, RoundState.STOPPED, "confirmation signals did not arrive in time", step.shown)
    confirmed, more = _observations(search_round, "confirmation")
    candidate = decisions.aggregate(confirmed.get(step.winner, []))
    base = decisions.aggregate(confirmed.get(step.incumbent.content_hash, [])) if step.incumbent else None
    decision = decisions.promotion_decision(candidate, base, step.policy)
    try:
        promoted = services.round_finish(
            search_round=search_round,
            state=RoundState.FINISHED,
            reason=decision.reason,
            estimates=step.shown,
            winner=step.winner,
            decision=decision,
            confirmation=candidate,
            evidence=[*step.evidence, *more],
        )
    except (OpmError, IntegrityError) as exc:  # another round promoted first: this one closes, promoting nothing
        detail = exc.detail if isinstance(exc, OpmError) else "another round promoted the same version first"
        return _finish(search_round, RoundState.STOPPED, f"promotion refused: {detail}", step.shown)
    checkpoint_issue()
    search_round.refresh_from_db()
    return RoundOutcome(search_round, step.shortlist, step.shown, promoted and promoted.sequence)


# --- portfolio rounds ----------------------------------------------------------------------------------


POOL_WARM_START = 8
"""Each public program's search first tries the 8 best plans of the programs searched before it."""


@dataclasses.dataclass(frozen=True)
class Pool:
    """The free public part of a portfolio round: reference sizes on the public programs, the pool's plans
    with their sizes there, and the current members' sizes (None: that build failed verification)."""

    programs: list[str]
    reference: list[int]
    candidates: list[tuple[PlanFile, list[int | None]]]
    base_sizes: dict[str, list[int | None]]


def pool_search(
    problem_class: str,
    strategy: str,
    seed: int,
    base: PortfolioFile,
    corpus: Sequence[Path],
    budget: int,
    show_progress: bool = True,
) -> Pool:
    """Per-program search on the public corpus (free), each program's best plan into the pool, then every
    pool plan and member measured on every public program. Measurements are kept in the site's adapter
    cache, so a later round with the same seed repeats none of it."""
    driver = get_driver(problem_toolchain(problem_class))
    cache = Cache(Path(settings.VAR_DIR) / "adapter-cache")
    programs = [Path(program) for program in corpus if unmeasurable(driver, Path(program)) is None]
    jobs = max(1, min(4, os.cpu_count() or 1))
    total = budget * len(programs)
    with tqdm(total=total, desc="  public pool search", unit="plan", file=sys.stderr, disable=not show_progress) as bar:
        found = search_per_program(
            driver,
            programs,
            strategy=strategy,
            budget=budget,
            seed=seed,
            jobs=jobs,
            cache=cache,
            progress=lambda _: bar.update(),
        )
    members = {member.content_hash() for member in base.members}
    pool = decisions.pool_plans([(result.best.plan, result.best.score) for result in found.results], members)
    store = MeasurementStore(driver, cache)
    plans = [*pool, *base.members]
    pairs = [(plan, program) for plan in plans for program in programs]
    with (
        ThreadPoolExecutor(max_workers=jobs) as workers,
        tqdm(total=len(pairs), desc="  public sizes", unit="build", file=sys.stderr, disable=not show_progress) as bar,
    ):

        def size(pair: tuple[PlanFile, Path]) -> int | None:
            measured = store.measure(*pair)
            bar.update()
            return measured.text_bytes if measured.ok else None

        flat = list(workers.map(size, pairs))
    sizes = {plan: flat[i * len(programs) : (i + 1) * len(programs)] for i, plan in enumerate(plans)}
    return Pool(
        programs=[driver.program_name(program) for program in programs],
        reference=[int(driver.reference(program).text_bytes or 0) for program in programs],
        candidates=[(plan, sizes[plan]) for plan in pool],
        base_sizes={member.content_hash(): sizes[member] for member in base.members},
    )


def run_portfolio_round(settings: RoundSettings, progress: Progress = lambda line: None) -> RoundOutcome:
    """One portfolio round: look for the member that adds most to the class's portfolio and promote it when
    fresh private signals confirm its marginal gain clears the policy's margin at its confidence."""
    _reconnect_if_dropped()
    policy, privacy = _policies()
    version, current = selectors.portfolio_current(problem_class=settings.problem_class)
    if len(current.members) >= policy["portfolio_size"]:
        raise OpmError(
            ErrorCode.VALIDATION_FAILED,
            f"{settings.problem_class}'s portfolio v{version} already holds {len(current.members)} plans, "
            f"the policy's portfolio_size",
            status=409,
        )
    seed = settings.seed if settings.seed is not None else secrets.randbelow(2**62)
    strategy, budget = policy["pool_strategy"], policy["pool_budget"]
    driver = get_driver(problem_toolchain(settings.problem_class))
    space = decisions.space_to_json(search_space(driver))
    search_round = services.round_start(
        problem_class=settings.problem_class,
        strategy=strategy,
        seed=seed,
        space=space,
        kind=RoundKind.PORTFOLIO,
        pool={
            "strategy": strategy,
            "budget_per_program": budget,
            "warm_start": POOL_WARM_START,
            "programs": len(settings.public_corpus),
        },
    )
    return _closing_on_database_loss(
        search_round, lambda: _portfolio_round_steps(search_round, settings, progress, policy, privacy, version)
    )


def _portfolio_round_steps(
    search_round: SearchRound,
    settings: RoundSettings,
    progress: Progress,
    policy: dict[str, Any],
    privacy: dict[str, Any],
    version: int,
) -> RoundOutcome:
    """A portfolio round after its start: the pool, selection, confirmation."""
    strategy, budget = policy["pool_strategy"], policy["pool_budget"]
    base = PortfolioFile.from_json(search_round.base.body)  # as the round recorded it, should it have moved
    progress(
        f"  portfolio v{version} ({len(base.members)} of {policy['portfolio_size']} members): public pool search "
        f"({strategy}, {budget} evaluations per program, seed {search_round.seed})"
    )
    pool = pool_search(settings.problem_class, strategy, search_round.seed, base, settings.public_corpus, budget)
    _reconnect_if_dropped()  # the pool search took a while: the connection may have been dropped meanwhile
    clip = privacy["clip_bound"]
    candidate_sizes = {plan.content_hash(): sizes for plan, sizes in pool.candidates}
    gains = decisions.public_marginal_gains(pool.reference, list(pool.base_sizes.values()), candidate_sizes, clip)
    short = decisions.portfolio_shortlist(gains, policy["shortlist_size"], search_round.result["tried"])
    services.round_pool(
        search_round=search_round,
        reference=pool.reference,
        candidates=pool.candidates,
        base_sizes=pool.base_sizes,
        gains=gains,
        shortlist=short,
    )
    best = max(gains.values(), default=0.0)
    progress(f"  pool: {len(pool.candidates)} plan(s); shortlist {len(short)}, best public marginal gain {best:.4f}")
    if not short:
        return _finish(
            search_round, RoundState.FINISHED, "no untried pool plan adds to the portfolio on public code", {}
        )

    problems = selectors.problems_for_class(problem_class=settings.problem_class)
    if len(problems) < policy["min_participants"]:
        return _finish(search_round, RoundState.STOPPED, f"{len(problems)} participant(s) enrolled for the class", {})
    remaining = min(selectors.budget_remaining_nano(participant=p.participant) for p in problems)
    multiplier, releases = decisions.choose_noise(
        remaining,
        decisions.portfolio_releases(len(short)),
        minimum=privacy["min_noise_multiplier"],
        maximum=policy["max_noise_multiplier"],
    )
    if releases < 1:
        return _finish(search_round, RoundState.STOPPED, "privacy budgets exhausted", {})
    chosen = decisions.portfolio_selection(short, releases)
    shown: dict[str, Any] = {}
    evidence: list[int] = []
    if not chosen:  # one candidate, or budget for one release: the public ranking chooses, signals confirm
        winner = short[0]
        progress("  selection: none (the public shortlist's best goes straight to confirmation)")
    else:
        rows = [Plan.objects.get(content_hash=plan_hash) for plan_hash in chosen]
        progress(
            f"  selection: {len(rows)} candidate(s) x {len(problems)} participant(s) at noise multiplier {multiplier}"
        )
        selected = _select(search_round, settings, progress, rows, multiplier, clip)
        if isinstance(selected, RoundOutcome):
            return selected
        winner, shown, evidence = selected

    progress(f"  confirmation: candidate {winner[:12]}'s marginal gain on fresh signals")
    return _confirm(
        search_round,
        settings,
        progress,
        Confirmation(
            winner=winner,
            incumbent=None,
            multiplier=multiplier,
            clip=clip,
            policy=policy,
            shortlist=short,
            shown=shown,
            evidence=evidence,
        ),
    )


def _select(
    search_round: SearchRound,
    settings: RoundSettings,
    progress: Progress,
    rows: Sequence[Plan],
    multiplier: float,
    clip: float,
    leave_out: str | None = None,
) -> tuple[str, dict[str, Any], list[int]] | RoundOutcome:
    """The selection phase of either kind of round: dispatch `rows`, wait for the signals, and pick the best
    estimate (never `leave_out`, a plan round's incumbent). Returns the winner, the estimates as the round
    records them and their ledger entries, or the outcome of a round that stopped here."""
    services.round_dispatch(
        search_round=search_round, phase="selection", plans=rows, noise_multiplier=multiplier, clip_bound=clip
    )
    if not _wait(search_round, "selection", settings, progress):
        return _finish(
            search_round, RoundState.STOPPED, "selection signals did not arrive in time", _seen(search_round, rows)
        )
    estimates, shown, evidence = _selection_estimates(search_round, rows)
    winner = decisions.select_winner({plan: e for plan, e in estimates.items() if plan != leave_out})
    if winner is None:
        return _finish(search_round, RoundState.STOPPED, "no selection signal arrived", shown)
    return winner, shown, evidence


def _selection_estimates(
    search_round: SearchRound, rows: Sequence[Plan]
) -> tuple[dict[str, decisions.Estimate | None], dict[str, Any], list[int]]:
    """Each selected plan's estimate from the selection signals that arrived, those estimates as the round
    records them (plans without a signal left out), and the signals' ledger entries."""
    by_plan, evidence = _observations(search_round, "selection")
    estimates = {row.content_hash: decisions.aggregate(by_plan.get(row.content_hash, [])) for row in rows}
    shown = {plan: estimate.to_json() for plan, estimate in estimates.items() if estimate is not None}
    return estimates, shown, evidence


def _seen(search_round: SearchRound, rows: Sequence[Plan]) -> dict[str, Any]:
    """The selection estimates of the signals that did arrive: what a round stopped while waiting records."""
    return _selection_estimates(search_round, rows)[1]


def _reference(problem_class: str) -> PlanFile:
    return reference_plan(problem_toolchain(problem_class))


def _finish(search_round: SearchRound, state: str, reason: str, estimates: dict) -> RoundOutcome:
    services.round_finish(search_round=search_round, state=state, reason=reason, estimates=estimates)
    checkpoint_issue()
    search_round.refresh_from_db()
    return RoundOutcome(search_round, search_round.result.get("shortlist", []), estimates, None)
