"""`manage.py demo` (the main job run by `bash run.sh`) at this stage of the product."""

import json
import stat

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from governance.services import BOARD_GROUP
from orchestration.management.commands.demo import BOARD, OPERATOR

pytestmark = pytest.mark.django_db


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def test_demo_creates_board_and_explains_login(var_dir, capsys):
    call_command("demo", "--skip-passes", "--no-federation")
    out = capsys.readouterr().out
    users = get_user_model().objects
    for name in BOARD:
        user = users.get(username=name)
        assert user.is_staff and not user.is_superuser
        assert user.groups.filter(name=BOARD_GROUP).exists()
    assert users.get(username=OPERATOR).is_superuser
    credentials_file = var_dir / "demo-credentials.json"
    assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
    passwords = json.loads(credentials_file.read_text())
    assert authenticate(username=BOARD[0], password=passwords[BOARD[0]]) is not None
    assert "bash run.sh serve" in out and passwords[BOARD[0]] in out


def test_demo_is_idempotent_and_keeps_passwords(var_dir, capsys):
    call_command("demo", "--skip-passes", "--no-federation")
    first = json.loads((var_dir / "demo-credentials.json").read_text())
    call_command("demo", "--skip-passes", "--no-federation")
    assert json.loads((var_dir / "demo-credentials.json").read_text()) == first
    assert get_user_model().objects.filter(username__in=BOARD).count() == len(BOARD)
    assert authenticate(username=OPERATOR, password=first[OPERATOR]) is not None


def test_board_member_can_open_the_admin(var_dir, client):
    call_command("demo", "--skip-passes", "--no-federation")
    passwords = json.loads((var_dir / "demo-credentials.json").read_text())
    assert client.login(username=BOARD[1], password=passwords[BOARD[1]])
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "Ledger entries" in index.content.decode()
    assert client.get("/admin/governance/ledgerentry/").status_code == 200


def test_demo_syncs_the_real_pass_catalogue(var_dir, capsys):
    call_command("demo", "--no-federation")
    out = capsys.readouterr().out
    assert "llvm 22." in out and "'llvm':" in out


def test_demo_runs_the_board_through_quorum_decisions(var_dir, capsys):
    from governance.models import LedgerEntry, Policy
    from registry.models import Contract

    call_command("demo", "--skip-passes", "--no-federation")
    out = capsys.readouterr().out
    assert Contract.objects.get(name="opm-adapter").status == "approved"
    assert set(Policy.objects.filter(status="active").values_list("kind", flat=True)) == {
        "governance",
        "privacy",
        "orchestration",
    }
    assert LedgerEntry.objects.filter(kind="proposal.decided").count() == 3
    assert "ledger OK" in out
    call_command("demo", "--skip-passes", "--no-federation")  # a second run decides nothing twice
    assert LedgerEntry.objects.filter(kind="proposal.decided").count() == 3
