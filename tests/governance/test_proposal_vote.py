"""governance.services.proposal_open / proposal_vote: quorum decisions, their effects, and every refusal."""

import datetime as dt

import pytest
from django.utils import timezone

from governance.models import LedgerEntry, Policy, Proposal
from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import policy_create, proposal_open, proposal_vote, proposals_expire
from opm_site.errors import ErrorCode, OpmError
from registry.models import ContractStatus
from registry.services import contract_create
from tests.governance.fixtures import pass_conformance

pytestmark = pytest.mark.django_db


def kinds() -> list[str]:
    return list(LedgerEntry.objects.order_by("index").values_list("kind", flat=True))


def code_of(call) -> ErrorCode:
    with pytest.raises(OpmError) as excinfo:
        call()
    return excinfo.value.code


def test_release_approval_needs_passed_conformance(board, release, adapter_contract):
    ada = board[0]
    assert code_of(lambda: proposal_open(kind="approve_release", proposer=ada, release=release)) == (
        ErrorCode.CONFORMANCE_REQUIRED
    )
    pass_conformance(release, adapter_contract, verdict="failed")
    assert code_of(lambda: proposal_open(kind="approve_release", proposer=ada, release=release)) == (
        ErrorCode.CONFORMANCE_REQUIRED
    )
    pass_conformance(release, adapter_contract)
    proposal = proposal_open(kind="approve_release", proposer=ada, release=release, rationale="fast and correct")
    release.refresh_from_db()
    assert release.state == "in_review" and proposal.status == "open"


def test_three_yes_votes_approve_the_release_with_ledger_entries(board, release, adapter_contract):
    ada, bob, cy, di = board
    pass_conformance(release, adapter_contract)
    proposal = proposal_open(kind="approve_release", proposer=ada, release=release)
    proposal_vote(proposal=proposal, voter=bob, choice="yes")
    proposal_vote(proposal=proposal, voter=cy, choice="yes", comment="checked the report")
    proposal.refresh_from_db()
    assert proposal.status == "open"  # 2 votes: below quorum
    proposal_vote(proposal=proposal, voter=di, choice="yes")
    proposal.refresh_from_db()
    release.refresh_from_db()
    assert proposal.status == "accepted" and proposal.decided_at is not None
    assert release.state == "approved"
    tail = kinds()[-7:]
    assert tail == [
        "release.state_changed",  # submitted -> in_review
        "proposal.opened",
        "vote.cast",
        "vote.cast",
        "vote.cast",
        "proposal.decided",
        "release.state_changed",  # in_review -> approved
    ]
    decided = LedgerEntry.objects.get(kind="proposal.decided")
    assert decided.payload["tally"] == {"yes": 3, "no": 0, "abstain": 0}


def test_refusals_have_their_error_codes(board, release, adapter_contract):
    ada, bob, cy, di = board
    pass_conformance(release, adapter_contract)
    proposal = proposal_open(kind="approve_release", proposer=ada, release=release)
    assert code_of(lambda: proposal_vote(proposal=proposal, voter=ada, choice="yes")) == ErrorCode.SELF_VOTE
    proposal_vote(proposal=proposal, voter=bob, choice="yes")
    assert code_of(lambda: proposal_vote(proposal=proposal, voter=bob, choice="no")) == ErrorCode.DOUBLE_VOTE
    assert code_of(lambda: proposal_vote(proposal=proposal, voter=cy, choice="maybe")) == ErrorCode.VALIDATION_FAILED
    assert code_of(lambda: proposal_open(kind="approve_release", proposer=bob, release=release)) == (
        ErrorCode.DUPLICATE_PROPOSAL
    )
    proposal_vote(proposal=proposal, voter=cy, choice="yes")
    proposal_vote(proposal=proposal, voter=di, choice="yes")
    assert code_of(lambda: proposal_vote(proposal=proposal, voter=di, choice="yes")) == ErrorCode.PROPOSAL_CLOSED


def test_staff_outside_the_board_cannot_propose_or_vote(board, release, adapter_contract, django_user_model):
    outsider = django_user_model.objects.create_user("eve", password="x", is_staff=True)
    pass_conformance(release, adapter_contract)
    assert code_of(lambda: proposal_open(kind="approve_release", proposer=outsider, release=release)) == (
        ErrorCode.NOT_BOARD_MEMBER
    )
    proposal = proposal_open(kind="approve_release", proposer=board[0], release=release)
    assert code_of(lambda: proposal_vote(proposal=proposal, voter=outsider, choice="yes")) == ErrorCode.NOT_BOARD_MEMBER


def test_unreachable_threshold_rejects_and_rejects_the_release(board, release, adapter_contract):
    ada, bob, cy, di = board
    pass_conformance(release, adapter_contract)
    proposal = proposal_open(kind="approve_release", proposer=ada, release=release)
    proposal_vote(proposal=proposal, voter=bob, choice="no")
    proposal_vote(proposal=proposal, voter=cy, choice="no")
    proposal.refresh_from_db()
    release.refresh_from_db()
    assert proposal.status == "rejected" and "out of reach" in proposal.decision_reason
    assert release.state == "rejected"


