"""SQLite's append-only triggers for the ledger tables (PostgreSQL's come from django-pgtrigger).

Other apps' append-only tables (orchestration's checkpoint cosignatures) reuse these statements with their own
table names, so that every append-only table refuses UPDATE and DELETE the same way.
"""

from collections.abc import Iterable

LEDGER_TABLES = ("governance_ledgerentry", "governance_ledgernode", "governance_checkpoint")


def sqlite_create_statements(tables: Iterable[str] = LEDGER_TABLES) -> list[str]:
    """BEFORE UPDATE/DELETE triggers that abort; SQLite has no TRUNCATE (a bare DELETE fires them too)."""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_append_only_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'ledger is append-only: {op} on {table} rejected'); END"
        for table in tables
        for op in ("UPDATE", "DELETE")
    ]


def sqlite_drop_statements(tables: Iterable[str] = LEDGER_TABLES) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only_{op.lower()}" for table in tables for op in ("UPDATE", "DELETE")
    ]
