"""Evaluate a plan over a local corpus: per-program sizes, verdicts and the geometric-mean ratio.

This is the participant's own view of a plan, for local use only: raw per-program numbers and
file names never leave the adapter (DESIGN.md §4); what is released is a clipped, noised mean
computed elsewhere from these results.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from adapters.drivers import get_driver
from adapters.drivers.base import OK, CorpusError, Driver
from adapters.plan import Plan


@dataclasses.dataclass(frozen=True)
class ProgramResult:
    """One program: reference and plan `.text` bytes, IR instructions, and the plan's verdict."""

    program: str
    reference_bytes: int
    plan_bytes: int | None
    reference_ir_instructions: int | None
    plan_ir_instructions: int | None
    verdict: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict == OK

    @property
    def ratio(self) -> float | None:
        """plan / reference code size; None for a failed evaluation."""
        if not self.ok or self.plan_bytes is None or self.reference_bytes <= 0:
            return None
        return self.plan_bytes / self.reference_bytes

    def as_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ratio": self.ratio}


@dataclasses.dataclass(frozen=True)
class EvaluationReport:
    """All programs of a corpus under one plan, in file name order."""

    toolchain: str
    plan_hash: str
    reference: str
    programs: tuple[ProgramResult, ...]

    @property
    def failures(self) -> int:
        return sum(not result.ok for result in self.programs)

    @property
    def geomean_ratio(self) -> float | None:
        """Geometric mean of plan/reference `.text` over the programs that evaluated ok."""
        ratios = [result.ratio for result in self.programs if result.ratio is not None and result.ratio > 0]
        if not ratios:
            return None
        return math.exp(sum(math.log(ratio) for ratio in ratios) / len(ratios))

    def as_json(self) -> dict[str, Any]:
        return {
            "toolchain": self.toolchain,
            "plan": self.plan_hash,
            "reference": self.reference,
            "programs": [result.as_json() for result in self.programs],
            "geomean_ratio": self.geomean_ratio,
            "failures": self.failures,
        }


def corpus_programs(corpus_dir: Path, driver: Driver) -> list[Path]:
    """The driver's source files directly in `corpus_dir`, sorted by name; CorpusError if none."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"{corpus_dir}: not a directory")
    programs = sorted(path for path in corpus_dir.iterdir() if path.is_file() and path.suffix in driver.source_suffixes)
    if not programs:
        suffixes = ", ".join(driver.source_suffixes)
        raise CorpusError(f"{corpus_dir}: no programs ({suffixes} files) in this directory")
    return programs


def evaluate(
    plan: Plan,
    corpus_dir: Path,
    reference: str | None = None,
    jobs: int = 1,
    *,
    driver: Driver | None = None,
    progress: Callable[[ProgramResult], None] | None = None,
) -> EvaluationReport:
    """Measure `plan` and the reference on every program of `corpus_dir`.

    The plan is checked first (PlanError before any work), then each program's reference is
    computed (CorpusError names a program that cannot be compiled or whose reference fails),
    then the plan; plan failures are results with a failure verdict, never exceptions. `jobs`
    programs run at once (threads: the work is in child processes). `reference` is one of the
    driver's `references` (default: its first, e.g. `Oz` for llvm, `Os` for gcc).
    """
    driver = driver or get_driver(plan.toolchain)
    reference = reference or driver.references[0]
    if reference not in driver.references:
        raise ValueError(f"unknown {plan.toolchain} reference {reference!r} (known: {', '.join(driver.references)})")
    driver.check_plan(plan)
    programs = corpus_programs(corpus_dir, driver)

    def one(program: Path) -> ProgramResult:
        base = driver.reference(program, reference)
        measured = driver.measure(plan, program)
        assert base.text_bytes is not None  # a reference without a size raises CorpusError instead
        result = ProgramResult(
            program=driver.program_name(program),
            reference_bytes=base.text_bytes,
            plan_bytes=measured.text_bytes,
            reference_ir_instructions=base.ir_instructions,
            plan_ir_instructions=measured.ir_instructions,
            verdict=measured.verdict,
            detail=measured.detail,
        )
        if progress is not None:
            progress(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = tuple(pool.map(one, programs))
    return EvaluationReport(plan.toolchain, plan.content_hash(), reference, results)
