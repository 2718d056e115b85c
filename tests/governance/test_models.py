import pytest
from django.utils import timezone

from tests.constraints import assert_db_rejects
from tests.registry.factories import ContractFactory

from .factories import CheckpointFactory, LedgerEntryFactory, PolicyFactory, ProposalFactory, UserFactory, VoteFactory

pytestmark = pytest.mark.django_db


def test_one_active_policy_per_kind():
    PolicyFactory(kind="privacy", status="active", activated_at=timezone.now())
    PolicyFactory(kind="governance", status="active", activated_at=timezone.now())  # another kind: fine
    PolicyFactory(kind="privacy", status="proposed")  # inactive versions: fine
    assert_db_rejects(
        lambda: PolicyFactory(kind="privacy", status="active", activated_at=timezone.now()),
        "policy_one_active_per_kind",
    )


def test_policy_version_unique_and_positive():
    PolicyFactory(kind="privacy", version=1)
    assert_db_rejects(lambda: PolicyFactory(kind="privacy", version=1))
    assert_db_rejects(lambda: PolicyFactory(kind="orchestration", version=0), "policy_version_positive")


def test_active_policy_records_when():
    assert_db_rejects(lambda: PolicyFactory(status="active", activated_at=None), "policy_active_has_time")


def test_proposal_target_must_match_kind():
    contract = ContractFactory()
    assert_db_rejects(lambda: ProposalFactory(kind="approve_contract"), "proposal_target_matches_kind")
    assert_db_rejects(lambda: ProposalFactory(kind="approve_release", release=None), "proposal_target_matches_kind")
    ProposalFactory(kind="approve_contract", release=None, contract=contract)


def test_membership_proposals_name_a_person_and_nothing_else():
    person = UserFactory()
    members = "proposal_target_matches_kind"
    assert_db_rejects(lambda: ProposalFactory(kind="add_board_member", release=None), members)
    assert_db_rejects(lambda: ProposalFactory(kind="remove_board_member", member=person), members)  # and a release
    assert_db_rejects(lambda: ProposalFactory(kind="approve_release", member=person), members)
    first = ProposalFactory(kind="add_board_member", release=None, member=person)
    assert_db_rejects(lambda: ProposalFactory(kind="remove_board_member", release=None, member=person))
    ProposalFactory(kind="remove_board_member", release=None, member=UserFactory())
    assert first.target == person


def test_an_elector_is_listed_once_per_proposal():
    from governance.models import Elector

    elector = Elector.objects.create(proposal=ProposalFactory(), member=UserFactory())
    assert_db_rejects(lambda: Elector.objects.create(proposal=elector.proposal, member=elector.member))


def test_proposal_deadline_and_decision_consistency():
    now = timezone.now()
    assert_db_rejects(lambda: ProposalFactory(opened_at=now, deadline=now), "proposal_deadline_after_open")
    assert_db_rejects(lambda: ProposalFactory(status="accepted", decided_at=None), "proposal_decided_iff_closed")
    assert_db_rejects(lambda: ProposalFactory(status="open", decided_at=now), "proposal_decided_iff_closed")


def test_only_one_open_proposal_per_release_and_kind():
    first = ProposalFactory()
    assert_db_rejects(lambda: ProposalFactory(release=first.release))
    ProposalFactory(release=first.release, kind="revoke_release")  # another kind: fine


def test_one_vote_per_member():
    vote = VoteFactory()
    assert_db_rejects(lambda: VoteFactory(proposal=vote.proposal, voter=vote.voter))
    VoteFactory(proposal=vote.proposal, voter=UserFactory())
    assert_db_rejects(lambda: VoteFactory(choice="maybe"), "vote_choice_valid")


def test_ledger_entry_index_unique_nonnegative_and_hash_sized():
    LedgerEntryFactory(index=0)
    assert_db_rejects(lambda: LedgerEntryFactory(index=0))
    assert_db_rejects(lambda: LedgerEntryFactory(index=-1), "ledgerentry_index_nonnegative")
    assert_db_rejects(lambda: LedgerEntryFactory(leaf_hash=b"short"), "ledgerentry_leaf_hash_sha256")


def test_checkpoint_unique_per_size():
    CheckpointFactory(size=5)
    assert_db_rejects(lambda: CheckpointFactory(size=5))
    assert_db_rejects(lambda: CheckpointFactory(root_hash=b"x"), "checkpoint_root_sha256")
