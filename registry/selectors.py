"""Registry reads (every read is a selector)."""

from collections.abc import Sequence
from dataclasses import dataclass

import semantic_version
from django.db.models import Count, QuerySet

from opm_site.errors import ErrorCode, OpmError

from .models import AdapterRelease, ConformanceRun, Contract, ContractStatus, PassSpec, ReleaseState


def pass_catalogue(*, toolchain: str, available_only: bool = True) -> QuerySet[PassSpec]:
    """The passes of one toolchain in catalogue order."""
    qs = PassSpec.objects.filter(toolchain=toolchain)
    return qs.filter(available=True) if available_only else qs


def pass_counts_by_toolchain() -> dict[str, int]:
    """How many available passes each toolchain's catalogue holds."""
    rows = PassSpec.objects.filter(available=True).values("toolchain").annotate(n=Count("id"))
    return {row["toolchain"]: row["n"] for row in rows}


def release_counts_by_state() -> dict[str, int]:
    """How many adapter releases are in each lifecycle state."""
    rows = AdapterRelease.objects.values("state").annotate(n=Count("id"))
    return {row["state"]: row["n"] for row in rows}


def releases_discover(
    *, contract: str, toolchain: str | None = None, passes: Sequence[str] = ()
) -> QuerySet[AdapterRelease]:
    """Approved releases implementing an approved contract compatible with `name@<npm range>` (e.g.
    `opm-adapter@^1.2`), for a toolchain, offering every pass in `passes`."""
    name, _, spec_text = contract.partition("@")
    try:
        spec = semantic_version.NpmSpec(spec_text or "*")
    except ValueError:
        raise OpmError(ErrorCode.INVALID_VERSION, f"{spec_text!r} is not a semver range (e.g. ^1.2)") from None
    compatible = [
        c.pk
        for c in Contract.objects.filter(name=name, status=ContractStatus.APPROVED)
        if semantic_version.Version(c.version) in spec
    ]
    releases = AdapterRelease.objects.filter(state=ReleaseState.APPROVED, contracts__in=compatible).distinct()
    if toolchain:
        releases = releases.filter(toolchain=toolchain)
    for name in set(passes):
        releases = releases.filter(passes__name=name)
    return releases.prefetch_related("contracts").order_by("name", "version")


def release_latest_conformance(*, release: AdapterRelease) -> list[ConformanceRun]:
    """The latest conformance run per contract this release implements."""
    latest: dict[int, ConformanceRun] = {}
    for run in release.conformance_runs.select_related("contract").order_by("-finished_at", "-pk"):
        latest.setdefault(run.contract_id, run)
    return list(latest.values())


@dataclass(frozen=True)
class ConformanceCheck:
    name: str
    passed: bool | None
    detail: str


def conformance_checks(*, run: ConformanceRun) -> list[ConformanceCheck]:
    """The report's checks, one per row, whatever else the harness wrote (a check it could not read is shown
    as such rather than dropped)."""
    report = run.report if isinstance(run.report, dict) else {}
    checks = report.get("checks") if isinstance(report.get("checks"), list) else []
    rows = []
    for check in checks:
        if not isinstance(check, dict):
            rows.append(ConformanceCheck(name="(unreadable)", passed=None, detail=str(check)))
            continue
        passed = check.get("passed")
        rows.append(
            ConformanceCheck(
                name=str(check.get("name", "(unnamed)")),
                passed=passed if isinstance(passed, bool) else None,
                detail=str(check.get("detail", "")),
            )
        )
    return rows


def release_pass_names(*, release: AdapterRelease) -> list[str]:
    """The passes the release offers (its recorded offers, as discovery reads them), by name."""
    return list(release.passes.order_by("name").values_list("name", flat=True))
