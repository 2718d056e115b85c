"""The marketplace's own adapter contract, `opm-adapter` at `ADAPTER_CONTRACT_VERSION`: the messages it defines.

The demo and tests register it; the board approves it like any other contract version. The schemas
are defined once, on the adapter side (`adapters.contract`, free of Django), so the conformance
harness checks exactly what the server validates.
"""

from adapters.contract import (
    ADAPTER_CONTRACT_NAME,
    ADAPTER_CONTRACT_RANGE,
    ADAPTER_CONTRACT_SCHEMAS,
    ADAPTER_CONTRACT_VERSION,
    MANIFEST_SCHEMA,
    ROTATION_SCHEMA,
    SIGNAL_SCHEMA,
)

__all__ = [
    "ADAPTER_CONTRACT_NAME",
    "ADAPTER_CONTRACT_RANGE",
    "ADAPTER_CONTRACT_SCHEMAS",
    "ADAPTER_CONTRACT_VERSION",
    "MANIFEST_SCHEMA",
    "ROTATION_SCHEMA",
    "SIGNAL_SCHEMA",
]
