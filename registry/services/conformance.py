"""Conformance runs: a release's harness report, stored and ledgered; approval is gated on them."""

import datetime as dt
from typing import Any

from django.db import transaction

from governance import events
from registry.models import AdapterRelease, ConformanceRun, ConformanceVerdict, Contract


def conformance_record(
    *,
    release: AdapterRelease,
    contract: Contract,
    report: dict[str, Any],
    started_at: dt.datetime,
    finished_at: dt.datetime,
    actor: str,
) -> ConformanceRun:
    """Store the harness's JSON report; its verdict is the report's own (`passed` only if every check passed)."""
    checks = report.get("checks", [])
    verdict = report.get("verdict")
    if verdict not in ConformanceVerdict.values:
        verdict = ConformanceVerdict.ERROR
    if verdict == ConformanceVerdict.PASSED and any(not c.get("passed") for c in checks):
        verdict = ConformanceVerdict.FAILED
    with transaction.atomic(durable=True):
        run = ConformanceRun.objects.create(
            release=release,
            contract=contract,
            verdict=verdict,
            report=report,
            harness_version=str(report.get("harness_version", "")),
            started_at=started_at,
            finished_at=finished_at,
        )
        events.record_conformance_recorded(run=run, actor=actor)
    return run


def conformance_missing(*, release: AdapterRelease) -> list[Contract]:
    """The contracts this release implements whose latest conformance run did not pass."""
    missing = []
    for contract in release.contracts.all():
        latest = release.conformance_runs.filter(contract=contract).order_by("-finished_at", "-pk").first()
        if latest is None or latest.verdict != ConformanceVerdict.PASSED:
            missing.append(contract)
    return missing
