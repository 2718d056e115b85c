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
