"""The search objective: a plan's code size on a set of programs, relative to the reference pipeline.

On a corpus it is the geometric mean of plan/reference code size over the programs; a plan that fails on
any program (crash, timeout, invalid IR, miscompiled) scores infinity for that corpus. The reference plan
scores 1 by definition and is never charged to a budget.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

from adapters.cache import Cache
from adapters.drivers.base import CorpusError, Driver
from adapters.measurements import MeasurementStore
from adapters.plan import Plan, PlanError

NO_CODE = "no code to measure (data only)"


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """One plan on the corpus: code sizes per program (corpus order) and the objective.

    `score` is the geometric mean of plan/reference sizes, `math.inf` if any program failed;
    `failure` then names the first failing program and its verdict (local only, like all of this).
    """

    plan: Plan
    score: float
    sizes: tuple[int | None, ...]
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def ratios(self, reference_sizes: Sequence[int]) -> list[float | None]:
        return [None if size is None else size / ref for size, ref in zip(self.sizes, reference_sizes, strict=True)]


def geometric_mean_ratio(sizes: Sequence[int], reference_sizes: Sequence[int]) -> float:
    """exp(mean(log(plan / reference))); 0 if any program shrank to nothing."""
    if any(size == 0 for size in sizes):
        return 0.0
    logs = [math.log(size / ref) for size, ref in zip(sizes, reference_sizes, strict=True)]
    return math.exp(math.fsum(logs) / len(logs))


def unmeasurable(driver: Driver, program: Path, reference: str | None = None) -> str | None:
    """Why `program` cannot be measured against the reference (it does not compile, its reference fails,
    it has no code), or None when it can. The reference is computed (and cached) on the way."""
    try:
        size = driver.reference(program, reference).text_bytes
    except CorpusError as exc:
        return str(exc).removeprefix(f"{program}: ")
    return None if size else NO_CODE


class Objective:
    """Measures plans on fixed programs against their (once computed) references.

    Programs that cannot be measured against a reference are left out and listed in `skipped` with the
    reason: one that does not compile or whose reference fails, and one with no code (a data-only module:
    no ratio exists). With `cache`, measurements are stored (`adapters.measurements`); only use it with
    drivers whose `identity()` covers everything that changes a measurement, as the CLI's drivers do.
    """

    def __init__(
        self,
        driver: Driver,
        programs: Sequence[Path],
        *,
        reference: str | None = None,
        cache: Cache | None = None,
    ) -> None:
        if not programs:
            raise ValueError("a search needs at least one program")
        self.driver = driver
        self.cache = cache
        self.store = MeasurementStore(driver, cache)
        self.reference_kind = reference or next(iter(getattr(driver, "references", ())), None)
        usable: list[tuple[Path, int]] = []
        skipped: list[tuple[str, str]] = []
        for program in (Path(program) for program in programs):
            reason = unmeasurable(driver, program, self.reference_kind)
            if reason is not None:
                skipped.append((driver.program_name(program), reason))
                continue
            usable.append((program, int(driver.reference(program, self.reference_kind).text_bytes or 0)))
        if not usable:
            reasons = "; ".join(f"{name}: {reason}" for name, reason in skipped[:3])
            raise CorpusError(f"no program can be measured against the reference ({reasons})")
        self.programs: tuple[Path, ...] = tuple(program for program, _ in usable)
        self.reference_sizes: tuple[int, ...] = tuple(size for _, size in usable)
        self.skipped: tuple[tuple[str, str], ...] = tuple(skipped)

    def names(self) -> list[str]:
        return [self.driver.program_name(program) for program in self.programs]

    def baseline(self, plan: Plan) -> Evaluation:
        """The reference plan's evaluation: the reference sizes themselves, ratio 1."""
        return Evaluation(plan, 1.0, self.reference_sizes)

    def rejection(self, plan: Plan) -> Evaluation | None:
        """None if the driver accepts `plan`, else its infinite-score evaluation (e.g. a Cranelift
        setting given twice); strategies may propose such plans, the budget never pays for them."""
        try:
            self.driver.check_plan(plan)
        except PlanError as exc:
            return Evaluation(plan, math.inf, (None,) * len(self.programs), f"invalid plan: {exc}")
        return None

    def evaluate(self, plan: Plan) -> Evaluation:
        """Programs in order, stopping at the first failure (its score is infinite whatever follows)."""
        self.driver.check_plan(plan)
        sizes: list[int | None] = []
        for program in self.programs:
            measured = self.store.measure(plan, program)
            if not measured.ok or measured.text_bytes is None:
                sizes.extend([None] * (len(self.programs) - len(sizes)))
                failure = f"{self.driver.program_name(program)}: {measured.verdict}"
                if measured.detail:
                    failure += f" ({measured.detail})"
                return Evaluation(plan, math.inf, tuple(sizes), failure)
            sizes.append(measured.text_bytes)
        ints = [size for size in sizes if size is not None]
        return Evaluation(plan, geometric_mean_ratio(ints, self.reference_sizes), tuple(sizes))
