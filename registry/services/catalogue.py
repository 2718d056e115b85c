"""The pass catalogue, synced from the toolchains' own registries."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from django.db import transaction
from django.utils import timezone

from registry.models import PassKind, PassSpec, Toolchain


class CatalogueEntry(Protocol):
    """What a toolchain driver reports per pass (adapters.toolchains.*.PassInfo satisfies it)."""

    name: str
    kind: str
    parameters: str | None
    description: str

    def parameter_schema(self) -> dict: ...


@dataclass(frozen=True)
class CatalogueSyncSummary:
    created: int
    updated: int
    unchanged: int
    retired: int

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


# LoopNest passes are loop passes to the plan author; the driver may report either.
_KIND_ALIASES = {"loopnest": PassKind.LOOP}


def pass_catalogue_sync(
    *, toolchain: str, toolchain_version: str, entries: Iterable[CatalogueEntry]
) -> CatalogueSyncSummary:
    """Upsert a toolchain's pass catalogue; passes the toolchain no longer reports are marked unavailable.

    Idempotent: a second sync of the same catalogue changes nothing. Passes are never deleted because
    plans and releases may refer to them.
    """
    if toolchain not in Toolchain.values:
        raise ValueError(f"unknown toolchain {toolchain!r}; expected one of {', '.join(Toolchain.values)}")
    now = timezone.now()
    created = updated = unchanged = 0
    seen: set[str] = set()
    with transaction.atomic(durable=True):
        existing = {spec.name: spec for spec in PassSpec.objects.select_for_update().filter(toolchain=toolchain)}
        for entry in entries:
            if entry.name in seen:
                continue
            seen.add(entry.name)
            fields = {
                "kind": _KIND_ALIASES.get(entry.kind, entry.kind),
                "parameter_syntax": entry.parameters or "",
                "parameter_schema": entry.parameter_schema(),
                "description": entry.description,
                "toolchain_version": toolchain_version,
                "available": True,
            }
            if fields["kind"] not in PassKind.values:
                raise ValueError(f"pass {entry.name!r} has unknown kind {entry.kind!r}")
            spec = existing.get(entry.name)
            if spec is None:
                PassSpec.objects.create(toolchain=toolchain, name=entry.name, synced_at=now, **fields)
                created += 1
            elif any(getattr(spec, key) != value for key, value in fields.items()):
                for key, value in fields.items():
                    setattr(spec, key, value)
                spec.synced_at = now
                spec.save()
                updated += 1
            else:
                unchanged += 1
        retired = (
            PassSpec.objects.filter(toolchain=toolchain, available=True)
            .exclude(name__in=seen)
            .update(available=False, synced_at=now)
        )
    return CatalogueSyncSummary(created=created, updated=updated, unchanged=unchanged, retired=retired)
