"""One small writer per ledger entry kind, so every payload's shape is defined in one place.

Each is called by the service that makes the change, inside its transaction.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from governance.models import LedgerEntry, Policy, Proposal, Vote
from governance.services.ledger import ledger_append
from registry.models import AdapterRelease, ConformanceRun, Contract

SYSTEM = "system"


def actor_of(user: AbstractBaseUser | None) -> str:
    """`user:<name>` for people, `system` for the orchestrator and deadlines."""
    return f"user:{user.get_username()}" if user is not None else SYSTEM


def _release(release: AdapterRelease) -> dict[str, Any]:
    return {"id": release.pk, "name": release.name, "version": release.version, "toolchain": release.toolchain}


def record_release_submitted(*, release: AdapterRelease, actor: str) -> LedgerEntry:
    return ledger_append(
        kind="release.submitted",
        actor=actor,
        subject=f"release:{release.pk}",
        payload={
            "release": _release(release),
            "vendor": release.vendor,
            "artifact_digest": release.artifact_digest,
            "contracts": sorted(str(c) for c in release.contracts.all()),
            "passes": sorted(release.passes.values_list("name", flat=True)),
        },
    )


def record_release_state_changed(
    *, release: AdapterRelease, from_state: str, to_state: str, actor: str, proposal: Proposal | None, reason: str
) -> LedgerEntry:
    return ledger_append(
        kind="release.state_changed",
        actor=actor,
        subject=f"release:{release.pk}",
        payload={
            "release": _release(release),
            "from": from_state,
            "to": to_state,
            "proposal": proposal.pk if proposal else None,
            "reason": reason,
        },
    )


def record_contract_approved(*, contract: Contract, proposal: Proposal) -> LedgerEntry:
    return ledger_append(
        kind="contract.approved",
        actor=SYSTEM,
        subject=f"contract:{contract.pk}",
        payload={
            "contract": str(contract),
            "proposal": proposal.pk,
            "supersedes": sorted(map(str, contract.supersedes.all())),
        },
    )


def record_conformance_recorded(*, run: ConformanceRun, actor: str) -> LedgerEntry:
    return ledger_append(
        kind="conformance.recorded",
        actor=actor,
        subject=f"release:{run.release_id}",
        payload={
            "run": run.pk,
            "release": _release(run.release),
            "contract": str(run.contract),
            "verdict": run.verdict,
            "harness_version": run.harness_version,
        },
    )


def record_proposal_opened(*, proposal: Proposal, electorate: list[str]) -> LedgerEntry:
    """`electorate`: the usernames entitled to vote (the board when it opened), which fixes the quorum."""
    return ledger_append(
        kind="proposal.opened",
        actor=actor_of(proposal.proposer),
        subject=f"proposal:{proposal.pk}",
        payload={
            "proposal": proposal.pk,
            "kind": proposal.kind,
            "target": proposal_target(proposal),
            "governance_policy": proposal.governance_policy_id,
            "deadline": proposal.deadline.isoformat(),
            "rationale": proposal.rationale,
            "electorate": sorted(electorate),
        },
    )


def record_vote_cast(*, vote: Vote) -> LedgerEntry:
    return ledger_append(
        kind="vote.cast",
        actor=actor_of(vote.voter),
        subject=f"proposal:{vote.proposal_id}",
        payload={"proposal": vote.proposal_id, "choice": vote.choice, "comment": vote.comment},
    )


def record_proposal_decided(*, proposal: Proposal, tally: dict[str, int]) -> LedgerEntry:
    return ledger_append(
        kind="proposal.decided",
        actor=SYSTEM,
        subject=f"proposal:{proposal.pk}",
        payload={
            "proposal": proposal.pk,
            "kind": proposal.kind,
            "target": proposal_target(proposal),
            "outcome": proposal.status,
            "reason": proposal.decision_reason,
            "tally": tally,
        },
    )


def record_policy_activated(
    *, policy: Policy, retired: Policy | None, proposal: Proposal | None, actor: str
) -> LedgerEntry:
    return ledger_append(
        kind="policy.activated",
        actor=actor,
        subject=f"policy:{policy.kind}",
        payload={
            "kind": policy.kind,
            "version": policy.version,
            "document": policy.document,
            "retired_version": retired.version if retired else None,
            "proposal": proposal.pk if proposal else None,
        },
    )


def proposal_target(proposal: Proposal) -> str:
    if proposal.release_id:
        return f"release:{proposal.release_id}"
    if proposal.contract_id:
        return f"contract:{proposal.contract_id}"
    if proposal.member_id:
        return f"user:{proposal.member.get_username()}"
    return f"policy:{proposal.policy_id}"


def record_board_member_added(*, member: AbstractBaseUser, proposal: Proposal | None, actor: str) -> LedgerEntry:
    """A person joins the board: by an accepted proposal, or (proposal None) at the bootstrap."""
    return ledger_append(
        kind="board.member_added",
        actor=actor,
        subject=f"user:{member.get_username()}",
        payload={"member": member.get_username(), "proposal": proposal.pk if proposal else None},
    )


def record_board_member_removed(*, member: AbstractBaseUser, proposal: Proposal) -> LedgerEntry:
    return ledger_append(
        kind="board.member_removed",
        actor=SYSTEM,
        subject=f"user:{member.get_username()}",
        payload={"member": member.get_username(), "proposal": proposal.pk},
    )


def record_budget_charged(*, charge, participant_name: str, limit_nano: int) -> LedgerEntry:
    """Carries everything needed to audit a budget from the ledger alone (nano-rho integers)."""
    return ledger_append(
        kind="budget.charged",
        actor=SYSTEM,
        subject=f"participant:{participant_name}",
        payload={
            "participant": participant_name,
            "task": charge.task_id,
            "rho_nano": charge.rho_nano,
            "spent_after_nano": charge.spent_after_nano,
            "limit_nano": limit_nano,
        },
    )


def record_budget_limit_set(*, budget, reason: str) -> LedgerEntry:
    return ledger_append(
        kind="budget.limit_set",
        actor=SYSTEM,
        subject=f"participant:{budget.participant.name}",
        payload={
            "participant": budget.participant.name,
            "epsilon": budget.epsilon,
            "delta": budget.delta,
            "own_epsilon": budget.own_epsilon,
            "limit_nano": budget.rho_limit_nano,
            "spent_nano": budget.rho_spent_nano,
            "reason": reason,
        },
    )
