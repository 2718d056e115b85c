"""Adapter releases: submission with a validated manifest, and the lifecycle's transition table."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from governance import events
from opm_site.errors import ErrorCode, OpmError
from registry.models import (
    RELEASE_TRANSITIONS,
    AdapterRelease,
    Contract,
    ContractImplementation,
    ContractStatus,
    PassOffer,
    PassSpec,
)
from registry.schemas import schema_errors

TRANSITIONS: dict[str, frozenset[str]] = {state: frozenset(to) for state, to in RELEASE_TRANSITIONS.items()}
"""The release lifecycle (docs/design.md §3), as registry.models declares it for the database triggers."""


def _claimed_contracts(manifest: dict[str, Any]) -> list[Contract]:
    contracts = []
    for claim in manifest.get("contracts", []):
        name, _, version = str(claim).partition("@")
        contract = Contract.objects.filter(name=name, version=version).first()
        if contract is None or contract.status != ContractStatus.APPROVED:
            raise OpmError(ErrorCode.CONTRACT_NOT_APPROVED, f"contract {claim} is not an approved contract version")
        contracts.append(contract)
    return contracts


def release_submit(*, manifest: dict[str, Any], vendor: str, actor: str) -> AdapterRelease:
    """Validate the manifest against every claimed contract's `manifest` schema, then record the release."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("contracts"), list) or not manifest["contracts"]:
        raise OpmError(ErrorCode.INVALID_MANIFEST, "the manifest must be an object claiming at least one contract")
    with transaction.atomic(durable=True):
        contracts = _claimed_contracts(manifest)
        errors: list[str] = []
        for contract in contracts:
            schema = contract.message_schemas.get("manifest")
            if schema is None:
                errors.append(f"(contract {contract}): defines no manifest schema")
            else:
                errors += [f"{error} (contract {contract})" for error in schema_errors(schema, manifest)]
        if errors:
            raise OpmError(ErrorCode.INVALID_MANIFEST, f"the manifest has {len(errors)} violations", errors=errors)
        specs = {
            s.name: s for s in PassSpec.objects.filter(toolchain=manifest["toolchain"], name__in=manifest["passes"])
        }
        unknown = sorted(set(manifest["passes"]) - set(specs))
        if unknown:
            raise OpmError(
                ErrorCode.UNKNOWN_PASS,
                f"{len(unknown)} passes are not in the {manifest['toolchain']} catalogue: {', '.join(unknown[:20])}",
                errors=unknown,
            )
        if AdapterRelease.objects.filter(name=manifest["name"], version=manifest["version"]).exists():
            raise OpmError(ErrorCode.INVALID_MANIFEST, f"release {manifest['name']} {manifest['version']} exists")
        release = AdapterRelease.objects.create(
            name=manifest["name"],
            version=manifest["version"],
            vendor=vendor,
            toolchain=manifest["toolchain"],
            toolchain_version=manifest["toolchain_version"],
            manifest=manifest,
            artifact_digest=manifest["artifact_digest"],
        )
        ContractImplementation.objects.bulk_create(
            [ContractImplementation(release=release, contract=c) for c in contracts]
        )
        PassOffer.objects.bulk_create([PassOffer(release=release, pass_spec=s) for s in specs.values()])
        events.record_release_submitted(release=release, actor=actor)
    return release


def release_transition(
    *, release: AdapterRelease, to_state: str, actor: str, reason: str = "", proposal=None
) -> AdapterRelease:
    """Move a release along the transition table, ledgered in the caller's transaction."""
    with transaction.atomic():
        locked = AdapterRelease.objects.select_for_update().get(pk=release.pk)
        if to_state not in TRANSITIONS.get(locked.state, ()):
            raise OpmError(
                ErrorCode.INVALID_TRANSITION,
                f"release {locked} cannot go from {locked.state} to {to_state}",
                allowed=sorted(TRANSITIONS.get(locked.state, ())),
            )
        from_state = locked.state
        locked.state = to_state
        locked.state_changed_at = timezone.now()
        locked.save(update_fields=["state", "state_changed_at"])
        events.record_release_state_changed(
            release=locked, from_state=from_state, to_state=to_state, actor=actor, proposal=proposal, reason=reason
        )
    release.state, release.state_changed_at = locked.state, locked.state_changed_at
    return release
