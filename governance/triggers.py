"""SQLite's append-only triggers for the ledger tables (PostgreSQL's come from django-pgtrigger)."""

LEDGER_TABLES = ("governance_ledgerentry", "governance_ledgernode", "governance_checkpoint")


def sqlite_create_statements() -> list[str]:
    """BEFORE UPDATE/DELETE triggers that abort; SQLite has no TRUNCATE (a bare DELETE fires them too)."""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_append_only_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'ledger is append-only: {op} on {table} rejected'); END"
        for table in LEDGER_TABLES
        for op in ("UPDATE", "DELETE")
    ]


def sqlite_drop_statements() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only_{op.lower()}"
        for table in LEDGER_TABLES
        for op in ("UPDATE", "DELETE")
    ]
