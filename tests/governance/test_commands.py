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
