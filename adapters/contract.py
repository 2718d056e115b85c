"""The adapter contract `opm-adapter@2.0.0`: JSON Schemas of the messages an adapter sends, and their producers.

2.0 (breaking) makes a signal the full statement of what was measured, all of it signed: the task, its round,
the problem (corpus handle), the phase, the candidate plan's hash and the portfolio it joins (`base`, or null),
the statistic, n, the mechanism with its clip bound and noise multiplier, and the value. A 1.x signal signed
only the value and the mechanism, so the ledger's plan, phase and problem could be rewritten under it: servers
refuse 1.x signals and lease tasks only to releases implementing `^2.0`. 2.0 also defines the signing-key
rotation statement (`rotation_statement`), signed by the old key.
1.1 added portfolio tasks (`statistic: marginal_log_gain` over the portfolio `base`).

Both sides read the schemas from here (the server's `registry.contract_defs` re-exports them), so the
messages the conformance harness checks are, by construction, the ones the server validates. This
module is free of Django: it installs with the adapter on a participant's machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import rfc8785
from jsonschema.validators import validator_for

ADAPTER_CONTRACT_NAME = "opm-adapter"
ADAPTER_CONTRACT_VERSION = "2.0.0"
ADAPTER_CONTRACT = f"{ADAPTER_CONTRACT_NAME}@{ADAPTER_CONTRACT_VERSION}"
ADAPTER_CONTRACT_RANGE = f"{ADAPTER_CONTRACT_NAME}@^2.0"
"""The releases a server of this version leases tasks to: those that sign the full statement."""
ROTATION_PURPOSE = "opm-signing-key-rotation"

_NAME = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$", "maxLength": 100}

MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "version", "toolchain", "toolchain_version", "artifact_digest", "contracts", "passes"],
    "properties": {
        "name": _NAME,
        "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$"},
        "toolchain": {"enum": ["llvm", "gcc", "cranelift", "synthetic"]},
        "toolchain_version": {"type": "string", "minLength": 1, "maxLength": 64},
        "artifact_digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
        "contracts": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": r"^[a-z0-9-]+@\d+\.\d+\.\d+$"},
        },
        "passes": {"type": "array", "uniqueItems": True, "items": {"type": "string", "minLength": 1}},
        "description": {"type": "string", "maxLength": 2000},
    },
}

_HASH = {"type": "string", "pattern": "^[0-9a-f]{64}$"}

SIGNAL_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": [
        "task",
        "round",
        "problem",
        "phase",
        "plan",
        "base",
        "statistic",
        "n",
        "mechanism",
        "parameters",
        "value",
    ],
    "properties": {
        "task": {"type": "integer", "minimum": 1},
        "round": {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
        "problem": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$"},
        "phase": {"enum": ["", "selection", "confirmation"]},
        "plan": _HASH,
        "base": {"oneOf": [_HASH, {"type": "null"}]},
        "statistic": {"enum": ["clipped_gain", "marginal_log_gain"]},
        "n": {"type": "integer", "minimum": 1},
        "mechanism": {"const": "gaussian"},
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "required": ["noise_multiplier", "clip_bound", "std", "sensitivity"],
            "properties": {
                "noise_multiplier": {"type": "number", "exclusiveMinimum": 0},
                "clip_bound": {"type": "number", "exclusiveMinimum": 0},
                "std": {"type": "number", "exclusiveMinimum": 0},
                "sensitivity": {"type": "number", "exclusiveMinimum": 0},
            },
        },
        "value": {"type": "number"},
    },
    "if": {"properties": {"statistic": {"const": "clipped_gain"}}},
    "then": {"properties": {"base": {"type": "null"}}},
    "else": {"properties": {"base": _HASH}},
}
"""A signal is the statement the deployment signs (RFC 8785 bytes, Ed25519): every key is always present, so
nothing the ledger says about a signal is left outside its signature. `base` is null exactly for clipped gains."""

SIGNAL_PAYLOAD_COPIES = {
    "task": "task",
    "round": "round",
    "problem": "problem",
    "phase": "phase",
    "plan_hash": "plan",
    "base": "base",
}
"""The server's `signal.accepted` ledger payload keeps readable copies of these signed fields (payload key ->
statement key) beside the signed body; the adapter and the backtest refuse an entry where a copy differs."""

ROTATION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["purpose", "deployment", "old_public_key", "new_public_key"],
    "properties": {
        "purpose": {"const": ROTATION_PURPOSE},
        "deployment": {"type": "integer", "minimum": 1},
        "old_public_key": _HASH,
        "new_public_key": _HASH,
    },
}
"""What the old signing key signs to hand a deployment over to a new one; the server refuses a new key the
deployment ever held, so a statement cannot be replayed to return to an old key."""


def rotation_statement(*, deployment: int, old_public_key: bytes, new_public_key: bytes) -> bytes:
    """The RFC 8785 bytes the old key signs to rotate `deployment`'s signing key (both sides build it here)."""
    return rfc8785.dumps(
        {
            "purpose": ROTATION_PURPOSE,
            "deployment": deployment,
            "old_public_key": old_public_key.hex(),
            "new_public_key": new_public_key.hex(),
        }
    )


ADAPTER_CONTRACT_SCHEMAS: dict[str, dict[str, Any]] = {
    "manifest": MANIFEST_SCHEMA,
    "signal": SIGNAL_SCHEMA,
    "rotation": ROTATION_SCHEMA,
}

PACKAGE_DIR = Path(__file__).resolve().parent


def schema_errors(schema: dict[str, Any], document: Any) -> list[str]:
    """Every violation of `schema` by `document`, as `path: message` lines in a stable order."""
    validator = validator_for(schema, default=jsonschema.Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]


def adapter_version() -> str:
    """The installed `openpassmarket` distribution's version (the adapter ships in it)."""
    try:
        return metadata.version("openpassmarket")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def artifact_digest(root: Path = PACKAGE_DIR) -> str:
    """`sha256:<hex>` over the adapter's Python sources (sorted relative paths and contents, tests
    excluded), so the digest names exactly the code a participant runs."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*.py") if "tests" not in p.relative_to(root).parts):
        relative = path.relative_to(root).as_posix().encode()
        data = path.read_bytes()
        for part in (relative, data):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return f"sha256:{digest.hexdigest()}"


def build_manifest(
    *,
    toolchain: str,
    toolchain_version: str,
    passes: Iterable[str],
    name: str | None = None,
    version: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """The release manifest for an adapter of `toolchain`: what the server registers and the board
    approves. Pass names are de-duplicated (a pass may be registered for several IR units)."""
    manifest: dict[str, Any] = {
        "name": name or f"opm-adapter-{toolchain}",
        "version": version or adapter_version(),
        "toolchain": toolchain,
        "toolchain_version": toolchain_version,
        "artifact_digest": artifact_digest(),
        "contracts": [ADAPTER_CONTRACT],
        "passes": sorted(set(passes)),
    }
    if description is not None:
        manifest["description"] = description
    return manifest


__all__ = [
    "ADAPTER_CONTRACT",
    "ADAPTER_CONTRACT_NAME",
    "ADAPTER_CONTRACT_RANGE",
    "ADAPTER_CONTRACT_SCHEMAS",
    "ADAPTER_CONTRACT_VERSION",
    "MANIFEST_SCHEMA",
    "ROTATION_PURPOSE",
    "ROTATION_SCHEMA",
    "SIGNAL_PAYLOAD_COPIES",
    "SIGNAL_SCHEMA",
    "artifact_digest",
    "build_manifest",
    "rotation_statement",
    "schema_errors",
]
