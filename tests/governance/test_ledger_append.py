"""governance.services.ledger_append / ledger_append_many: gapless, canonical, in the caller's transaction."""

import json

import pytest
import rfc8785
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ledger import merkle
from governance import selectors
from governance.models import Checkpoint, LedgerEntry, LedgerNode
from governance.services import LedgerRecord, checkpoint_issue, ledger_append, ledger_append_many
from opm_site.errors import ErrorCode, OpmError

pytestmark = pytest.mark.django_db


def append(n: int, kind: str = "test.appended") -> list[LedgerEntry]:
    with transaction.atomic():
        return [ledger_append(kind=kind, actor="ada", subject=f"thing:{i}", payload={"i": i}) for i in range(n)]


def test_indexes_are_gapless_from_zero_and_leaves_canonical():
    entries = append(7) + ledger_append_many([LedgerRecord("test.batch", "ops", f"b:{i}", {"i": i}) for i in range(5)])
    assert [e.index for e in entries] == list(range(12))
    for entry in LedgerEntry.objects.all():
        leaf = bytes(entry.leaf)
        document = json.loads(leaf)
        assert rfc8785.dumps(document) == leaf
        assert set(document) == {"index", "time", "kind", "actor", "subject", "payload"}
        assert document["index"] == entry.index and document["time"].endswith("Z")
        assert bytes(entry.leaf_hash) == merkle.leaf_hash(leaf)


def test_stored_tree_root_equals_root_recomputed_from_all_leaves():
    append(37)
    leaves = [bytes(h) for h in LedgerEntry.objects.order_by("index").values_list("leaf_hash", flat=True)]
    for size in (1, 2, 3, 16, 17, 37):
        assert selectors.ledger_root(size) == merkle.root_from_leaves(leaves[:size])


def test_a_batch_beyond_one_statement_s_parameters_is_written_whole():
    # 6,000 entries need about 66,000 bound parameters, more than PostgreSQL takes in one statement.
    append(3)
    ledger_append_many([LedgerRecord("test.batch", "ops", f"b:{i}", {"i": i}) for i in range(6000)])
    assert selectors.ledger_size() == LedgerEntry.objects.count() == 6003
    leaves = [bytes(h) for h in LedgerEntry.objects.order_by("index").values_list("leaf_hash", flat=True)]
    for size in (6003, 4099):
        assert selectors.ledger_root(size) == merkle.root_from_leaves(leaves[:size])


def test_append_writes_logarithmically_many_tree_rows():
    append(63)
    before = LedgerNode.objects.count()
    append(1)  # entry 63 completes subtrees at levels 1..6
    assert LedgerNode.objects.count() - before == 7


def test_failed_transaction_leaves_no_entry_and_no_tree_rows():
    append(3)
    with pytest.raises(RuntimeError), transaction.atomic():
        ledger_append(kind="test.appended", actor="ada", subject="doomed", payload={})
        raise RuntimeError("the change being recorded failed")
    assert LedgerEntry.objects.count() == 3 and LedgerNode.objects.count() == 3 + 1
    assert selectors.ledger_size() == 3
    assert append(1)[0].index == 3  # and the next append takes the next index


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"kind": "NoDots"}, "dotted"),
        ({"kind": "budget.charged", "actor": ""}, "actor"),
        ({"kind": "budget.charged", "payload": {"x": float("nan")}}, "canonical JSON"),
        ({"kind": "budget.charged", "payload": {"x": 2**60}}, "canonical JSON"),
        ({"kind": "budget.charged", "payload": ["not", "an", "object"]}, "JSON object"),
    ],
)
def test_bad_entries_are_rejected_with_a_code(kwargs, fragment):
    args = {"kind": "test.appended", "actor": "ada", "subject": "s", "payload": {}} | kwargs
    with pytest.raises(OpmError) as excinfo:
        ledger_append(**args)
    assert excinfo.value.code == ErrorCode.INVALID_ENTRY and fragment in excinfo.value.detail
    assert not LedgerEntry.objects.exists()


def test_checkpoints_are_issued_after_commit_and_kept(settings, django_capture_on_commit_callbacks):
    settings.OPM_CHECKPOINT_INTERVAL = 0
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            append(1)
    sizes = list(Checkpoint.objects.order_by("size").values_list("size", flat=True))
    assert sizes == [1, 2, 3]  # each append's commit scheduled one (interval 0)
    again = checkpoint_issue()
    assert again.size == 3 and Checkpoint.objects.count() == 3  # same size: the stored one


def test_checkpoint_interval_limits_automatic_issuance(django_capture_on_commit_callbacks):
    for _ in range(5):  # the interval is an hour in tests
        with django_capture_on_commit_callbacks(execute=True):
            append(1)
    assert list(Checkpoint.objects.values_list("size", flat=True)) == [1]


@settings(max_examples=15, deadline=None)
@given(batches=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=6))
def test_batch_sizes_never_change_the_tree(batches):
    with transaction.atomic():
        start = selectors.ledger_size()
        for b, count in enumerate(batches):
            ledger_append_many([LedgerRecord("test.batch", "ops", f"{b}:{i}", {}) for i in range(count)])
        leaves = [bytes(h) for h in LedgerEntry.objects.order_by("index").values_list("leaf_hash", flat=True)]
        assert len(leaves) == start + sum(batches)
        assert selectors.ledger_root(len(leaves)) == merkle.root_from_leaves(leaves)
        transaction.set_rollback(True)
