"""C2SP transparency-log checkpoints (https://c2sp.org/tlog-checkpoint).

A checkpoint is the text of a signed note: the log's origin, the tree size in decimal and the
base64 RFC 6962/9162 root, one per line, then optional non-empty extension lines::

    example.org/ledger
    42
    4vTQFA0h8Nk5vX0hxJdKZ0Iy0Q1YqTWkxJ8mZ0hVxYc=

Parsing is strict, so a checkpoint has one text for one (origin, size, root, extensions).
"""

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adapters.ledger.merkle import HASH_SIZE
from adapters.ledger.note import Signer, Verifier, open_note, sign_note

MAX_TREE_SIZE = 2**63 - 1
"""Sizes are int64 in Go's tlog and most log tooling."""

_SIZE_RE = re.compile(r"0|[1-9][0-9]*")


class CheckpointError(ValueError):
    """A checkpoint text that does not follow the tlog-checkpoint format."""


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the log's origin, its size and its root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The checkpoint note text."""
        return format_checkpoint(self.origin, self.size, self.root, self.extensions)


def _check_line(line: str, what: str) -> None:
    if not line:
        raise CheckpointError(f"checkpoint {what} is empty")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in line):
        raise CheckpointError(f"checkpoint {what} contains a control character")


def format_checkpoint(origin: str, size: int, root: bytes, extensions: Sequence[str] = ()) -> str:
    """``<origin>\\n<size>\\n<base64 root>\\n`` plus extension lines, each ending in a newline."""
    _check_line(origin, "origin")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_TREE_SIZE:
        raise CheckpointError(f"checkpoint size must be an integer in [0, 2^63), got {size!r}")
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise CheckpointError(f"checkpoint root must be {HASH_SIZE} bytes")
    for extension in extensions:
        _check_line(extension, "extension line")
    lines = [origin, str(size), base64.b64encode(root).decode("ascii"), *extensions]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text (as returned by `open_note`), rejecting any deviation."""
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs an origin, a size and a root hash line")
    origin, size_line, root_line, *extensions = lines
    _check_line(origin, "origin")
    for extension in extensions:
        _check_line(extension, "extension line")
    if not _SIZE_RE.fullmatch(size_line):
        raise CheckpointError(f"checkpoint size {size_line!r} is not a decimal without leading zeros")
    size = int(size_line)
    if size > MAX_TREE_SIZE:
        raise CheckpointError(f"checkpoint size {size} is larger than 2^63-1")
    try:
        root = base64.b64decode(root_line.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise CheckpointError("checkpoint root hash is not valid base64") from None
    if len(root) != HASH_SIZE or base64.b64encode(root).decode("ascii") != root_line:
        raise CheckpointError(f"checkpoint root hash is not the canonical base64 of {HASH_SIZE} bytes")
    return Checkpoint(origin, size, root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> bytes:
    """The checkpoint as a signed note, as published and exported."""
    return sign_note(checkpoint.text, signer)


def open_checkpoint(msg: bytes, verifiers: Verifier | Iterable[Verifier]) -> Checkpoint:
    """Verify a signed checkpoint note and parse its text (NoteError or CheckpointError)."""
    return parse_checkpoint(open_note(msg, verifiers).text)
