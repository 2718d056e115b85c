"""`manage.py proposals` and `manage.py governance`."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from governance.models import Policy, Proposal
from governance.services import operator_ensure, proposal_open
from tests.governance.fixtures import pass_conformance

pytestmark = pytest.mark.django_db


def test_proposals_list_and_expire(board, release, adapter_contract, capsys):
    pass_conformance(release, adapter_contract)
    proposal = proposal_open(kind="approve_release", proposer=board[0], release=release)
    call_command("proposals", "list")
    assert f"#{proposal.pk} Approve release" in capsys.readouterr().out
    call_command("proposals", "expire")
    assert "0 proposals expired" in capsys.readouterr().out
    now = timezone.now()
    Proposal.objects.filter(pk=proposal.pk).update(
        opened_at=now - dt.timedelta(days=9), deadline=now - dt.timedelta(days=2)
    )
    call_command("proposals", "expire")
    assert "1 proposals expired" in capsys.readouterr().out
    release.refresh_from_db()
    assert release.state == "rejected"


def test_governance_bootstrap_once(capsys):
    operator_ensure(username="root", password="pw")
    with pytest.raises(CommandError, match="no superuser named 'nobody'"):
        call_command("governance", "bootstrap", "--operator", "nobody")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("governance", "bootstrap", "--operator", "root", "--document", "{")
    with pytest.raises(CommandError, match="quorum"):
        call_command("governance", "bootstrap", "--operator", "root", "--document", '{"quorum": 0}')
    call_command("governance", "bootstrap", "--operator", "root")
    assert "governance policy v1 is active" in capsys.readouterr().out
    with pytest.raises(CommandError, match="need a proposal"):
        call_command("governance", "bootstrap", "--operator", "root")
    assert Policy.objects.get(kind="governance").status == "active"


def test_proposals_member_opens_a_membership_proposal(board, django_user_model, capsys):
    django_user_model.objects.create_user("eve", password="pw-eve")
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("proposals", "member", "--proposer", "ada", "--add", "nobody")
    with pytest.raises(CommandError, match=r"already on the board \[invalid_transition\]"):
        call_command("proposals", "member", "--proposer", "ada", "--add", "bob")
    with pytest.raises(CommandError, match="not a member of the board"):
        call_command("proposals", "member", "--proposer", "eve", "--remove", "bob")
    call_command("proposals", "member", "--proposer", "ada", "--add", "eve", "--rationale", "compiler expert")
    out = capsys.readouterr().out
    proposal = Proposal.objects.get(kind="add_board_member")
    assert f"opened #{proposal.pk} Add board member: eve (open)" in out and "electorate: ada, bob, cy, di" in out
    assert proposal.rationale == "compiler expert" and proposal.member.username == "eve"
    call_command("proposals", "list")
    assert f"#{proposal.pk} Add board member eve: 0 yes" in capsys.readouterr().out
