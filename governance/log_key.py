"""The transparency log's Ed25519 signing key: generated on first use into OPM_KEY_DIR (mode 0600)."""

import os
from functools import cache
from pathlib import Path

from django.conf import settings

from adapters.ledger.note import Signer, generate_signer_key

SIGNER_FILE = "log.skey"


def _key_path() -> Path:
    return Path(settings.OPM_KEY_DIR) / SIGNER_FILE


def _create_once(path: Path, name: str) -> None:
    """Write a new key unless one exists; O_EXCL makes concurrent first runs agree on one key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    skey, _ = generate_signer_key(name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(skey + "\n")


@cache
def _signer(path: str, origin: str) -> Signer:
    key_path = Path(path)
    if not key_path.exists():
        _create_once(key_path, origin)
    signer = Signer.from_skey(key_path.read_text().strip())
    if signer.name != origin:
        raise RuntimeError(
            f"the log key in {key_path} is named {signer.name!r} but OPM_LOG_ORIGIN is {origin!r}; "
            "move the key away or set OPM_LOG_ORIGIN to match"
        )
    return signer


def log_signer() -> Signer:
    """The log's signer; its key name is the log's origin, as C2SP checkpoints expect."""
    return _signer(str(_key_path()), settings.OPM_LOG_ORIGIN)


OPERATOR_FILE = "operator.skey"


def operator_signer() -> Signer:
    """The operator's signer for backtest attestations: a key of its own, named `<log origin>/operator`, so an
    attestation can never pass for a checkpoint of the log."""
    return _signer(str(Path(settings.OPM_KEY_DIR) / OPERATOR_FILE), f"{settings.OPM_LOG_ORIGIN}/operator")
