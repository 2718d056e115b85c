"""Search rounds (docs/design.md §8): each step of a round is one transaction with its ledger entry, so the
ledger alone tells how every plan and portfolio came to be and `manage.py backtest` can replay it.

Plan rounds: round.started (seed, space, policy) -> round.shortlisted (free public evaluations) ->
round.dispatched (selection) -> round.dispatched (confirmation) -> plan.promoted? -> round.finished.
Portfolio rounds: round.started (the current portfolio, the pool's search settings) -> round.pooled (the
free per-program search's pool, its public sizes and marginal gains, the shortlist) -> round.dispatched
(selection: marginal gains over the portfolio) -> round.dispatched (confirmation) -> portfolio.promoted?
-> round.finished.
"""

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from adapters import delta as plan_delta
from adapters import portfolio as portfolio_file
from adapters.plan import Plan as PlanFile
from adapters.plan import problem_toolchain, reference_plan
from adapters.search import Evaluation
from governance.models import Policy
from governance.policy_schemas import ORCHESTRATION_DEFAULTS
from governance.selectors import policy_active
from opm_site.errors import ErrorCode, OpmError
from orchestration import accounting, events, selectors
from orchestration.decisions import Decision, Estimate
from orchestration.models import (
    EvaluationTask,
    Plan,
    PlanDelta,
    Portfolio,
    PortfolioDelta,
    PortfolioMember,
    PrivacyBudget,
    RoundKind,
    RoundState,
    SearchRound,
)

SYSTEM = events.SYSTEM


def plan_row(plan: PlanFile) -> Plan:
    """The content-addressed Plan row of a plan file (created on first use)."""
    row, _ = Plan.objects.get_or_create(
        content_hash=plan.content_hash(), defaults={"toolchain": plan.toolchain, "body": plan.to_json()}
    )
    return row


def portfolio_row(portfolio: portfolio_file.Portfolio) -> Portfolio:
    """The content-addressed Portfolio row of a portfolio (created on first use, with its member rows)."""
    digest = portfolio.content_hash()
    row = Portfolio.objects.filter(content_hash=digest).first()
    if row is not None:
        return row
    with transaction.atomic():  # a savepoint: a concurrent creation of the same portfolio wins cleanly
        row, created = Portfolio.objects.get_or_create(
            content_hash=digest, defaults={"toolchain": portfolio.toolchain, "body": portfolio.to_json()}
        )
        if created:
            PortfolioMember.objects.bulk_create(
                PortfolioMember(portfolio=row, plan=plan_row(member), position=position)
                for position, member in enumerate(portfolio.members)
            )
    return row


def plan_current(*, problem_class: str) -> tuple[int, Plan]:
    """The class's current version and plan; version 0 is the toolchain's reference plan."""
    latest = selectors.plan_latest_delta(problem_class=problem_class)
    if latest is not None:
        return latest.sequence, latest.child
    return 0, plan_row(reference_plan(problem_toolchain(problem_class)))


def _policy(kind: str) -> Policy:
    policy = policy_active(kind=kind)
    if policy is None:
        code = ErrorCode.NO_PRIVACY_POLICY if kind == "privacy" else ErrorCode.VALIDATION_FAILED
        raise OpmError(code, f"no active {kind} policy: the board must activate one first", status=409)
    return policy


