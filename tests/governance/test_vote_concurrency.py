"""Concurrent last votes on PostgreSQL yield exactly one decision and one ledger entry."""

import pytest
from django.utils import timezone

from governance.models import LedgerEntry, Proposal
from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import board_member_ensure, operator_ensure, policy_bootstrap, proposal_open, proposal_vote
from opm_site.errors import ErrorCode
from registry.contract_defs import ADAPTER_CONTRACT_SCHEMAS, ADAPTER_CONTRACT_VERSION
from registry.models import PassSpec
from registry.services import conformance_record, contract_create, contract_mark_approved, release_submit
from tests.concurrency import race
from tests.governance.fixtures import make_manifest


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_last_votes_decide_once():
    members = [board_member_ensure(username=f"m{i}", password="pw")[0] for i in range(7)]
    operator, _ = operator_ensure(username="operator", password="pw")
    policy_bootstrap(document=DEFAULT_DOCUMENTS["governance"], operator=operator)
    contract = contract_mark_approved(
        contract=contract_create(
            name="opm-adapter", version=ADAPTER_CONTRACT_VERSION, message_schemas=ADAPTER_CONTRACT_SCHEMAS
        )
    )
    for name in ("gvn", "licm"):
        PassSpec.objects.create(
            toolchain="llvm",
            name=name,
            kind="function",
            description=name,
            toolchain_version="22",
            synced_at=timezone.now(),
        )
    release = release_submit(manifest=make_manifest(), vendor="v", actor="a")
    now = timezone.now()
    conformance_record(
        release=release, contract=contract, report={"verdict": "passed"}, started_at=now, finished_at=now, actor="a"
    )
    proposal = proposal_open(kind="approve_release", proposer=members[0], release=release)
    proposal_vote(proposal=proposal, voter=members[1], choice="yes")
    proposal_vote(proposal=proposal, voter=members[2], choice="yes")

    racers = members[3:]

    def vote(member):
        proposal_vote(proposal=Proposal.objects.get(pk=proposal.pk), voter=member, choice="yes")
        return "voted"

    outcomes = [result for _, result in race(vote, racers)]

    assert sorted(outcomes) == sorted(["voted"] + [ErrorCode.PROPOSAL_CLOSED] * (len(racers) - 1))
    proposal.refresh_from_db()
    release.refresh_from_db()
    assert proposal.status == "accepted" and release.state == "approved"
    assert LedgerEntry.objects.filter(kind="proposal.decided").count() == 1
    assert LedgerEntry.objects.filter(kind="release.state_changed", payload__to="approved").count() == 1
    assert proposal.votes.count() == 3
