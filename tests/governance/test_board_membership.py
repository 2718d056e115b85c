"""Board membership is governed: proposals add and remove members, and each proposal's electorate is fixed
when it opens (governance.services.proposals, governance.services.board)."""

import pytest

from governance.models import LedgerEntry, Proposal
from governance.selectors import board_members, proposal_electorate
from governance.services import board_member_ensure, proposal_open, proposal_vote
from opm_site.errors import ErrorCode, OpmError
from registry.services import contract_create

pytestmark = pytest.mark.django_db


def code_of(call) -> ErrorCode:
    with pytest.raises(OpmError) as excinfo:
        call()
    return excinfo.value.code


def decide(proposal: Proposal, voters, choice: str = "yes") -> Proposal:
    for voter in voters:
        proposal_vote(proposal=proposal, voter=voter, choice=choice)
    proposal.refresh_from_db()
    return proposal


def a_contract(version: str):
    return contract_create(name="opm-extra", version=version, message_schemas={"m": {"type": "object"}})


def test_an_added_member_votes_on_later_proposals_but_not_on_earlier_ones(board, django_user_model):
    ada, bob, cy, di = board
    eve = django_user_model.objects.create_user("eve", password="pw-eve")
    before = proposal_open(kind="approve_contract", proposer=ada, contract=a_contract("1.0.0"))

    joining = proposal_open(kind="add_board_member", proposer=ada, member=eve, rationale="compiler expert")
    assert decide(joining, [bob, cy, di]).status == "accepted"
    eve.refresh_from_db()
    assert eve.is_staff and eve in board_members()

    assert code_of(lambda: proposal_vote(proposal=before, voter=eve, choice="yes")) == ErrorCode.NOT_BOARD_MEMBER
    assert not before.votes.filter(voter=eve).exists()
    later = proposal_open(kind="approve_contract", proposer=ada, contract=a_contract("2.0.0"))
    assert set(proposal_electorate(proposal=later)) == {ada, bob, cy, di, eve}
    proposal_vote(proposal=later, voter=eve, choice="yes")
    assert later.votes.filter(voter=eve).exists()


def test_a_removed_member_does_not_vote_on_new_proposals(board, django_user_model):
    ada, bob, cy, di = board
    eve = django_user_model.objects.create_user("eve", password="pw-eve")
    decide(proposal_open(kind="add_board_member", proposer=ada, member=eve), [bob, cy, di])
    leaving = proposal_open(kind="remove_board_member", proposer=ada, member=di)
    assert decide(leaving, [bob, cy, di]).status == "accepted"  # di may vote on their own removal
    assert di not in board_members()

    new = proposal_open(kind="approve_contract", proposer=ada, contract=a_contract("1.0.0"))
    assert set(proposal_electorate(proposal=new)) == {ada, bob, cy, eve}
    assert code_of(lambda: proposal_vote(proposal=new, voter=di, choice="no")) == ErrorCode.NOT_BOARD_MEMBER
    assert not new.votes.filter(voter=di).exists()
    assert decide(new, [bob, cy, eve]).status == "accepted"


def test_the_operator_seats_members_only_before_the_board_is_governed(board):
    """The bootstrap seats the founding members; once a governance policy is active, seating needs a proposal."""
    assert code_of(lambda: board_member_ensure(username="mallory", password="pw")) == ErrorCode.INVALID_TRANSITION
    assert not board_members().filter(username="mallory").exists()
    user, created = board_member_ensure(username="ada", password="new-pw")  # an existing member: a refresh
    assert not created and user.check_password("new-pw")
    assert LedgerEntry.objects.filter(kind="board.member_added").count() == 4


def test_quorum_of_an_open_proposal_is_fixed_when_it_opens(board, django_user_model):
    """Removing two members while a proposal is open neither blocks it nor lets fewer votes decide it."""
    ada, bob, cy, di = board
    eve = django_user_model.objects.create_user("eve", password="pw-eve")
    fay = django_user_model.objects.create_user("fay", password="pw-fay")
    for person in (eve, fay):
        decide(proposal_open(kind="add_board_member", proposer=ada, member=person), [bob, cy, di])
    pending = proposal_open(kind="approve_contract", proposer=ada, contract=a_contract("1.0.0"))
    electorate = set(proposal_electorate(proposal=pending))
    assert electorate == {ada, bob, cy, di, eve, fay}

    decide(proposal_open(kind="remove_board_member", proposer=ada, member=eve), [bob, cy, di])
    assert set(proposal_electorate(proposal=pending)) == electorate
    # eve, removed since, still belongs to this proposal's electorate: her vote counts toward its quorum of 3.
    proposal_vote(proposal=pending, voter=eve, choice="yes")
    proposal_vote(proposal=pending, voter=fay, choice="yes")
    pending.refresh_from_db()
    assert pending.status == "open"  # two votes: below the quorum of 3 that applied when it opened
    proposal_vote(proposal=pending, voter=bob, choice="yes")
    pending.refresh_from_db()
    assert pending.status == "accepted"
    decided = LedgerEntry.objects.get(kind="proposal.decided", subject=f"proposal:{pending.pk}")
    assert decided.payload["tally"] == {"yes": 3, "no": 0, "abstain": 0}