def round_start(
    *,
    problem_class: str,
    strategy: str,
    seed: int,
    space: dict[str, Any],
    kind: str = RoundKind.PLAN,
    pool: dict[str, Any] | None = None,
    actor: str = SYSTEM,
) -> SearchRound:
    """Open a round from the problem class's current plan (or, for a portfolio round, its current portfolio),
    recording everything its replay needs."""
    toolchain = problem_toolchain(problem_class)
    orchestration, privacy = _policy("orchestration"), _policy("privacy")
    with transaction.atomic(durable=True):
        if kind == RoundKind.PORTFOLIO:
            version, current = selectors.portfolio_current(problem_class=problem_class)
            start = portfolio_row(current)
            incumbent, base = None, start
        else:
            version, start = plan_current(problem_class=problem_class)
            if start.content_hash != PlanFile.from_json(space["start"]).content_hash():
                raise OpmError(ErrorCode.VALIDATION_FAILED, "the search space must start from the current plan")
            incumbent, base = start, None
        search_round = SearchRound.objects.create(
            problem_class=problem_class,
            toolchain=toolchain,
            kind=kind,
            strategy=strategy,
            seed=seed,
            state=RoundState.RUNNING,
            incumbent=incumbent,
            base=base,
            started_at=timezone.now(),
        )
        events.record_round_started(
            search_round=search_round,
            actor=actor,
            version=version,
            start=start,
            space=space,
            policy={
                "orchestration": {"version": orchestration.version, "document": _with_defaults(orchestration)},
                "privacy": {"version": privacy.version, "document": privacy.document},
            },
            pool=pool,
        )
        # Plans already asked about from the same start, read under the ledger's lock, so the set is exactly
        # what the ledger shows before this round.started entry: the backtest recomputes it there.
        if kind == RoundKind.PORTFOLIO:
            tried = selectors.portfolio_candidates_tried(problem_class=problem_class, base=start)
        else:
            tried = selectors.plans_tried(problem_class=problem_class, incumbent=start)
        search_round.result = {"tried": sorted(tried)}
        search_round.save(update_fields=["result"])
    return search_round


def _with_defaults(policy: Policy) -> dict[str, Any]:
    return {**ORCHESTRATION_DEFAULTS, **policy.document}


def round_shortlist(
    *, search_round: SearchRound, start_score: float, evaluations: Sequence[Evaluation], shortlist: Sequence[PlanFile]
) -> SearchRound:
    """Record the free public search: every charged evaluation's score (null for a failure) and the shortlist."""
    with transaction.atomic(durable=True):
        rows = [plan_row(plan) for plan in shortlist]
        search_round.result = {**search_round.result, "shortlist": [row.content_hash for row in rows]}
        search_round.save(update_fields=["result"])
        events.record_round_shortlisted(
            search_round=search_round,
            start_score=start_score,
            evaluations=[
                (e.plan.content_hash(), e.score if e.ok and e.score != float("inf") else None) for e in evaluations
            ],
            shortlist=rows,
        )
    return search_round


def round_pool(
    *,
    search_round: SearchRound,
    reference: Sequence[int],
    candidates: Sequence[tuple[PlanFile, Sequence[int | None]]],
    base_sizes: dict[str, Sequence[int | None]],
    gains: dict[str, float],
    shortlist: Sequence[str],
) -> SearchRound:
    """Record a portfolio round's free public part: the pool, its public sizes and gains, the shortlist."""
    with transaction.atomic(durable=True):
        rows = [(plan_row(plan), sizes) for plan, sizes in candidates]
        search_round.result = {**search_round.result, "shortlist": list(shortlist), "pool": len(rows)}
        search_round.save(update_fields=["result"])
        events.record_round_pooled(
            search_round=search_round,
            reference=reference,
            candidates=rows,
            base_sizes=base_sizes,
            gains=gains,
            shortlist=shortlist,
        )
    return search_round


def round_dispatch(
    *,
    search_round: SearchRound,
    phase: str,
    plans: Sequence[Plan],
    noise_multiplier: float,
    clip_bound: float,
) -> list[EvaluationTask]:
    """One task per (plan, eligible problem of the class); a portfolio round's tasks ask for each plan's
    marginal gain over the round's portfolio. A problem is eligible when its deployment may work, its release
    signs full statements (contract ^2.0, which also knows the marginal statistic) and its participant's
    remaining budget covers every task of this dispatch (the lease charges it)."""
    cost = accounting.rho_nano_of_noise_multiplier(noise_multiplier) * len(plans)
    with transaction.atomic(durable=True):
        problems = [
            problem
            for problem in selectors.problems_for_class(problem_class=search_round.problem_class)
            if PrivacyBudget.objects.filter(
                participant=problem.participant, rho_limit_nano__gte=F("rho_spent_nano") + cost
            ).exists()
        ]
        tasks = [
            EvaluationTask.objects.create(
                round=search_round,
                plan=plan,
                base=search_round.base,
                local_problem=problem,
                noise_multiplier=noise_multiplier,
                clip_bound=clip_bound,
                phase=phase,
            )
            for plan in plans
            for problem in problems
        ]
        events.record_round_dispatched(
            search_round=search_round,
            phase=phase,
            plans=plans,
            base=search_round.base,
            problems=problems,
            noise_multiplier=noise_multiplier,
            clip_bound=clip_bound,
            tasks=len(tasks),
        )
    return tasks


