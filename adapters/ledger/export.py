"""Offline verification of a ledger export (docs/design.md §5), with no server and no database.

An export directory holds::

    checkpoint           the latest signed checkpoint (C2SP signed note), byte-exact
    log.vkey             the log's verifier key (<name>+<key ID>+<key>), one line
    entries.jsonl        line i is leaf i's exact bytes followed by "\\n" (not part of the leaf)
    checkpoints/         optional: every earlier checkpoint the log issued, one file each,
      <size>.note        named by its tree size in decimal without leading zeros, byte-exact

Leaf i is the RFC 8785 canonical JSON of an object with exactly the keys index, time, kind,
actor, subject and payload, where index == i. `verify_export` streams the entries once, keeping
O(log n) hashes plus one root per checkpoint, and checks that every checkpoint is signed by
log.vkey, belongs to the same origin, and has the root of the first <size> entries: so every
earlier checkpoint is consistent with the latest one and no published history was rewritten.
"""

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import rfc8785

from adapters.ledger.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from adapters.ledger.merkle import EMPTY_ROOT, RootAccumulator, leaf_hash
from adapters.ledger.note import NoteError, Verifier

CHECKPOINT_FILE = "checkpoint"
VKEY_FILE = "log.vkey"
ENTRIES_FILE = "entries.jsonl"
CHECKPOINTS_DIR = "checkpoints"
ENTRY_KEYS = frozenset({"index", "time", "kind", "actor", "subject", "payload"})
PROGRESS_EVERY = 1000
"""`verify_export` reports progress after every this many entries, and once at the end."""

_CHECKPOINT_NAME_RE = re.compile(r"(0|[1-9][0-9]*)\.note")


class LeafError(ValueError):
    """Leaf bytes that are not a well-formed canonical ledger entry."""


class ExportError(ValueError):
    """An export that does not verify; `first_bad_index` is the first bad entry when known."""

    def __init__(self, message: str, first_bad_index: int | None = None) -> None:
        super().__init__(message)
        self.first_bad_index = first_bad_index


@dataclass(frozen=True)
class ExportReport:
    """What a successful verification established."""

    origin: str
    size: int
    root: bytes
    key_name: str
    checkpoint_sizes: tuple[int, ...]
    """Sizes of the earlier checkpoints found consistent with the latest one, ascending."""


def encode_leaf(entry: Mapping[str, object]) -> bytes:
    """The leaf bytes of a ledger entry: RFC 8785 canonical JSON of exactly ENTRY_KEYS."""
    if set(entry) != ENTRY_KEYS:
        raise LeafError(f"a ledger entry has exactly the keys {sorted(ENTRY_KEYS)}")
    if type(entry["index"]) is not int or entry["index"] < 0:
        raise LeafError("a ledger entry's index is a non-negative integer")
    return rfc8785.dumps(dict(entry))


def decode_leaf(leaf: bytes, index: int) -> dict[str, object]:
    """Parse leaf `index`, checking it is canonical JSON of exactly ENTRY_KEYS with that index."""
    try:
        entry = json.loads(leaf.decode("utf-8"))
    except UnicodeDecodeError:
        raise LeafError("is not valid UTF-8") from None
    except (ValueError, RecursionError):
        raise LeafError("is not valid JSON") from None
    try:
        canonical = rfc8785.dumps(entry)
    except (ValueError, TypeError, RecursionError) as exc:
        raise LeafError(f"cannot be canonical JSON ({exc})") from None
    if canonical != leaf:
        raise LeafError("is not RFC 8785 canonical JSON")
    if not isinstance(entry, dict) or set(entry) != ENTRY_KEYS:
        raise LeafError(f"is not an object with exactly the keys {', '.join(sorted(ENTRY_KEYS))}")
    if type(entry["index"]) is not int or entry["index"] != index:
        raise LeafError(f"has index {entry['index']!r}, expected {index}")
    return entry


