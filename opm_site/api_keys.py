"""Deployment API keys: `opm_<prefix>_<secret>`, shown once; only the prefix and SHA-256 of the secret are kept.

The secret is 256 random bits, so a fast hash is the right one (a slow password hash would only slow every
request); comparison is constant-time.
"""

import hashlib
import hmac
import secrets

PREFIX_BYTES = 6
SECRET_BYTES = 32


def key_generate() -> tuple[str, str, str]:
    """(the key to show once, its prefix, the hash to store)."""
    prefix = secrets.token_hex(PREFIX_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return f"opm_{prefix}_{secret}", prefix, key_hash(secret)


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def key_split(key: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "opm" or len(parts[1]) != 2 * PREFIX_BYTES or not parts[2]:
        return None
    return parts[1], parts[2]


def key_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(key_hash(secret), stored_hash)
