"""Measurements kept across runs: one plan on one prepared program, stored by content.

Searches, portfolio evaluations and the work loop measure the same (plan, program) pairs again and again:
a portfolio's members on every task that asks about it, a search's start plan in every search. A stored
measurement is keyed by the driver's class and identity (tool versions and fixed flags), the plan's content
hash and the prepared input's SHA-256, so a new toolchain, plan or program never reads a stale entry. Only
use it with drivers whose `identity()` covers everything that changes a measurement (no test hooks), as the
CLI's drivers do. Like the rest of the cache, it holds raw per-program data and stays on this machine.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from adapters.cache import Cache, content_key
from adapters.drivers.base import Driver, Measurement
from adapters.plan import Plan

KIND = "measure"
# Verdicts that depend on the machine's load rather than on the plan: never stored.
TRANSIENT_VERDICTS = ("timeout", "out of memory")


def cache_of(driver: Driver) -> Cache | None:
    """The driver's own cache when it has one and its measurements may be stored (drivers built for the CLI,
    without test hooks), else None."""
    cache = getattr(driver, "cache", None)
    return cache if isinstance(cache, Cache) and driver.measurements_cacheable() else None


class MeasurementStore:
    """`driver.measure`, answered from `cache` when it holds the pair (None: always measured afresh)."""

    def __init__(self, driver: Driver, cache: Cache | None) -> None:
        self.driver = driver
        self.cache = cache
        self._inputs: dict[Path, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_driver(cls, driver: Driver) -> MeasurementStore:
        """A store in the driver's own cache when measurements may be kept there (see `cache_of`)."""
        return cls(driver, cache_of(driver))

    def measure(self, plan: Plan, program: Path) -> Measurement:
        """The plan's verified measurement on `program`; the program's display name is the driver's."""
        if self.cache is None:
            return self.driver.measure(plan, program)
        key = content_key(
            "search-measure",
            f"{type(self.driver).__module__}.{type(self.driver).__qualname__}",
            self.driver.identity(),
            plan.content_hash(),
            self._input_digest(Path(program)),
        )
        stored = self.cache.read_json(KIND, key)
        if stored is not None:
            return Measurement.from_json({**stored, "program": self.driver.program_name(Path(program))})
        measured = self.driver.measure(plan, program)
        if not measured.verdict.startswith(TRANSIENT_VERDICTS):
            self.cache.write_json(KIND, key, measured.as_json())
        return measured

    def _input_digest(self, program: Path) -> str:
        with self._lock:
            known = self._inputs.get(program)
        if known is None:
            known = hashlib.sha256(self.driver.prepare(program).read_bytes()).hexdigest()
            with self._lock:
                self._inputs[program] = known
        return known


__all__ = ["TRANSIENT_VERDICTS", "MeasurementStore", "cache_of"]
