"""Appending to the ledger and issuing checkpoints (docs/design.md §5).

`ledger_append` runs inside the caller's transaction, so a change and its entry commit or roll back
together. Appenders serialise on the LedgerHead row (SELECT ... FOR UPDATE on PostgreSQL; SQLite
serialises writers itself, our connections open IMMEDIATE transactions), so indexes are gapless and
the tree never forks. Each append writes the leaf and the O(log n) subtree hashes it completes.
"""

import datetime as dt
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from adapters.ledger.checkpoint import Checkpoint as CheckpointBody
from adapters.ledger.checkpoint import sign_checkpoint
from adapters.ledger.export import encode_leaf
from adapters.ledger.merkle import leaf_hash, stored_hashes_for_append_many, tree_hash
from governance import ledger_store
from governance.ledger_store import read_nodes
from governance.log_key import log_signer
from governance.models import Checkpoint, LedgerEntry, LedgerHead, LedgerNode
from opm_site.errors import ErrorCode, OpmError

KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
"""Entry kinds are dotted and stable (`budget.charged`): add kinds, never rename one."""


@dataclass(frozen=True)
class LedgerRecord:
    """One entry to append: what happened (`kind`), who did it, to what, and the details."""

    kind: str
    actor: str
    subject: str
    payload: Mapping[str, Any] = field(default_factory=dict)


def _time_string(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check(record: LedgerRecord) -> None:
    if not KIND_PATTERN.fullmatch(record.kind):
        raise OpmError(ErrorCode.INVALID_ENTRY, f"ledger kind {record.kind!r} is not dotted lower case")
    for name in ("actor", "subject"):
        value = getattr(record, name)
        if not isinstance(value, str) or not value or len(value) > 200:
            raise OpmError(ErrorCode.INVALID_ENTRY, f"ledger {name} must be a non-empty string of at most 200 chars")
    if not isinstance(record.payload, Mapping):
        raise OpmError(ErrorCode.INVALID_ENTRY, "ledger payload must be a JSON object")


def _document(record: LedgerRecord, *, index: int, time: str) -> dict[str, Any]:
    """The entry as its leaf states it (docs/design.md §5)."""
    return {
        "index": index,
        "time": time,
        "kind": record.kind,
        "actor": record.actor,
        "subject": record.subject,
        "payload": dict(record.payload),
    }


def _encode(document: dict[str, Any]) -> bytes:
    """The leaf bytes; called before the transaction is touched, so a bad payload cannot doom the caller's."""
    try:
        return encode_leaf(document)
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise OpmError(ErrorCode.INVALID_ENTRY, f"ledger payload is not canonical JSON: {exc}") from None


def _lock_head() -> LedgerHead:
    """The head row, locked for the rest of the transaction; created on the first append ever."""
    head = LedgerHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        LedgerHead.objects.bulk_create([LedgerHead(pk=1, size=0)], ignore_conflicts=True)
        head = LedgerHead.objects.select_for_update().get(pk=1)
    return head


def ledger_append_many(records: Sequence[LedgerRecord]) -> list[LedgerEntry]:
    """Append records as consecutive entries in the current transaction (one lock, one batch of rows)."""
    # Canonicalise everything but the index before the lock (once per record): a bad payload then fails
    # before the caller's transaction is touched, and the lock covers only splicing indexes in and hashing.
    moment = timezone.now()
    time = _time_string(moment)
    templates = []
    for record in records:
        _check(record)
        templates.append(ledger_store.split_leaf_at_index(_encode(_document(record, index=0, time=time))))
    if not records:
        return []
    # No savepoint: an append that fails must fail the caller's change too, and it saves two round trips.
    with transaction.atomic(savepoint=False):
        postgres = connection.vendor == "postgresql"
        if postgres:  # two or three round trips under the lock instead of five (benchmarks/ledger.py)
            cursor = connection.cursor()
            start = ledger_store.lock_head(cursor)
        else:
            head = _lock_head()
            start = head.size
        entries = []
        for offset, (record, (prefix, suffix)) in enumerate(zip(records, templates, strict=True)):
            leaf = prefix + str(start + offset).encode() + suffix
            entries.append(
                LedgerEntry(
                    index=start + offset,
                    time=moment,
                    kind=record.kind,
                    actor=record.actor,
                    subject=record.subject,
                    payload=dict(record.payload),
                    leaf=leaf,
                    leaf_hash=leaf_hash(leaf),
                )
            )
        leaves = [entry.leaf for entry in entries]
        rows = stored_hashes_for_append_many(start, leaves, read_nodes)
        if postgres:
            ids = ledger_store.write_appended(cursor, entries, rows, start + len(entries))
            for entry, pk in zip(entries, ids, strict=True):
                entry.pk = pk
                entry._state.adding = False
        else:
            LedgerEntry.objects.bulk_create(entries)
            LedgerNode.objects.bulk_create([LedgerNode(level=lv, index=ix, hash=h) for lv, ix, h in rows])
            head.size = start + len(records)
            head.save(update_fields=["size"])
        transaction.on_commit(_schedule_checkpoint, robust=True)
    return entries


def ledger_append(*, kind: str, actor: str, subject: str, payload: Mapping[str, Any]) -> LedgerEntry:
    """Append one entry in the caller's transaction; see the module docstring for the guarantees."""
    record = LedgerRecord(kind=kind, actor=actor, subject=subject, payload=payload)
    if connection.vendor != "postgresql":
        return ledger_append_many([record])[0]
    return _append_one_postgres(record, None)[0]


def ledger_append_citing(
    *,
    kind: str,
    actor: str,
    subject: str,
    payload: Mapping[str, Any],
    table: str,
    row: Mapping[str, Any],
    index_column: str,
) -> tuple[LedgerEntry, int]:
    """Append one entry and insert `row` into `table` with the entry's index in `index_column`, in the
    caller's transaction; on PostgreSQL in the same statement, one round trip fewer on a hot path (the
    signals'). `row` holds database-ready values. Returns (entry, the new row's id)."""
    record = LedgerRecord(kind=kind, actor=actor, subject=subject, payload=payload)
    if connection.vendor == "postgresql":
        entry, row_id = _append_one_postgres(record, (table, row, index_column))
        return entry, row_id
    columns = [*row, index_column]
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        entry = ledger_append_many([record])[0]
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) RETURNING id",
            [*row.values(), entry.index],
        )
        return entry, cursor.fetchone()[0]


