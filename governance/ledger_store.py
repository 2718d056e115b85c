"""The Merkle tree's hash store in the database: adapters.ledger.merkle's HashReader over LedgerNode."""

import json

from django.db import connection

from adapters.ledger.merkle import Node


def read_nodes(nodes: list[Node]) -> list[bytes]:
    """Stored hashes of the given (level, index) nodes, in order, with one query (raw SQL: it is on the hot path)."""
    if not nodes:
        return []
    placeholders = ", ".join(["(%s, %s)"] * len(nodes))
    params = [value for node in nodes for value in node]
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT level, "index", hash FROM governance_ledgernode WHERE (level, "index") IN ({placeholders})', params
        )
        found = {(level, index): bytes(h) for level, index, h in cursor.fetchall()}
    return [found[node] for node in nodes]


# --- PostgreSQL fast path: lock, (read,) write: all of an append's writes in one statement ------------------

_LOCK_HEAD = "SELECT size FROM governance_ledgerhead WHERE id = 1 FOR UPDATE"


def lock_head(cursor) -> int:
    """Lock the head row for the rest of the transaction and return the log's size (creating the row once).

    A statement of its own: under READ COMMITTED the next statement's snapshot then includes the tree rows
    the previous lock holder committed (a join in this statement would not see them).
    """
    cursor.execute(_LOCK_HEAD)
    row = cursor.fetchone()
    if row is None:  # the first append ever
        cursor.execute("INSERT INTO governance_ledgerhead (id, size) VALUES (1, 0) ON CONFLICT DO NOTHING")
        cursor.execute(_LOCK_HEAD)
        row = cursor.fetchone()
    return row[0]


MAX_PARAMETERS = 65_535
"""PostgreSQL's limit on a statement's bound parameters (server-side binding, settings.py)."""
_ENTRY_PARAMETERS, _NODE_PARAMETERS = 8, 3


def write_appended(cursor, entries: list, rows: list[tuple[int, int, bytes]], new_size: int) -> list[int]:
    """Insert the entries and tree rows and move the head, in one statement when the batch's parameters fit
    in one (a few thousand entries), else in chunks under the same lock; returns the entries' ids in order."""
    if _ENTRY_PARAMETERS * len(entries) + _NODE_PARAMETERS * len(rows) + 1 <= MAX_PARAMETERS:
        return _write(cursor, entries, rows, new_size)
    ids: list[int] = []
    step = (MAX_PARAMETERS - 1) // _ENTRY_PARAMETERS
    for start in range(0, len(entries), step):
        ids += _write(cursor, entries[start : start + step], [], None)
    step = (MAX_PARAMETERS - 1) // _NODE_PARAMETERS
    for start in range(0, len(rows), step):
        _write(cursor, [], rows[start : start + step], None)
    _write(cursor, [], [], new_size)
    return ids


def _write(cursor, entries: list, rows: list[tuple[int, int, bytes]], new_size: int | None) -> list[int]:
    parts, params = [], []
    if entries:
        values = ", ".join(["(%s, %s, %s, %s, %s, %s::jsonb, %s, %s)"] * len(entries))
        parts.append(
            'e AS (INSERT INTO governance_ledgerentry ("index", "time", kind, actor, subject, payload, leaf, '
            f'leaf_hash) VALUES {values} RETURNING id, "index")'
        )
        for e in entries:
            params += [e.index, e.time, e.kind, e.actor, e.subject, json.dumps(e.payload), e.leaf, e.leaf_hash]
    if rows:
        values = ", ".join(["(%s, %s, %s)"] * len(rows))
        parts.append(f'n AS (INSERT INTO governance_ledgernode (level, "index", hash) VALUES {values})')
        for level, index, h in rows:
            params += [level, index, h]
    if new_size is not None:
        parts.append("u AS (UPDATE governance_ledgerhead SET size = %s WHERE id = 1)")
        params.append(new_size)
    result = 'SELECT id FROM e ORDER BY "index"' if entries else "SELECT 1"
    cursor.execute(f"WITH {', '.join(parts)} {result}", params)
    return [row[0] for row in cursor.fetchall()] if entries else []


_INDEX_MARK = b',"index":0,"kind":'


def split_leaf_at_index(leaf_with_index_zero: bytes) -> tuple[bytes, bytes]:
    """(prefix, suffix) of a canonical leaf around its index digits, so the database can splice the index in.

    RFC 8785 sorts keys, so `index` follows `actor`; a JSON string cannot hold an unescaped quote, so the
    first `,"index":0,"kind":` is the top-level member.
    """
    at = leaf_with_index_zero.index(_INDEX_MARK)
    return leaf_with_index_zero[: at + len(',"index":')], leaf_with_index_zero[at + len(',"index":0') :]


_APPEND_ONE = "SELECT entry_id, entry_index FROM opm_ledger_append_one(%s, %s, %s, %s, %s, %s, %s::jsonb)"


def append_one(cursor, *, prefix: bytes, suffix: bytes, time, kind: str, actor: str, subject: str, payload) -> tuple:
    """One entry through opm_ledger_append_one (migration 0004): one round trip under the lock."""
    cursor.execute(_APPEND_ONE, [prefix, suffix, time, kind, actor, subject, json.dumps(payload)])
    return cursor.fetchone()


def append_one_citing(
    cursor,
    *,
    prefix: bytes,
    suffix: bytes,
    time,
    kind: str,
    actor: str,
    subject: str,
    payload,
    table: str,
    row,
    index_column: str,
) -> tuple:
    """append_one plus, in the same statement, an INSERT of `row` citing the new entry's index; returns
    (entry id, entry index, row id). The CTE calls a volatile function, so it runs exactly once."""
    columns = ", ".join([*row, index_column])
    values = ", ".join(["%s"] * len(row))
    cursor.execute(
        f"""
        WITH e AS ({_APPEND_ONE})
        INSERT INTO {table} ({columns}) VALUES ({values}, (SELECT entry_index FROM e))
        RETURNING (SELECT entry_id FROM e), {index_column}, id
        """,
        [prefix, suffix, time, kind, actor, subject, json.dumps(payload), *row.values()],
    )
    return cursor.fetchone()
