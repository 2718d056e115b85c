"""`manage.py conformance record`: store a conformance report (`opm-adapter conformance --json`) for a release."""

import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from opm_site.errors import OpmError
from registry.models import AdapterRelease, Contract
from registry.services import conformance_record


class Command(BaseCommand):
    help = "Record a release's conformance report (the JSON `opm-adapter conformance --json` prints) and ledger it."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{record}")
        record = sub.add_parser("record", help="Store a report as a ConformanceRun of the release.")
        record.add_argument("--release", required=True, type=int, help="Id of the adapter release.")
        record.add_argument("--report", required=True, help="Path of the JSON report, or - for standard input.")

    def handle(self, *args, action: str, release: int, report: str, **options) -> None:
        target = AdapterRelease.objects.filter(pk=release).first()
        if target is None:
            raise CommandError(f"no adapter release with id {release}")
        try:
            text = self.stdin.read() if report == "-" else Path(report).read_text()
            document = json.loads(text)
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"cannot read the report {report}: {exc}") from None
        if not isinstance(document, dict) or "contract" not in document:
            raise CommandError("the report must be a JSON object naming its `contract` (name@version)")
        name, _, version = str(document["contract"]).partition("@")
        contract = Contract.objects.filter(name=name, version=version).first()
        if contract is None:
            raise CommandError(f"unknown contract {document['contract']!r}")
        if not target.contracts.filter(pk=contract.pk).exists():
            raise CommandError(f"release {target} does not implement {contract}")
        now = dt.datetime.now(dt.UTC)
        started = parse_datetime(str(document.get("started_at", ""))) or now
        finished = parse_datetime(str(document.get("finished_at", ""))) or now
        try:
            run = conformance_record(
                release=target,
                contract=contract,
                report=document,
                started_at=started,
                finished_at=max(finished, started),
                actor="operator",
            )
        except OpmError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(self.style.SUCCESS(f"recorded conformance of {target} against {contract}: {run.verdict}"))
