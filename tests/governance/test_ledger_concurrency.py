"""Concurrent appenders on PostgreSQL serialise on the head row: no gap, no fork, no duplicate."""

import threading

import pytest
from django.db import connection, transaction

from adapters.ledger import merkle
from governance import selectors
from governance.models import LedgerEntry
from governance.services import LedgerRecord, ledger_append, ledger_append_many

WRITERS = 8
APPENDS_PER_WRITER = 500


def _run_writers(target) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def writer(number: int) -> None:
        try:
            barrier.wait()
            target(number)
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _assert_gapless_and_root_consistent(expected: int) -> None:
    indexes = list(LedgerEntry.objects.order_by("index").values_list("index", flat=True))
    assert indexes == list(range(expected))
    leaves = [bytes(h) for h in LedgerEntry.objects.order_by("index").values_list("leaf_hash", flat=True)]
    assert selectors.ledger_size() == expected
    assert selectors.ledger_root(expected) == merkle.root_from_leaves(leaves)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_writers_times_500_appends_give_a_gapless_log():
    def appends(number: int) -> None:
        for i in range(APPENDS_PER_WRITER):
            with transaction.atomic():
                ledger_append(kind="test.concurrent", actor=f"writer-{number}", subject=f"{number}:{i}", payload={})

    assert _run_writers(appends) == []
    _assert_gapless_and_root_consistent(WRITERS * APPENDS_PER_WRITER)
    subjects = set(LedgerEntry.objects.values_list("subject", flat=True))
    assert len(subjects) == WRITERS * APPENDS_PER_WRITER  # every append landed exactly once


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_and_rollbacks_leave_no_trace():
    def batches(number: int) -> None:
        for i in range(20):
            records = [LedgerRecord("test.batch", f"writer-{number}", f"{number}:{i}:{k}", {}) for k in range(5)]
            if i % 4 == 3:
                try:
                    with transaction.atomic():
                        ledger_append_many(records)
                        raise RuntimeError("rolled back")
                except RuntimeError:
                    continue
            with transaction.atomic():
                ledger_append_many(records)

    assert _run_writers(batches) == []
    _assert_gapless_and_root_consistent(WRITERS * 15 * 5)
