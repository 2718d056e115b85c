"""The adapter's local result cache: prepared inputs and reference results, keyed by content.

Keys are SHA-256 digests over the input bytes and the identity of the tools that produced the
result (versions and fixed flags), so a new toolchain or a changed program never reads a stale
entry, and nothing needs invalidating. Writes are atomic (temporary file + rename), so parallel
evaluations may fill the same cache. It holds raw per-program data and stays on this machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CACHE_ENV = "OPM_ADAPTER_CACHE"
LAYOUT_VERSION = "v1"


def default_cache_dir() -> Path:
    """`$OPM_ADAPTER_CACHE` if set, else `~/.cache/opm-adapter`."""
    override = os.environ.get(CACHE_ENV)
    return Path(override).expanduser() if override else Path.home() / ".cache" / "opm-adapter"


def content_key(*parts: str | bytes) -> str:
    """Hex SHA-256 over length-prefixed parts, so ("ab", "c") and ("a", "bc") differ."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


class Cache:
    """Files under `<root>/v1/<kind>/<key><suffix>`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or default_cache_dir()) / LAYOUT_VERSION

    def path(self, kind: str, key: str, suffix: str = "") -> Path:
        return self.root / kind / f"{key}{suffix}"

    def write_bytes(self, kind: str, key: str, data: bytes, suffix: str = "") -> Path:
        """Store `data` atomically and return its path."""
        target = self.path(kind, key, suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    def read_json(self, kind: str, key: str) -> Any | None:
        """The stored document, or None if absent or unreadable (then it is simply recomputed)."""
        try:
            return json.loads(self.path(kind, key, ".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write_json(self, kind: str, key: str, document: Any) -> None:
        self.write_bytes(kind, key, json.dumps(document, sort_keys=True).encode(), ".json")
