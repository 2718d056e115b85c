"""Board proposals and votes: opened by a member, decided the moment quorum and threshold settle it.

Votes lock the proposal row, so concurrent last votes yield exactly one decision and one ledger entry.
A proposal's electorate is the board at the moment it opened (its `Elector` rows, also in the
`proposal.opened` entry): only they vote on it and its quorum counts only them, so a membership change
decided meanwhile never moves an open proposal's arithmetic.
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from governance import events, quorum
from governance.models import (
    Elector,
    Policy,
    PolicyKind,
    PolicyStatus,
    Proposal,
    ProposalKind,
    ProposalStatus,
    Vote,
)
from governance.selectors import BOARD_GROUP, board_members
from governance.services.board import board_member_add, board_member_remove
from governance.services.policies import policy_activate, policy_mark_rejected
from opm_site.errors import ErrorCode, OpmError
from registry.models import AdapterRelease, Contract, ContractStatus, ReleaseState
from registry.services import conformance, contracts, releases  # modules: registry imports us back

K = ProposalKind
# What an accepted release proposal does, and the states it may start from.
_RELEASE_EFFECT = {
    K.APPROVE_RELEASE: ({ReleaseState.SUBMITTED, ReleaseState.IN_REVIEW}, ReleaseState.APPROVED),
    K.SUSPEND_RELEASE: ({ReleaseState.APPROVED}, ReleaseState.SUSPENDED),
    K.REINSTATE_RELEASE: ({ReleaseState.SUSPENDED}, ReleaseState.APPROVED),
    K.REVOKE_RELEASE: ({ReleaseState.APPROVED, ReleaseState.SUSPENDED}, ReleaseState.REVOKED),
}


def is_board_member(user: AbstractBaseUser) -> bool:
    return user.is_active and user.groups.filter(name=BOARD_GROUP).exists()


def _require_member(user: AbstractBaseUser) -> None:
    if not is_board_member(user):
        raise OpmError(ErrorCode.NOT_BOARD_MEMBER, f"{user.get_username()} is not a member of the board", status=403)


def _eligible_voters(proposal: Proposal) -> int:
    """The electorate fixed at opening, less the proposer (who does not vote on their own proposal)."""
    return proposal.electorate.exclude(member_id=proposal.proposer_id).count()


def _check_removal_leaves_quorum(member: AbstractBaseUser, governance: Policy) -> None:
    """A board that could no longer reach quorum (a proposer plus `quorum` voters) could never decide again."""
    quorum_size = governance.document["quorum"]
    left = board_members().exclude(pk=member.pk).count()
    if left < quorum_size + 1:
        raise OpmError(
            ErrorCode.INVALID_TRANSITION,
            f"removing {member.get_username()} would leave {left} board members: a proposal needs its proposer "
            f"and {quorum_size} voters",
        )


def _check_member_target(kind: str, member, governance: Policy) -> None:
    if member is None:
        raise OpmError(ErrorCode.INVALID_TRANSITION, f"cannot {kind.replace('_', ' ')}: no person named")
    seated = member.is_active and member.groups.filter(name=BOARD_GROUP).exists()
    if kind == K.ADD_BOARD_MEMBER:
        if not member.is_active:
            raise OpmError(ErrorCode.INVALID_TRANSITION, f"{member.get_username()}'s account is inactive")
        if seated:
            raise OpmError(ErrorCode.INVALID_TRANSITION, f"{member.get_username()} is already on the board")
    else:
        if not seated:
            raise OpmError(ErrorCode.INVALID_TRANSITION, f"{member.get_username()} is not on the board")
        _check_removal_leaves_quorum(member, governance)


def _check_target(kind: str, release, contract, policy) -> None:
    if kind in _RELEASE_EFFECT:
        allowed, _ = _RELEASE_EFFECT[kind]
        if release is None or release.state not in allowed:
            state = release.state if release else "missing"
            raise OpmError(ErrorCode.INVALID_TRANSITION, f"cannot {kind.replace('_', ' ')}: release is {state}")
        if kind == K.APPROVE_RELEASE and (missing := conformance.conformance_missing(release=release)):
            raise OpmError(
                ErrorCode.CONFORMANCE_REQUIRED,
                f"release {release} has no passed conformance run for {', '.join(map(str, missing))}",
            )
    elif kind == K.APPROVE_CONTRACT:
        if contract is None or contract.status != ContractStatus.PROPOSED:
            raise OpmError(ErrorCode.INVALID_TRANSITION, "only a proposed contract version can be approved")
    elif kind == K.ACTIVATE_POLICY:
        if policy is None or policy.status != PolicyStatus.PROPOSED:
            raise OpmError(ErrorCode.INVALID_TRANSITION, "only a proposed policy version can be activated")
    else:
        raise OpmError(ErrorCode.INVALID_TRANSITION, f"unknown proposal kind {kind!r}")


def proposal_open(
    *,
    kind: str,
    proposer: AbstractBaseUser,
    release: AdapterRelease | None = None,
    contract: Contract | None = None,
    policy: Policy | None = None,
    member: AbstractBaseUser | None = None,
    rationale: str = "",
) -> Proposal:
    """Open a proposal under the active governance policy; its rules and its electorate (the board as it is
    now) are fixed for the proposal's life."""
    _require_member(proposer)
    with transaction.atomic(durable=True):
        governance = Policy.objects.filter(kind=PolicyKind.GOVERNANCE, status=PolicyStatus.ACTIVE).first()
        if governance is None:
            raise OpmError(ErrorCode.NO_GOVERNANCE_POLICY, "no governance policy is active; bootstrap one first")
        # Judge the target as the database has it now, not as the caller's copy remembers it.
        release = AdapterRelease.objects.select_for_update().get(pk=release.pk) if release else None
        contract = Contract.objects.select_for_update().get(pk=contract.pk) if contract else None
        policy = Policy.objects.select_for_update().get(pk=policy.pk) if policy else None
        if kind in (K.ADD_BOARD_MEMBER, K.REMOVE_BOARD_MEMBER):
            member = get_user_model().objects.select_for_update().get(pk=member.pk) if member else None
            _check_member_target(kind, member, governance)
        else:
            member = None
            _check_target(kind, release, contract, policy)
        target = (
            Q(release=release)
            if release
            else Q(contract=contract)
            if contract
            else Q(policy=policy)
            if policy
            else Q(member=member)
        )
        if Proposal.objects.filter(target, kind=kind, status=ProposalStatus.OPEN).exists():
            raise OpmError(ErrorCode.DUPLICATE_PROPOSAL, "an open proposal on this target already exists")
        if kind == K.APPROVE_RELEASE and release.state == ReleaseState.SUBMITTED:
            releases.release_transition(
                release=release,
                to_state=ReleaseState.IN_REVIEW,
                actor=events.actor_of(proposer),
                reason="review opened",
            )
        now = timezone.now()
        proposal = Proposal.objects.create(
            kind=kind,
            proposer=proposer,
            release=release,
            contract=contract,
            policy=policy,
            member=member,
            rationale=rationale,
            governance_policy=governance,
            opened_at=now,
            deadline=now + dt.timedelta(days=governance.document["deadline_days"]),
        )
        electorate = list(board_members().order_by("pk"))
        Elector.objects.bulk_create(Elector(proposal=proposal, member=person) for person in electorate)
        events.record_proposal_opened(proposal=proposal, electorate=[person.get_username() for person in electorate])
    return proposal


