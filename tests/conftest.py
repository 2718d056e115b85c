import pytest
from django.core.management.commands import flush
from django.db import connections

from governance.triggers import sqlite_create_statements, sqlite_drop_statements
from orchestration.triggers import APPEND_ONLY_TABLES

pytest_plugins = ["tests.governance.fixtures"]


@pytest.fixture(autouse=True)
def _skip_postgres_only(request):
    """Tests marked `postgres` exercise PostgreSQL-only guarantees (row locks, triggers, real concurrency)."""
    if request.node.get_closest_marker("postgres") and connections["default"].vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Board fixtures set five passwords per test; PBKDF2's million-odd iterations made that seconds of
    every setup. Production keeps Django's default hashers; tests only need passwords to round-trip."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_checkpoints(settings, monkeypatch):
    """Appends in tests schedule checkpoints through the immediate tasks backend, rate-limited as configured;
    each test starts with the process-local rate limit reset."""
    import math

    from governance.services import ledger

    settings.OPM_CHECKPOINT_INTERVAL = 3600
    monkeypatch.setattr(ledger, "_last_scheduled", -math.inf)


_original_flush = flush.Command.handle


def _flush_lifting_ledger_triggers(self, **options):
    """Transactional tests reset the database with flush; the append-only triggers (ledger, cosignatures) would refuse.

    Only this test-database reset lifts them: on PostgreSQL by replica mode for the session (ordinary triggers
    do not fire in it; pgtrigger.ignore would prepend a command, which server-side binding refuses), on SQLite
    by dropping and re-creating them. Replica mode needs a superuser, as creating the test database does.
    """
    connection = connections[options.get("database") or "default"]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            return _original_flush(self, **options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
    with connection.cursor() as cursor:
        for statement in sqlite_drop_statements(APPEND_ONLY_TABLES):
            cursor.execute(statement)
    try:
        return _original_flush(self, **options)
    finally:
        with connection.cursor() as cursor:
            for statement in sqlite_create_statements(APPEND_ONLY_TABLES):
                cursor.execute(statement)


flush.Command.handle = _flush_lifting_ledger_triggers
