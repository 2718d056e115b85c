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


def write_appended(cursor, entries: list, rows: list[tuple[int, int, bytes]], new_size: int) -> list[int]:
    """Insert the entries and tree rows and move the head, in one statement; returns the entries' ids in order."""
    entry_values = ", ".join(["(%s, %s, %s, %s, %s, %s::jsonb, %s, %s)"] * len(entries))
    node_values = ", ".join(["(%s, %s, %s)"] * len(rows))
    params: list = []
    for e in entries:
        params += [e.index, e.time, e.kind, e.actor, e.subject, json.dumps(e.payload), e.leaf, e.leaf_hash]
    for level, index, h in rows:
        params += [level, index, h]
    params.append(new_size)
    cursor.execute(
        f"""
        WITH e AS (
            INSERT INTO governance_ledgerentry ("index", "time", kind, actor, subject, payload, leaf, leaf_hash)
            VALUES {entry_values} RETURNING id, "index"
        ), n AS (
            INSERT INTO governance_ledgernode (level, "index", hash) VALUES {node_values}
        ), u AS (
            UPDATE governance_ledgerhead SET size = %s WHERE id = 1
        )
        SELECT id FROM e ORDER BY "index"
        """,
        params,
    )
    return [row[0] for row in cursor.fetchall()]


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