def tally_of(proposal: Proposal) -> quorum.Tally:
    counts = proposal.votes.aggregate(
        yes=Count("pk", filter=Q(choice="yes")),
        no=Count("pk", filter=Q(choice="no")),
        abstain=Count("pk", filter=Q(choice="abstain")),
    )
    return quorum.Tally(**counts)


def proposal_vote(*, proposal: Proposal, voter: AbstractBaseUser, choice: str, comment: str = "") -> Vote:
    """Cast one elector's vote; decides the proposal in the same transaction when the result is certain.

    Only the proposal's electorate (the board when it opened) votes: a member seated later does not, and a
    member removed later still does, so the quorum the proposal opened with stays the one that decides it.
    """
    with transaction.atomic(durable=True):
        locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
        if not voter.is_active or not locked.electorate.filter(member=voter).exists():
            raise OpmError(
                ErrorCode.NOT_BOARD_MEMBER,
                f"{voter.get_username()} was not a member of the board when proposal #{locked.pk} opened",
                status=403,
            )
        if choice not in Vote.Choice.values:
            raise OpmError(ErrorCode.VALIDATION_FAILED, f"a vote is yes, no or abstain, not {choice!r}")
        if locked.status != ProposalStatus.OPEN:
            raise OpmError(ErrorCode.PROPOSAL_CLOSED, f"proposal #{locked.pk} is already {locked.status}", status=409)
        if timezone.now() >= locked.deadline:
            raise OpmError(ErrorCode.PROPOSAL_CLOSED, f"proposal #{locked.pk} passed its deadline", status=409)
        if locked.proposer_id == voter.pk:
            raise OpmError(ErrorCode.SELF_VOTE, "a proposer cannot vote on their own proposal", status=403)
        if locked.votes.filter(voter=voter).exists():
            raise OpmError(ErrorCode.DOUBLE_VOTE, f"{voter.get_username()} already voted on #{locked.pk}", status=409)
        vote = Vote.objects.create(proposal=locked, voter=voter, choice=choice, comment=comment, cast_at=timezone.now())
        events.record_vote_cast(vote=vote)
        tally = tally_of(locked)
        rules = quorum.Rules.from_document(locked.governance_policy.document)
        settled = quorum.outcome(tally, _eligible_voters(locked) - tally.cast, rules)
        if settled is not None:
            _decide(locked, *settled, tally=tally)
    proposal.refresh_from_db()
    return vote


