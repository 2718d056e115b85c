"""A deployment's key file: its Ed25519 signing key, its API key, and what it must remember between runs.

One JSON file per deployment, readable by its owner only (mode 0600, checked on every load) and always
rewritten atomically, so a crash never leaves half a key. Besides the keys it keeps:

* `log`: the market log's verifier key, pinned on first use, and the last checkpoint seen, so that a later
  run can prove the log was only appended to (a consistency proof) and that the key never changed, and the
  last checkpoint it cosigned as a witness (so that it cosigns each checkpoint once);
* `problems`: per registered problem handle, the random salt of its corpus commitment (which must stay
  on this machine: with it, the commitment could be tested against guessed corpora) and the size n.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

FORMAT = "opm-adapter-key"
VERSION = 1
FILE_MODE = 0o600


class KeyFileError(ValueError):
    """The key file is missing, unreadable, malformed or readable by others; the message says how to fix it."""


@dataclasses.dataclass
class ProblemRecord:
    """What this machine remembers about a registered problem: the commitment's salt and the corpus size."""

    salt: str
    corpus_size: int
    commitment: str

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class LogPin:
    """The market log's verifier key (pinned on first use), the last verified checkpoint, and the largest
    checkpoint this deployment cosigned as a witness (None: none yet)."""

    vkey: str
    origin: str = ""
    size: int = 0
    root: str = ""  # base64, as in the checkpoint text
    cosigned: int | None = None

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class DeploymentKey:
    """The contents of a key file. Change the fields, then `save()`."""

    path: Path
    signing_key: Ed25519PrivateKey
    api_key: str | None = None
    log: LogPin | None = None
    problems: dict[str, ProblemRecord] = dataclasses.field(default_factory=dict)
    deployment: int | None = None
    """The deployment's id on the server, once known (enrolment prints it): a key rotation names it."""

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key the operator enrols."""
        return self.signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def public_key_hex(self) -> str:
        return self.public_key.hex()

    def to_json(self) -> dict[str, Any]:
        seed = self.signing_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return {
            "format": FORMAT,
            "version": VERSION,
            "private_key": seed.hex(),
            "public_key": self.public_key_hex,
            "api_key": self.api_key,
            "deployment": self.deployment,
            "log": self.log.as_json() if self.log else None,
            "problems": {handle: record.as_json() for handle, record in sorted(self.problems.items())},
        }

    def _encode(self) -> bytes:
        return (json.dumps(self.to_json(), indent=2) + "\n").encode("utf-8")

    def save(self) -> None:
        """Rewrite the file atomically, mode 0600."""
        _write_atomically(self.path, self._encode(), replace=True)


def generate(path: str | os.PathLike[str]) -> DeploymentKey:
    """A fresh Ed25519 key written to a new file; an existing file is never overwritten (it may be enrolled)."""
    return create(DeploymentKey(Path(path), Ed25519PrivateKey.generate()))


def create(key: DeploymentKey) -> DeploymentKey:
    """Write `key` to its path, which must not exist yet (mode 0600)."""
    try:
        _write_atomically(key.path, key._encode(), replace=False)
    except FileExistsError:
        raise KeyFileError(f"{key.path} already exists: it may hold an enrolled key; choose another path") from None
    return key


def load(path: str | os.PathLike[str]) -> DeploymentKey:
    """Read a key file, refusing one that others can read (like ssh does with private keys)."""
    path = Path(path)
    try:
        info = path.stat()
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no such key file (create one with `opm-adapter keygen --out {path}`)") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise KeyFileError(
            f"{path} is accessible by other users (mode {stat.S_IMODE(info.st_mode):04o}): run `chmod 600 {path}`"
        )
    try:
        document = json.loads(raw)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError("not an opm-adapter key file")
        if document.get("version") != VERSION:
            raise ValueError(f"unknown version {document.get('version')!r}")
        seed = bytes.fromhex(document["private_key"])
        signing_key = Ed25519PrivateKey.from_private_bytes(seed)
        api_key = document.get("api_key")
        if api_key is not None and not isinstance(api_key, str):
            raise ValueError("api_key must be a string")
        deployment = document.get("deployment")
        if deployment is not None and (type(deployment) is not int or deployment < 1):
            raise ValueError("deployment must be a positive integer id")
        log = LogPin(**document["log"]) if document.get("log") else None
        if log is not None and log.cosigned is not None and (type(log.cosigned) is not int or log.cosigned < 0):
            raise ValueError("log.cosigned must be a checkpoint size")
        problems = {handle: ProblemRecord(**record) for handle, record in (document.get("problems") or {}).items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"{path}: not a valid key file: {exc}") from None
    key = DeploymentKey(path, signing_key, api_key, log, problems, deployment)
    if document.get("public_key") not in (None, key.public_key_hex):
        raise KeyFileError(f"{path}: the stored public key does not belong to the private key")
    return key


def check_api_key(value: str) -> str:
    """The API key as the server issues it, `opm_<prefix>_<secret>`; anything else is a paste error."""
    key = value.strip()
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "opm" or not parts[1] or not parts[2] or any(c.isspace() for c in key):
        raise KeyFileError("an API key looks like opm_<prefix>_<secret>, as `manage.py deployments enrol` prints it")
    return key


def _write_atomically(path: Path, data: bytes, *, replace: bool) -> None:
    """Temp file (mkstemp: mode 0600) in the same directory, fsync, then rename, or link if not `replace`
    (link fails if the target exists, so two keygens can never overwrite each other)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temp_name, path)
        else:
            os.link(temp_name, path)
            os.unlink(temp_name)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


__all__ = [
    "DeploymentKey",
    "KeyFileError",
    "LogPin",
    "ProblemRecord",
    "check_api_key",
    "create",
    "generate",
    "load",
]
