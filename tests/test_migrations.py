"""Migrations apply from zero on a fresh database and are complete for the models."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


def test_migrate_from_zero_on_a_fresh_sqlite_file(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}", "OPM_VAR_DIR": str(tmp_path)}
    migrate = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input"], env=env, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stderr
    shown = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "showmigrations", "--plan"], env=env, capture_output=True, text=True
    )
    assert "[ ]" not in shown.stdout and "[X]  orchestration.0001_initial" in shown.stdout


@pytest.mark.django_db(transaction=True)
def test_apps_migrate_to_zero_and_back_on_this_database():
    for app in ("orchestration", "governance", "registry"):
        call_command("migrate", app, "zero", verbosity=0)
    call_command("migrate", verbosity=0)


@pytest.mark.django_db
def test_no_missing_migrations():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_promotions_made_before_0006_get_their_ledger_entries():
    """orchestration.0006 fills `ledger_index` of existing plan and portfolio deltas from their promotion
    entries (by problem class and version), so that finality can be judged for them too."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.utils import timezone

    from governance.services import ledger_append

    before, after = [("orchestration", "0005_portfolios")], [("orchestration", "0006_witness_cosignatures")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Plan, PlanDelta = old.get_model("orchestration", "Plan"), old.get_model("orchestration", "PlanDelta")
    parent = Plan.objects.create(toolchain="llvm", body={"p": 0}, content_hash="a" * 64)
    child = Plan.objects.create(toolchain="llvm", body={"p": 1}, content_hash="b" * 64)
    for version in (1, 2):
        PlanDelta.objects.create(
            problem_class="llvm/text-bytes",
            sequence=version,
            parent=parent,
            child=child,
            ops=[],
            promoted_at=timezone.now(),
        )
    ledger_append(kind="plan.promoted", actor="t", subject="plan:b", payload={"problem_class": "other/x", "version": 1})
    entry = ledger_append(
        kind="plan.promoted", actor="t", subject="plan:b", payload={"problem_class": "llvm/text-bytes", "version": 1}
    )
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps.get_model("orchestration", "PlanDelta")
    assert dict(new.objects.values_list("sequence", "ledger_index")) == {1: entry.index, 2: None}
    call_command("migrate", verbosity=0)
