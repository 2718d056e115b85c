"""The database itself refuses to rewrite the ledger: raw UPDATE, DELETE and TRUNCATE fail on both engines."""

import pytest
from django.db import DatabaseError, connection, transaction

from governance.models import LedgerEntry, LedgerNode
from governance.services import ledger_append

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries():
    with transaction.atomic():
        for i in range(4):
            ledger_append(kind="test.appended", actor="ada", subject=f"s:{i}", payload={})


def raw(sql: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.parametrize("table", ["governance_ledgerentry", "governance_ledgernode"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET hash = hash", "DELETE FROM {t}", "TRUNCATE {t}"])
def test_raw_sql_cannot_rewrite_the_ledger(entries, table, statement):
    if statement.startswith("TRUNCATE") and connection.vendor == "sqlite":
        pytest.skip("SQLite has no TRUNCATE; its bare DELETE is covered above")
    column = "hash" if table.endswith("node") else "leaf_hash"
    with pytest.raises(DatabaseError, match="append-only"):
        raw(statement.format(t=table).replace("hash = hash", f"{column} = {column}"))
    assert LedgerEntry.objects.count() == 4 and LedgerNode.objects.count() == 4 + 2 + 1


def test_orm_delete_is_refused_too(entries):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(index=0).delete()
