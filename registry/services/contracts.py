"""Contract versions: proposed with their message schemas, approved only by a board decision."""

from typing import Any

import semantic_version
from django.db import transaction
from django.utils import timezone

from opm_site.errors import ErrorCode, OpmError
from registry.models import Contract, ContractStatus, ContractSupersession
from registry.schemas import check_schema, schema_errors


def parse_version(version: str) -> semantic_version.Version:
    try:
        return semantic_version.Version(version)
    except ValueError:
        raise OpmError(ErrorCode.INVALID_VERSION, f"{version!r} is not a semantic version (e.g. 1.2.0)") from None


def contract_create(
    *, name: str, version: str, message_schemas: dict[str, Any], description: str = "", supersedes: list[Contract] = ()
) -> Contract:
    """Register a contract version (status proposed); it supersedes older versions of the same name."""
    parsed = parse_version(version)
    if not isinstance(message_schemas, dict) or not message_schemas:
        raise OpmError(ErrorCode.INVALID_CONTRACT, "a contract defines at least one message schema")
    for message, schema in message_schemas.items():
        check_schema(schema, what=f"schema of message {message!r}")
    for older in supersedes:
        if older.name != name or parse_version(older.version) >= parsed:
            raise OpmError(
                ErrorCode.INVALID_CONTRACT, f"{name}@{version} can only supersede older versions of {name}, not {older}"
            )
    with transaction.atomic():
        if Contract.objects.filter(name=name, version=str(parsed)).exists():
            raise OpmError(ErrorCode.INVALID_CONTRACT, f"contract {name}@{parsed} already exists")
        contract = Contract.objects.create(
            name=name, version=str(parsed), message_schemas=message_schemas, description=description
        )
        ContractSupersession.objects.bulk_create([ContractSupersession(newer=contract, older=o) for o in supersedes])
    return contract


def contract_mark_approved(*, contract: Contract) -> Contract:
    """Called by the proposal service when the board approves the contract version."""
    if contract.status != ContractStatus.PROPOSED:
        raise OpmError(ErrorCode.INVALID_TRANSITION, f"{contract} is {contract.status}, not proposed")
    contract.status = ContractStatus.APPROVED
    contract.approved_at = timezone.now()
    contract.save(update_fields=["status", "approved_at"])
    return contract


def contract_mark_withdrawn(*, contract: Contract) -> Contract:
    contract.status = ContractStatus.WITHDRAWN
    contract.save(update_fields=["status"])
    return contract


def contract_validate_message(*, contract: Contract, message: str, document: Any) -> None:
    """Validate a message against an approved contract; all violations in one error."""
    if contract.status != ContractStatus.APPROVED:
        raise OpmError(ErrorCode.CONTRACT_NOT_APPROVED, f"contract {contract} is not approved")
    schema = contract.message_schemas.get(message)
    if schema is None:
        raise OpmError(ErrorCode.INVALID_MESSAGE, f"contract {contract} defines no message {message!r}")
    errors = schema_errors(schema, document)
    if errors:
        raise OpmError(ErrorCode.INVALID_MESSAGE, f"{message} violates {contract}: {len(errors)} errors", errors=errors)
