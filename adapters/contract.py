"""The adapter contract `opm-adapter@1.1.0`: JSON Schemas of the messages an adapter sends, and their producers.

1.1 adds portfolio tasks: a signal may release a candidate's marginal gain over a portfolio
(`statistic: marginal_log_gain`, with the portfolio's hash as `base`); 1.0 signals remain valid.

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
from jsonschema.validators import validator_for

ADAPTER_CONTRACT_NAME = "opm-adapter"
ADAPTER_CONTRACT_VERSION = "1.1.0"
ADAPTER_CONTRACT = f"{ADAPTER_CONTRACT_NAME}@{ADAPTER_CONTRACT_VERSION}"

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

SIGNAL_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["task", "value", "n", "mechanism", "parameters"],
    "properties": {
        "task": {"type": "integer", "minimum": 1},
        "value": {"type": "number"},
        "n": {"type": "integer", "minimum": 1},
        "mechanism": {"const": "gaussian"},
        "parameters": {
            "type": "object",
            "required": ["noise_multiplier", "clip_bound"],
            "properties": {
                "noise_multiplier": {"type": "number", "exclusiveMinimum": 0},
                "clip_bound": {"type": "number", "exclusiveMinimum": 0},
            },
        },
        "verifier_report": {"type": "object"},
        "statistic": {"enum": ["clipped_gain", "marginal_log_gain"]},
        "base": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    },
    "dependentRequired": {"statistic": ["base"], "base": ["statistic"]},
}

ADAPTER_CONTRACT_SCHEMAS: dict[str, dict[str, Any]] = {"manifest": MANIFEST_SCHEMA, "signal": SIGNAL_SCHEMA}

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
    "ADAPTER_CONTRACT_SCHEMAS",
    "ADAPTER_CONTRACT_VERSION",
    "MANIFEST_SCHEMA",
    "SIGNAL_SCHEMA",
    "artifact_digest",
    "build_manifest",
    "schema_errors",
]