def test_membership_changes_are_ledgered(board, django_user_model):
    ada, bob, cy, di = board
    bootstrap = LedgerEntry.objects.filter(kind="board.member_added").order_by("index")
    assert [e.payload for e in bootstrap] == [{"member": m.username, "proposal": None} for m in board]
    assert all(e.actor == "operator (bootstrap)" for e in bootstrap)

    eve = django_user_model.objects.create_user("eve", password="pw-eve")
    joining = proposal_open(kind="add_board_member", proposer=ada, member=eve)
    opened = LedgerEntry.objects.get(kind="proposal.opened", subject=f"proposal:{joining.pk}")
    assert opened.payload["target"] == "user:eve"
    assert opened.payload["electorate"] == ["ada", "bob", "cy", "di"]
    decide(joining, [bob, cy, di])
    added = LedgerEntry.objects.filter(kind="board.member_added").latest("index")
    assert added.payload == {"member": "eve", "proposal": joining.pk} and added.actor == "system"

    leaving = proposal_open(kind="remove_board_member", proposer=eve, member=bob)
    decide(leaving, [ada, cy, di])
    removed = LedgerEntry.objects.get(kind="board.member_removed")
    assert removed.payload == {"member": "bob", "proposal": leaving.pk} and removed.subject == "user:bob"
    tail = list(LedgerEntry.objects.order_by("-index").values_list("kind", flat=True)[:3])
    assert tail == ["board.member_removed", "proposal.decided", "vote.cast"]


def test_rejected_membership_proposals_change_nothing(board, django_user_model):
    ada, bob, cy, di = board
    eve = django_user_model.objects.create_user("eve", password="pw-eve")
    assert decide(proposal_open(kind="add_board_member", proposer=ada, member=eve), [bob, cy], "no").status == (
        "rejected"
    )
    assert eve not in board_members()
    assert not LedgerEntry.objects.filter(kind="board.member_added", payload__member="eve").exists()


def test_membership_proposals_are_checked_when_they_open(board, django_user_model):
    ada, bob, cy, di = board
    ghost = django_user_model.objects.create_user("ghost", password="pw", is_active=False)
    eve = django_user_model.objects.create_user("eve", password="pw-eve")
    add, remove = "add_board_member", "remove_board_member"
    assert code_of(lambda: proposal_open(kind=add, proposer=ada, member=bob)) == ErrorCode.INVALID_TRANSITION
    assert code_of(lambda: proposal_open(kind=add, proposer=ada, member=ghost)) == ErrorCode.INVALID_TRANSITION
    assert code_of(lambda: proposal_open(kind=remove, proposer=ada, member=eve)) == ErrorCode.INVALID_TRANSITION
    assert code_of(lambda: proposal_open(kind=add, proposer=eve, member=eve)) == ErrorCode.NOT_BOARD_MEMBER
    proposal_open(kind=add, proposer=ada, member=eve)
    assert code_of(lambda: proposal_open(kind=add, proposer=bob, member=eve)) == ErrorCode.DUPLICATE_PROPOSAL
    # Four members, quorum 3: a removal would leave three, too few for a proposer and three voters.
    with pytest.raises(OpmError, match="would leave 3 board members"):
        proposal_open(kind=remove, proposer=ada, member=di)


def test_a_removal_that_would_strand_the_board_cannot_be_carried_out(board, django_user_model):
    """Two removals opened while five sat: the second to pass would leave three, so its last vote fails."""
    ada, bob, cy, di = board
    eve = django_user_model.objects.create_user("eve", password="pw-eve")
    decide(proposal_open(kind="add_board_member", proposer=ada, member=eve), [bob, cy, di])
    first = proposal_open(kind="remove_board_member", proposer=ada, member=eve)
    second = proposal_open(kind="remove_board_member", proposer=ada, member=di)
    decide(first, [bob, cy, di])
    proposal_vote(proposal=second, voter=bob, choice="yes")
    proposal_vote(proposal=second, voter=cy, choice="yes")
    with pytest.raises(OpmError, match="would leave 3 board members"):
        proposal_vote(proposal=second, voter=eve, choice="yes")
    second.refresh_from_db()
    assert second.status == "open" and di in board_members()
