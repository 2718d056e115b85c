"""The marketplace's own adapter contract, `opm-adapter@1.0.0`: the messages every adapter exchanges.

The demo and tests register it; the board approves it like any other contract version.
"""

ADAPTER_CONTRACT_NAME = "opm-adapter"
ADAPTER_CONTRACT_VERSION = "1.0.0"

_NAME = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$", "maxLength": 100}

MANIFEST_SCHEMA = {
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

SIGNAL_SCHEMA = {
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
    },
}

ADAPTER_CONTRACT_SCHEMAS = {"manifest": MANIFEST_SCHEMA, "signal": SIGNAL_SCHEMA}