def _decide(proposal: Proposal, status: str, reason: str, *, tally: quorum.Tally) -> None:
    """Close the proposal and carry out what it decided, all in the caller's transaction."""
    proposal.status = status
    proposal.decided_at = timezone.now()
    proposal.decision_reason = reason[:200]
    proposal.save(update_fields=["status", "decided_at", "decision_reason"])
    events.record_proposal_decided(proposal=proposal, tally=tally.as_dict())
    accepted = status == ProposalStatus.ACCEPTED
    kind = proposal.kind
    if kind in _RELEASE_EFFECT:
        if accepted:
            if kind == K.APPROVE_RELEASE and (missing := conformance.conformance_missing(release=proposal.release)):
                raise OpmError(
                    ErrorCode.CONFORMANCE_REQUIRED,
                    f"release {proposal.release} lost its passed conformance for {', '.join(map(str, missing))}",
                )
            releases.release_transition(
                release=proposal.release,
                to_state=_RELEASE_EFFECT[kind][1],
                actor=events.SYSTEM,
                reason=f"proposal #{proposal.pk} accepted",
                proposal=proposal,
            )
        elif kind == K.APPROVE_RELEASE:
            releases.release_transition(
                release=proposal.release,
                to_state=ReleaseState.REJECTED,
                actor=events.SYSTEM,
                reason=f"proposal #{proposal.pk} rejected",
                proposal=proposal,
            )
    elif kind == K.APPROVE_CONTRACT:
        if accepted:
            contracts.contract_mark_approved(contract=proposal.contract)
            events.record_contract_approved(contract=proposal.contract, proposal=proposal)
        else:
            contracts.contract_mark_withdrawn(contract=proposal.contract)
    elif kind == K.ACTIVATE_POLICY:
        if accepted:
            policy_activate(policy=proposal.policy, proposal=proposal, actor=events.SYSTEM)
        else:
            policy_mark_rejected(policy=proposal.policy)
    elif kind in (K.ADD_BOARD_MEMBER, K.REMOVE_BOARD_MEMBER) and accepted:
        # Judge the board as it is now: other membership decisions may have passed since this one opened.
        governance = Policy.objects.filter(kind=PolicyKind.GOVERNANCE, status=PolicyStatus.ACTIVE).first()
        _check_member_target(kind, proposal.member, governance or proposal.governance_policy)
        if kind == K.ADD_BOARD_MEMBER:
            board_member_add(member=proposal.member, proposal=proposal)
        else:
            board_member_remove(member=proposal.member, proposal=proposal)


def proposals_expire(*, now: dt.datetime | None = None) -> list[Proposal]:
    """Reject every open proposal past its deadline (run by `manage.py proposals expire` and the dashboard)."""
    now = now or timezone.now()
    expired = []
    for pk in Proposal.objects.filter(status=ProposalStatus.OPEN, deadline__lte=now).values_list("pk", flat=True):
        with transaction.atomic(durable=True):
            proposal = Proposal.objects.select_for_update().get(pk=pk)
            if proposal.status != ProposalStatus.OPEN:
                continue
            tally = tally_of(proposal)
            _decide(proposal, ProposalStatus.REJECTED, "deadline passed without a decision", tally=tally)
            expired.append(proposal)
    return expired
