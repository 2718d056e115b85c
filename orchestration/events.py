"""One small writer per orchestration ledger entry kind, so every payload's shape is defined in one place.

Each is called by the service that makes the change, inside its transaction. The backtest
(`orchestration.backtest`) reads these payloads back: change a shape here and teach it there.
"""

from collections.abc import Sequence
from typing import Any

from governance.models import LedgerEntry
from governance.services.ledger import ledger_append
from orchestration.decisions import Decision, Estimate
from orchestration.models import Plan, Portfolio, PortfolioDelta, SearchRound

SYSTEM = "system:orchestrator"


def _round(search_round: SearchRound) -> str:
    return f"round:{search_round.pk}"


def record_round_started(
    *,
    search_round: SearchRound,
    actor: str,
    version: int,
    start: Plan | Portfolio,
    space: dict[str, Any],
    policy: dict[str, Any],
    pool: dict[str, Any] | None = None,
) -> LedgerEntry:
    """Everything the round's replay needs: seed, search space, policies, and what it starts from (the
    current plan for a plan round, the current portfolio and the pool's search settings for a portfolio round)."""
    payload: dict[str, Any] = {
        "round": search_round.pk,
        "problem_class": search_round.problem_class,
        "toolchain": search_round.toolchain,
        "strategy": search_round.strategy,
        "seed": search_round.seed,
        "space": space,
        "policy": policy,
    }
    held = {"version": version, "hash": start.content_hash, "body": start.body}
    if search_round.kind == SearchRound.Kind.PORTFOLIO:
        payload |= {"kind": search_round.kind, "base": held, "pool": pool}
    else:
        payload["incumbent"] = held
    return ledger_append(kind="round.started", actor=actor, subject=_round(search_round), payload=payload)


def record_round_shortlisted(
    *, search_round: SearchRound, start_score: float, evaluations: Sequence[tuple[str, float | None]], shortlist
) -> LedgerEntry:
    return ledger_append(
        kind="round.shortlisted",
        actor=SYSTEM,
        subject=_round(search_round),
        payload={
            "round": search_round.pk,
            "start_score": start_score,
            "evaluations": [[plan_hash, score] for plan_hash, score in evaluations],
            "shortlist": [{"hash": row.content_hash, "body": row.body} for row in shortlist],
        },
    )


def record_round_pooled(
    *,
    search_round: SearchRound,
    reference: Sequence[int],
    candidates: Sequence[tuple[Plan, Sequence[int | None]]],
    base_sizes: dict[str, Sequence[int | None]],
    gains: dict[str, float],
    shortlist: Sequence[str],
) -> LedgerEntry:
    """The free public part of a portfolio round: the pool the per-program search found, every pool plan's
    and every current member's verified size on each public program (null: it failed), their public marginal
    gains over the current portfolio, and the shortlist sent to participants."""
    return ledger_append(
        kind="round.pooled",
        actor=SYSTEM,
        subject=_round(search_round),
        payload={
            "round": search_round.pk,
            "reference": list(reference),
            "candidates": [
                {"hash": plan.content_hash, "body": plan.body, "sizes": list(sizes)} for plan, sizes in candidates
            ],
            "base_sizes": {plan_hash: list(sizes) for plan_hash, sizes in base_sizes.items()},
            "gains": gains,
            "shortlist": list(shortlist),
        },
    )


def record_round_dispatched(
    *,
    search_round: SearchRound,
    phase: str,
    plans: Sequence[Plan],
    base: Portfolio | None,
    problems: Sequence[Any],
    noise_multiplier: float,
    clip_bound: float,
    tasks: int,
) -> LedgerEntry:
    payload: dict[str, Any] = {
        "round": search_round.pk,
        "phase": phase,
        "plans": [plan.content_hash for plan in plans],
        "problems": [{"participant": p.participant.name, "problem": p.handle} for p in problems],
        "noise_multiplier": noise_multiplier,
        "clip_bound": clip_bound,
        "tasks": tasks,
    }
    if base is not None:
        payload["base"] = base.content_hash
    return ledger_append(kind="round.dispatched", actor=SYSTEM, subject=_round(search_round), payload=payload)


def record_round_finished(
    *,
    search_round: SearchRound,
    state: str,
    reason: str,
    estimates: dict[str, dict[str, Any]],
    winner: str | None,
    decision: Decision | None,
    promoted_version: int | None,
) -> LedgerEntry:
    return ledger_append(
        kind="round.finished",
        actor=SYSTEM,
        subject=_round(search_round),
        payload={
            "round": search_round.pk,
            "state": state,
            "reason": reason[:200],
            "estimates": estimates,
            "winner": winner,
            "decision": decision.to_json() if decision else None,
            "promoted_version": promoted_version,
        },
    )


def record_plan_promoted(
    *, delta, search_round: SearchRound, confirmation: Estimate | None, evidence: Sequence[int]
) -> LedgerEntry:
    return _record_promoted("plan", delta, search_round, confirmation, evidence, {})


def record_portfolio_promoted(
    *,
    delta: PortfolioDelta,
    search_round: SearchRound,
    member: Plan,
    confirmation: Estimate | None,
    evidence: Sequence[int],
) -> LedgerEntry:
    """A member added to the class's portfolio: the new version, its delta from the parent, the marginal-gain
    estimate on fresh signals and the signal entries it rests on."""
    return _record_promoted("portfolio", delta, search_round, confirmation, evidence, {"member": member.content_hash})


def _record_promoted(
    what: str,
    delta,
    search_round: SearchRound,
    confirmation: Estimate | None,
    evidence: Sequence[int],
    extra: dict[str, Any],
) -> LedgerEntry:
    """`plan.promoted` / `portfolio.promoted`: the class's new version, its delta, the estimate, the evidence."""
    return ledger_append(
        kind=f"{what}.promoted",
        actor=SYSTEM,
        subject=f"{what}:{delta.child.content_hash}",
        payload={
            "problem_class": search_round.problem_class,
            "version": delta.sequence,
            "round": search_round.pk,
            "parent": delta.parent.content_hash,
            "child": delta.child.content_hash,
            "ops": delta.ops,
            "estimate": confirmation.to_json() if confirmation else None,
            "evidence": list(evidence),
            **extra,
        },
    )
