"""`manage.py passes`: the pass catalogue, read from the toolchains' own registries."""

from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from adapters.cli import CATALOGUES
from adapters.toolchains import ToolchainUnavailable
from registry import selectors, services
from registry.models import Toolchain


@dataclass(frozen=True)
class _Entry:
    """One pass of a catalogue document, shaped as pass_catalogue_sync reads it."""

    name: str
    kind: str
    parameters: str | None
    description: str
    schema: dict[str, Any]

    def parameter_schema(self) -> dict[str, Any]:
        return self.schema


def _catalogue(toolchain: str) -> tuple[str, list[_Entry]]:
    """The toolchain's own catalogue, as `opm-adapter passes --toolchain T` prints it."""
    document = CATALOGUES[toolchain]()
    entries = [
        _Entry(p["name"], p["kind"], p.get("parameters"), p["description"], p.get("parameter_schema") or {})
        for p in document["passes"]
    ]
    return str(document["version"]), entries


class Command(BaseCommand):
    help = "Sync or list a toolchain's pass catalogue (PassSpec) from the toolchain itself."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{sync,list}")
        sync = sub.add_parser("sync", help="Read the toolchain's pass registry and upsert PassSpec rows.")
        sync.add_argument("--toolchain", required=True, choices=Toolchain.values)
        listing = sub.add_parser("list", help="Print the catalogue stored for a toolchain.")
        listing.add_argument("--toolchain", required=True, choices=Toolchain.values)

    def handle(self, *args, action: str, toolchain: str, **options) -> None:
        if action == "sync":
            self._sync(toolchain)
        else:
            self._list(toolchain)

    def _sync(self, toolchain: str) -> None:
        if toolchain not in CATALOGUES:
            raise CommandError(f"no catalogue reader for {toolchain!r} (known: {', '.join(sorted(CATALOGUES))})")
        try:
            version, entries = _catalogue(toolchain)
        except ToolchainUnavailable as exc:
            raise CommandError(str(exc)) from None
        summary = services.pass_catalogue_sync(toolchain=toolchain, toolchain_version=version, entries=entries)
        self.stdout.write(
            self.style.SUCCESS(
                f"{toolchain} {version}: {summary.total} passes "
                f"({summary.created} new, {summary.updated} updated, {summary.unchanged} unchanged, "
                f"{summary.retired} no longer offered)"
            )
        )

    def _list(self, toolchain: str) -> None:
        specs = list(selectors.pass_catalogue(toolchain=toolchain))
        if not specs:
            raise CommandError(f"no passes stored for {toolchain}; run `manage.py passes sync --toolchain {toolchain}`")
        for spec in specs:
            params = f"<{spec.parameter_syntax}>" if spec.parameter_syntax else ""
            self.stdout.write(f"{spec.kind:9} {spec.name}{params}  {spec.description}")
        self.stdout.write(f"{len(specs)} passes")