def round_finish(
    *,
    search_round: SearchRound,
    state: str,
    reason: str,
    estimates: dict[str, dict[str, Any]],
    winner: str | None = None,
    decision: Decision | None = None,
    confirmation: Estimate | None = None,
    evidence: Sequence[int] = (),
) -> PlanDelta | PortfolioDelta | None:
    """Close the round; on a promotion the winner becomes the class's next plan version (a plan round) or
    joins its portfolio as the next portfolio version (a portfolio round), with its delta."""
    with transaction.atomic(durable=True):
        search_round = SearchRound.objects.select_for_update().get(pk=search_round.pk)
        if search_round.state != RoundState.RUNNING:
            raise OpmError(ErrorCode.VALIDATION_FAILED, f"round {search_round.pk} is {search_round.state}")
        promoted = None
        if decision is not None and decision.promote:
            promote = _promote_member if search_round.kind == RoundKind.PORTFOLIO else _promote
            promoted = promote(search_round, winner, confirmation, evidence)
        search_round.state, search_round.stop_reason = state, reason[:200]
        search_round.finished_at = timezone.now()
        search_round.result = {
            **search_round.result,
            "estimates": estimates,
            "winner": winner,
            "decision": decision.to_json() if decision else None,
            "promoted_version": promoted.sequence if promoted else None,
        }
        search_round.save(update_fields=["state", "stop_reason", "finished_at", "result"])
        events.record_round_finished(
            search_round=search_round,
            state=state,
            reason=reason,
            estimates=estimates,
            winner=winner,
            decision=decision,
            promoted_version=promoted.sequence if promoted else None,
        )
    return promoted


def _promote(
    search_round: SearchRound, winner: str | None, confirmation: Estimate | None, evidence: Sequence[int]
) -> PlanDelta:
    child = Plan.objects.get(content_hash=winner)
    version, parent = plan_current(problem_class=search_round.problem_class)
    if parent.pk != search_round.incumbent_id:
        raise OpmError(
            ErrorCode.VALIDATION_FAILED,
            f"{search_round.problem_class} moved to version {version} while round {search_round.pk} ran",
            status=409,
        )
    delta = plan_delta.diff(PlanFile.from_json(parent.body), PlanFile.from_json(child.body))
    row = PlanDelta.objects.create(
        problem_class=search_round.problem_class,
        sequence=version + 1,
        parent=parent,
        child=child,
        ops=delta.to_json()["ops"],
        evidence={"signals": list(evidence), "estimate": confirmation.to_json() if confirmation else None},
        round=search_round,
        promoted_at=timezone.now(),
    )
    entry = events.record_plan_promoted(
        delta=row, search_round=search_round, confirmation=confirmation, evidence=evidence
    )
    row.ledger_index = entry.index  # the entry a checkpoint must cover before the promotion is final
    row.save(update_fields=["ledger_index"])
    return row


def _promote_member(
    search_round: SearchRound, winner: str | None, confirmation: Estimate | None, evidence: Sequence[int]
) -> PortfolioDelta:
    member = Plan.objects.get(content_hash=winner)
    parent = search_round.base
    version, before = selectors.portfolio_current(problem_class=search_round.problem_class)
    if parent is None or before.content_hash() != parent.content_hash:
        raise OpmError(
            ErrorCode.VALIDATION_FAILED,
            f"{search_round.problem_class}'s portfolio moved to version {version} while round {search_round.pk} ran",
            status=409,
        )
    after = before.with_member(PlanFile.from_json(member.body))
    if after == before:
        raise OpmError(ErrorCode.VALIDATION_FAILED, f"plan {winner[:12]} is already a member", status=409)
    delta = portfolio_file.diff(before, after)
    row = PortfolioDelta.objects.create(
        problem_class=search_round.problem_class,
        sequence=version + 1,
        parent=parent,
        child=portfolio_row(after),
        ops=delta.to_json()["ops"],
        evidence={"signals": list(evidence), "estimate": confirmation.to_json() if confirmation else None},
        round=search_round,
        promoted_at=timezone.now(),
    )
    entry = events.record_portfolio_promoted(
        delta=row, search_round=search_round, member=member, confirmation=confirmation, evidence=evidence
    )
    row.ledger_index = entry.index
    row.save(update_fields=["ledger_index"])
    return row