def write_export(
    directory: str | Path,
    *,
    checkpoint_note: bytes,
    vkey: str,
    leaves: Iterable[bytes],
    earlier_checkpoints: Mapping[int, bytes] | None = None,
) -> None:
    """Write an export directory in the layout above (the server's export uses this too)."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    (root / CHECKPOINT_FILE).write_bytes(checkpoint_note)
    (root / VKEY_FILE).write_bytes(vkey.encode("utf-8") + b"\n")
    with (root / ENTRIES_FILE).open("wb") as entries:
        for leaf in leaves:
            if b"\n" in leaf:
                raise LeafError("a leaf cannot contain a newline")
            entries.write(leaf + b"\n")
    if earlier_checkpoints:
        (root / CHECKPOINTS_DIR).mkdir(exist_ok=True)
        for size, note in sorted(earlier_checkpoints.items()):
            (root / CHECKPOINTS_DIR / f"{size}.note").write_bytes(note)


def _read_vkey(path: Path) -> Verifier:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ExportError(f"cannot read {VKEY_FILE}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
        return Verifier.from_vkey(text.removesuffix("\n"))
    except (UnicodeDecodeError, NoteError) as exc:
        raise ExportError(f"{VKEY_FILE} is not a verifier key: {exc}") from None


def _read_checkpoint(path: Path, verifier: Verifier, label: str) -> Checkpoint:
    try:
        msg = path.read_bytes()
    except OSError as exc:
        raise ExportError(f"cannot read {label}: {exc.strerror}") from None
    try:
        return open_checkpoint(msg, verifier)
    except (NoteError, CheckpointError) as exc:
        raise ExportError(f"{label} does not verify with {VKEY_FILE}: {exc}") from None


def _read_earlier_checkpoints(directory: Path, verifier: Verifier, latest: Checkpoint) -> dict[int, bytes]:
    """Roots by size of the checkpoints in checkpoints/, each signed and of the same log."""
    if not directory.exists():
        return {}
    roots: dict[int, bytes] = {}
    for path in sorted(directory.iterdir()):
        label = f"{CHECKPOINTS_DIR}/{path.name}"
        match = _CHECKPOINT_NAME_RE.fullmatch(path.name)
        if match is None or not path.is_file():
            raise ExportError(f"unexpected {label}: only <size>.note files belong there")
        checkpoint = _read_checkpoint(path, verifier, label)
        if checkpoint.size != int(match.group(1)):
            raise ExportError(f"{label} holds a checkpoint of size {checkpoint.size}")
        if checkpoint.origin != latest.origin:
            raise ExportError(f"{label} is for origin {checkpoint.origin!r}, not {latest.origin!r}")
        if checkpoint.size > latest.size:
            raise ExportError(f"{label} is larger than the latest checkpoint ({latest.size} entries)")
        if checkpoint.size == latest.size and checkpoint.root != latest.root:
            raise ExportError(f"{label} and {CHECKPOINT_FILE} have the same size but different roots")
        roots[checkpoint.size] = checkpoint.root
    return roots


def verify_export(directory: str | Path, progress: Callable[[int], None] | None = None) -> ExportReport:
    """Verify an export directory (layout above) and report what it proves; else ExportError.

    `progress`, if given, receives the number of entries verified so far.
    """
    root_dir = Path(directory)
    verifier = _read_vkey(root_dir / VKEY_FILE)
    latest = _read_checkpoint(root_dir / CHECKPOINT_FILE, verifier, CHECKPOINT_FILE)
    earlier = _read_earlier_checkpoints(root_dir / CHECKPOINTS_DIR, verifier, latest)
    expected = {**earlier, latest.size: latest.root}
    if expected.get(0, EMPTY_ROOT) != EMPTY_ROOT:
        raise ExportError("a checkpoint of size 0 does not have the empty tree's root")

    accumulator = RootAccumulator()
    last_matched = 0
    try:
        entries = (root_dir / ENTRIES_FILE).open("rb")
    except OSError as exc:
        raise ExportError(f"cannot read {ENTRIES_FILE}: {exc.strerror}") from None
    with entries:
        for index, line in enumerate(entries):
            if index >= latest.size:
                raise ExportError(
                    f"{ENTRIES_FILE} has more entries than the {latest.size} the checkpoint covers",
                    first_bad_index=index,
                )
            if not line.endswith(b"\n"):
                raise ExportError(f"entry {index} does not end with a newline", first_bad_index=index)
            leaf = line[:-1]
            try:
                decode_leaf(leaf, index)
            except LeafError as exc:
                raise ExportError(f"entry {index} {exc}", first_bad_index=index) from None
            accumulator.append(leaf_hash(leaf))
            size = index + 1
            if size in expected:
                if accumulator.root() != expected[size]:
                    raise ExportError(
                        f"the first {size} entries do not have the root of the checkpoint of size {size}"
                        f" (entries {last_matched}..{size - 1} differ from what was signed)"
                    )
                last_matched = size
            if progress is not None and size % PROGRESS_EVERY == 0:
                progress(size)
    if accumulator.size < latest.size:
        raise ExportError(
            f"{ENTRIES_FILE} has {accumulator.size} entries but the checkpoint covers {latest.size}",
            first_bad_index=accumulator.size,
        )
    if progress is not None:
        progress(accumulator.size)
    return ExportReport(
        origin=latest.origin,
        size=latest.size,
        root=latest.root,
        key_name=verifier.name,
        checkpoint_sizes=tuple(sorted(earlier)),
    )
