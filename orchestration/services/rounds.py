"""Search rounds (DESIGN.md §8): each step of a round is one transaction with its ledger entry, so the ledger
alone tells how every plan came to be and `manage.py backtest` can replay it.

round.started (seed, space, policy) -> round.shortlisted (free public evaluations) -> round.dispatched
(selection tasks) -> round.dispatched (confirmation tasks) -> plan.promoted? -> round.finished.
"""

import hashlib
from collections.abc import Sequence
from typing import Any

import rfc8785
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from adapters import delta as plan_delta
from adapters.plan import Plan as PlanFile
from adapters.plan import reference_plan
from adapters.search import Evaluation
from governance.models import Policy
from governance.policy_schemas import ORCHESTRATION_DEFAULTS
from governance.selectors import policy_active
from governance.services.ledger import ledger_append
from opm_site.errors import ErrorCode, OpmError
from orchestration import accounting, selectors
from orchestration.decisions import Decision, Estimate
from orchestration.models import (
    EvaluationTask,
    Plan,
    PlanDelta,
    PrivacyBudget,
    RoundState,
    SearchRound,
)

SYSTEM = "system:orchestrator"


def plan_row(plan: PlanFile) -> Plan:
    """The content-addressed Plan row of a plan file (created on first use)."""
    body = plan.to_json()
    digest = hashlib.sha256(rfc8785.dumps(body)).hexdigest()
    row, _ = Plan.objects.get_or_create(content_hash=digest, defaults={"toolchain": plan.toolchain, "body": body})
    return row


def plan_current(*, problem_class: str) -> tuple[int, Plan]:
    """The class's current version and plan; version 0 is the toolchain's reference plan."""
    latest = selectors.plan_latest_delta(problem_class=problem_class)
    if latest is not None:
        return latest.sequence, latest.child
    return 0, plan_row(reference_plan(problem_class.split("/", 1)[0]))


def _policy(kind: str) -> Policy:
    policy = policy_active(kind=kind)
    if policy is None:
        code = ErrorCode.NO_PRIVACY_POLICY if kind == "privacy" else ErrorCode.VALIDATION_FAILED
        raise OpmError(code, f"no active {kind} policy: the board must activate one first", status=409)
    return policy


def round_start(
    *, problem_class: str, strategy: str, seed: int, space: dict[str, Any], actor: str = SYSTEM
) -> SearchRound:
    """Open a round from the problem class's current plan, recording everything its replay needs."""
    toolchain = problem_class.split("/", 1)[0]
    orchestration, privacy = _policy("orchestration"), _policy("privacy")
    with transaction.atomic(durable=True):
        version, incumbent = plan_current(problem_class=problem_class)
        if incumbent.content_hash != PlanFile.from_json(space["start"]).content_hash():
            raise OpmError(ErrorCode.VALIDATION_FAILED, "the search space must start from the current plan")
        search_round = SearchRound.objects.create(
            problem_class=problem_class,
            toolchain=toolchain,
            strategy=strategy,
            seed=seed,
            state=RoundState.RUNNING,
            incumbent=incumbent,
            started_at=timezone.now(),
        )
        ledger_append(
            kind="round.started",
            actor=actor,
            subject=f"round:{search_round.pk}",
            payload={
                "round": search_round.pk,
                "problem_class": problem_class,
                "toolchain": toolchain,
                "strategy": strategy,
                "seed": seed,
                "incumbent": {"version": version, "hash": incumbent.content_hash, "body": incumbent.body},
                "space": space,
                "policy": {
                    "orchestration": {"version": orchestration.version, "document": _with_defaults(orchestration)},
                    "privacy": {"version": privacy.version, "document": privacy.document},
                },
            },
        )
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
        ledger_append(
            kind="round.shortlisted",
            actor=SYSTEM,
            subject=f"round:{search_round.pk}",
            payload={
                "round": search_round.pk,
                "start_score": start_score,
                "evaluations": [
                    [e.plan.content_hash(), e.score if e.ok and e.score != float("inf") else None] for e in evaluations
                ],
                "shortlist": [{"hash": row.content_hash, "body": row.body} for row in rows],
            },
        )
    return search_round


def round_dispatch(
    *, search_round: SearchRound, phase: str, plans: Sequence[Plan], noise_multiplier: float, clip_bound: float
) -> list[EvaluationTask]:
    """One task per (plan, eligible problem of the class). A problem is eligible when its deployment may work
    and its participant's remaining budget covers every task of this dispatch (the lease charges it)."""
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
                local_problem=problem,
                noise_multiplier=noise_multiplier,
                clip_bound=clip_bound,
                phase=phase,
            )
            for plan in plans
            for problem in problems
        ]
        ledger_append(
            kind="round.dispatched",
            actor=SYSTEM,
            subject=f"round:{search_round.pk}",
            payload={
                "round": search_round.pk,
                "phase": phase,
                "plans": [plan.content_hash for plan in plans],
                "problems": [{"participant": p.participant.name, "problem": p.handle} for p in problems],
                "noise_multiplier": noise_multiplier,
                "clip_bound": clip_bound,
                "tasks": len(tasks),
            },
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
) -> PlanDelta | None:
    """Close the round; on a promotion, the winner becomes the class's next plan version with its delta."""
    with transaction.atomic(durable=True):
        search_round = SearchRound.objects.select_for_update().get(pk=search_round.pk)
        if search_round.state != RoundState.RUNNING:
            raise OpmError(ErrorCode.VALIDATION_FAILED, f"round {search_round.pk} is {search_round.state}")
        promoted = None
        if decision is not None and decision.promote:
            promoted = _promote(search_round, winner, confirmation, evidence)
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
        ledger_append(
            kind="round.finished",
            actor=SYSTEM,
            subject=f"round:{search_round.pk}",
            payload={
                "round": search_round.pk,
                "state": state,
                "reason": reason[:200],
                "estimates": estimates,
                "winner": winner,
                "decision": decision.to_json() if decision else None,
                "promoted_version": promoted.sequence if promoted else None,
            },
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
    ledger_append(
        kind="plan.promoted",
        actor=SYSTEM,
        subject=f"plan:{child.content_hash}",
        payload={
            "problem_class": search_round.problem_class,
            "version": row.sequence,
            "round": search_round.pk,
            "parent": parent.content_hash,
            "child": child.content_hash,
            "ops": row.ops,
            "estimate": confirmation.to_json() if confirmation else None,
            "evidence": list(evidence),
        },
    )
    return row
