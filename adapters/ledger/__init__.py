"""The ledger's transparency-log core, free of Django (docs/design.md §5).

* `merkle` — RFC 9162 Merkle tree over stored complete-subtree hashes: appends, roots,
  inclusion and consistency proofs and their verification.
* `note` — C2SP signed notes with Ed25519 keys (Go ``sumdb/note`` key strings).
* `checkpoint` — C2SP tlog-checkpoint texts, signed as notes.
* `export` — the export directory format and its offline verifier.
"""
