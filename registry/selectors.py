"""Registry reads (STYLE.md: every read is a selector)."""

from django.db.models import Count, QuerySet

from .models import AdapterRelease, PassSpec


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
