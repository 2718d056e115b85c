"""`manage.py passes`: the pass catalogue, read from the toolchains' own registries."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from adapters.toolchains import ToolchainUnavailable
from registry import selectors, services
from registry.models import Toolchain

SUPPORTED = ["llvm"]


def _llvm_catalogue() -> tuple[str, list]:
    from adapters.toolchains.llvm import llvm_version, pass_catalogue

    return llvm_version(), pass_catalogue()


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
        if toolchain not in SUPPORTED:
            raise CommandError(
                f"no catalogue reader for toolchain {toolchain!r} yet (supported: {', '.join(SUPPORTED)})"
            )
        try:
            version, entries = _llvm_catalogue()
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