def test_deadline_closes_proposals(board, release, adapter_contract):
    ada, bob, *_ = board
    pass_conformance(release, adapter_contract)
    proposal = proposal_open(kind="approve_release", proposer=ada, release=release)
    proposal_vote(proposal=proposal, voter=bob, choice="yes")
    now = timezone.now()
    Proposal.objects.filter(pk=proposal.pk).update(
        opened_at=now - dt.timedelta(days=8), deadline=now - dt.timedelta(seconds=1)
    )
    assert code_of(lambda: proposal_vote(proposal=proposal, voter=board[2], choice="yes")) == ErrorCode.PROPOSAL_CLOSED
    assert [p.pk for p in proposals_expire()] == [proposal.pk]
    proposal.refresh_from_db()
    assert proposal.status == "rejected" and proposals_expire() == []


def test_policy_activation_switches_atomically(board):
    ada, bob, cy, di = board
    first = policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"], created_by=ada)
    for policy in (
        first,
        policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"] | {"epsilon": 2.0}, created_by=ada),
    ):
        proposal = proposal_open(kind="activate_policy", proposer=ada, policy=policy)
        for voter in (bob, cy, di):
            proposal_vote(proposal=proposal, voter=voter, choice="yes")
    statuses = dict(Policy.objects.filter(kind="privacy").values_list("version", "status"))
    assert statuses == {1: "retired", 2: "active"}
    activated = LedgerEntry.objects.filter(kind="policy.activated", subject="policy:privacy").order_by("index")
    assert [e.payload["retired_version"] for e in activated] == [None, 1]


def test_invalid_policy_lists_every_violation(board):
    with pytest.raises(OpmError) as excinfo:
        policy_create(kind="privacy", document={"epsilon": -1, "delta": 2}, created_by=board[0])
    assert excinfo.value.code == ErrorCode.INVALID_POLICY
    assert len(excinfo.value.extra["errors"]) >= 5  # 2 bad values + 3 missing keys


def test_contract_approval_by_proposal(board):
    ada, bob, cy, di = board
    contract = contract_create(name="opm-signal", version="2.0.0", message_schemas={"signal": {"type": "object"}})
    proposal = proposal_open(kind="approve_contract", proposer=ada, contract=contract)
    for voter in (bob, cy, di):
        proposal_vote(proposal=proposal, voter=voter, choice="yes")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.APPROVED and contract.approved_at is not None
    assert LedgerEntry.objects.filter(kind="contract.approved").count() == 1


def test_proposals_need_an_active_governance_policy(db, release, django_user_model):
    from governance.services import board_member_ensure

    member, _ = board_member_ensure(username="solo", password="pw")
    assert code_of(lambda: proposal_open(kind="approve_release", proposer=member, release=release)) == (
        ErrorCode.NO_GOVERNANCE_POLICY
    )


def test_suspend_reinstate_revoke(board, release, adapter_contract):
    ada, bob, cy, di = board
    pass_conformance(release, adapter_contract)

    def decide(kind):
        proposal = proposal_open(kind=kind, proposer=ada, release=release)
        for voter in (bob, cy, di):
            proposal_vote(proposal=proposal, voter=voter, choice="yes")
        release.refresh_from_db()
        return release.state

    assert decide("approve_release") == "approved"
    assert code_of(lambda: proposal_open(kind="reinstate_release", proposer=ada, release=release)) == (
        ErrorCode.INVALID_TRANSITION
    )
    assert decide("suspend_release") == "suspended"
    assert decide("reinstate_release") == "approved"
    assert decide("revoke_release") == "revoked"
    assert code_of(lambda: proposal_open(kind="reinstate_release", proposer=ada, release=release)) == (
        ErrorCode.INVALID_TRANSITION
    )


def test_suspending_a_release_stops_its_deployments_getting_work(board, release, adapter_contract):
    from orchestration.selectors import deployments_eligible_for_work
    from tests.orchestration.factories import AdapterDeploymentFactory

    ada, bob, cy, di = board
    pass_conformance(release, adapter_contract)

    def decide(kind):
        proposal = proposal_open(kind=kind, proposer=ada, release=release)
        for voter in (bob, cy, di):
            proposal_vote(proposal=proposal, voter=voter, choice="yes")

    decide("approve_release")
    deployment = AdapterDeploymentFactory(release=release)
    assert list(deployments_eligible_for_work()) == [deployment]
    decide("suspend_release")
    assert list(deployments_eligible_for_work()) == []
    decide("reinstate_release")
    assert list(deployments_eligible_for_work()) == [deployment]
    decide("revoke_release")
    assert list(deployments_eligible_for_work()) == []