def _append_one_postgres(record: LedgerRecord, citing: tuple[str, Mapping[str, Any], str] | None):
    _check(record)
    # Everything but the index is canonicalised before the lock; the database splices the index in, hashes
    # and stores the leaf and the subtrees it completes, and moves the head, in one round trip.
    moment = timezone.now()
    document = _document(record, index=0, time=_time_string(moment))
    prefix, suffix = ledger_store.split_leaf_at_index(_encode(document))
    row_id = None
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        arguments = dict(
            prefix=prefix,
            suffix=suffix,
            time=moment,
            kind=record.kind,
            actor=record.actor,
            subject=record.subject,
            payload=document["payload"],
        )
        if citing is None:
            pk, index = ledger_store.append_one(cursor, **arguments)
        else:
            table, row, index_column = citing
            pk, index, row_id = ledger_store.append_one_citing(
                cursor, **arguments, table=table, row=row, index_column=index_column
            )
        transaction.on_commit(_schedule_checkpoint, robust=True)
    leaf = prefix + str(index).encode() + suffix
    entry = LedgerEntry(
        pk=pk,
        index=index,
        time=moment,
        kind=record.kind,
        actor=record.actor,
        subject=record.subject,
        payload=document["payload"],
        leaf=leaf,
        leaf_hash=leaf_hash(leaf),
    )
    entry._state.adding = False
    return entry, row_id


_last_scheduled = -math.inf


def _schedule_checkpoint() -> None:
    """Enqueue the checkpoint task at most once per interval per process; the task re-checks the database."""
    global _last_scheduled
    now = time.monotonic()
    if now - _last_scheduled < settings.OPM_CHECKPOINT_INTERVAL:
        return
    _last_scheduled = now
    from governance.tasks import checkpoint_if_due

    checkpoint_if_due.enqueue()


def checkpoint_issue() -> Checkpoint:
    """Sign and keep a checkpoint of the log as it is now; the same size again returns the stored one."""
    signer = log_signer()
    origin = settings.OPM_LOG_ORIGIN
    with transaction.atomic():
        head = LedgerHead.objects.filter(pk=1).first()
        size = head.size if head else 0
        existing = Checkpoint.objects.filter(origin=origin, size=size).first()
        if existing:
            return existing
        root = tree_hash(size, read_nodes)
        note = sign_checkpoint(CheckpointBody(origin, size, root), signer).decode("utf-8")
        try:
            with transaction.atomic():
                return Checkpoint.objects.create(
                    origin=origin, size=size, root_hash=root, note=note, issued_at=timezone.now()
                )
        except IntegrityError:  # a concurrent issuer signed the same size first
            return Checkpoint.objects.get(origin=origin, size=size)


def checkpoint_issue_if_due() -> Checkpoint | None:
    """Issue a checkpoint unless the log has not grown or the last one is younger than the interval."""
    latest = Checkpoint.objects.filter(origin=settings.OPM_LOG_ORIGIN).order_by("-size").first()
    head = LedgerHead.objects.filter(pk=1).first()
    size = head.size if head else 0
    if latest is not None:
        if latest.size >= size:
            return None
        age = (timezone.now() - latest.issued_at).total_seconds()
        if age < settings.OPM_CHECKPOINT_INTERVAL:
            return None
    return checkpoint_issue()
