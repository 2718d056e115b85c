"""JSON Schema handling for contracts and manifests (the `jsonschema` library; every violation reported)."""

from typing import Any

import jsonschema
from jsonschema.validators import validator_for

from opm_site.errors import ErrorCode, OpmError


def schema_errors(schema: dict[str, Any], document: Any) -> list[str]:
    """Every violation of `schema` by `document`, as `path: message` lines in a stable order."""
    validator = validator_for(schema, default=jsonschema.Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]


def check_schema(schema: Any, *, what: str) -> None:
    """A contract's message schema must itself be a valid JSON Schema."""
    if not isinstance(schema, dict):
        raise OpmError(ErrorCode.INVALID_CONTRACT, f"{what} must be a JSON Schema object")
    cls = validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise OpmError(ErrorCode.INVALID_CONTRACT, f"{what} is not a valid JSON Schema: {exc.message}") from None
