"""Evaluate a plan or a portfolio over a local corpus: per-program sizes, verdicts, the geometric-mean ratio.

This is the participant's own view, for local use only: raw per-program numbers, file names and which
portfolio member won where never leave the adapter; what is released is a clipped, noised mean computed
elsewhere from these results. A program that cannot be measured at all (it does not compile, its
reference fails) is reported as that program's failure, and the others are still evaluated.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from adapters import sandbox as sandbox_module
from adapters.drivers import get_driver
from adapters.drivers.base import OK, CorpusError, Driver, Measurement
from adapters.measurements import MeasurementStore
from adapters.plan import Plan
from adapters.portfolio import Portfolio, choose

NO_REFERENCE = "no reference"
"""Verdict of a program whose reference cannot be built (it does not compile, or the reference fails)."""


@dataclasses.dataclass(frozen=True)
class ProgramResult:
    """One program: reference and plan `.text` bytes, IR instructions, the verdict, and for a portfolio
    the member whose object was kept (`member`: its index, None for the reference) and how many failed."""

    program: str
    reference_bytes: int | None
    plan_bytes: int | None
    reference_ir_instructions: int | None
    plan_ir_instructions: int | None
    verdict: str
    detail: str = ""
    member: int | None = None
    failed_members: int = 0
    candidate_bytes: tuple[int | None, ...] = ()
    """Portfolio only: the verified size of each candidate, the reference pipeline first and then each
    member in order (None: it failed); local only."""

    @property
    def ok(self) -> bool:
        return self.verdict == OK

    @property
    def ratio(self) -> float | None:
        """plan / reference code size; None for a failed evaluation or a program without code."""
        if not self.ok or self.plan_bytes is None or not self.reference_bytes:
            return None
        return self.plan_bytes / self.reference_bytes

    def as_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ratio": self.ratio, "candidate_bytes": list(self.candidate_bytes)}


@dataclasses.dataclass(frozen=True)
class EvaluationReport:
    """All programs of a corpus under one plan or portfolio, in file name order."""

    toolchain: str
    plan_hash: str
    reference: str
    programs: tuple[ProgramResult, ...]
    kind: str = "plan"
    members: int = 0
    """Portfolio only: how many members it lists (the reference comes on top)."""
    sandbox: str = dataclasses.field(default_factory=lambda: sandbox_module.describe())
    """How the tools ran (`adapters.sandbox.describe()`): bubblewrap, or rlimits only, and why."""

    @property
    def failures(self) -> int:
        return sum(not result.ok for result in self.programs)

    @property
    def geomean_ratio(self) -> float | None:
        """Geometric mean of plan/reference `.text` over the programs that evaluated ok (and have code)."""
        ratios = [result.ratio for result in self.programs if result.ratio is not None and result.ratio > 0]
        if not ratios:
            return None
        return math.exp(math.fsum(math.log(ratio) for ratio in ratios) / len(ratios))

    def wins(self) -> list[int]:
        """Portfolio only: modules kept from each candidate, the reference first, then each member."""
        counts = [0] * (self.members + 1)
        for result in self.programs:
            if result.ok:
                counts[0 if result.member is None else result.member + 1] += 1
        return counts

    def as_json(self) -> dict[str, Any]:
        document = {
            "toolchain": self.toolchain,
            "kind": self.kind,
            self.kind: self.plan_hash,
            "reference": self.reference,
            "programs": [result.as_json() for result in self.programs],
            "geomean_ratio": self.geomean_ratio,
            "failures": self.failures,
            "sandbox": self.sandbox,
        }
        if self.kind == "portfolio":
            wins = self.wins()
            document["wins"] = {"reference": wins[0], "members": wins[1:]}
        return document


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


def _prepare(
    toolchain: str,
    plans: Sequence[Plan],
    corpus_dir: Path,
    reference: str | None,
    driver: Driver | None,
    store: MeasurementStore | None,
) -> tuple[Driver, str, list[Path], Callable[[Plan, Path], Measurement]]:
    """The driver, the reference kind (checked), the corpus's programs and how to measure: what evaluating a
    plan and a portfolio share. Every plan is checked first, so a bad one fails before any work."""
    driver = driver or get_driver(toolchain)
    reference = reference or driver.references[0]
    if reference not in driver.references:
        raise ValueError(f"unknown {toolchain} reference {reference!r} (known: {', '.join(driver.references)})")
    for plan in plans:
        driver.check_plan(plan)
    programs = corpus_programs(corpus_dir, driver)
    return driver, reference, programs, (store or MeasurementStore(driver, None)).measure


def _run(
    programs: Sequence[Path],
    one: Callable[[Path], ProgramResult],
    jobs: int,
    progress: Callable[[ProgramResult], None] | None,
) -> tuple[ProgramResult, ...]:
    def step(program: Path) -> ProgramResult:
        result = one(program)
        if progress is not None:
            progress(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return tuple(pool.map(step, programs))


def _no_reference(driver: Driver, program: Path, error: CorpusError) -> ProgramResult:
    detail = str(error).removeprefix(f"{program}: ")
    return ProgramResult(driver.program_name(program), None, None, None, None, NO_REFERENCE, detail)


def evaluate(
    plan: Plan,
    corpus_dir: Path,
    reference: str | None = None,
    jobs: int = 1,
    *,
    driver: Driver | None = None,
    progress: Callable[[ProgramResult], None] | None = None,
    store: MeasurementStore | None = None,
) -> EvaluationReport:
    """Measure `plan` and the reference on every program of `corpus_dir`.

    The plan is checked first (PlanError before any work); plan failures are results with a failure
    verdict, and so is a program whose reference cannot be built (`no reference`), never exceptions.
    `jobs` programs run at once (threads: the work is in child processes). `reference` is one of the
    driver's `references` (default: its first, e.g. `Oz` for llvm, `Os` for gcc). With `store`,
    measurements are kept across runs.
    """
    driver, reference, programs, measure = _prepare(plan.toolchain, (plan,), corpus_dir, reference, driver, store)

    def one(program: Path) -> ProgramResult:
        try:
            base = driver.reference(program, reference)
        except CorpusError as exc:
            return _no_reference(driver, program, exc)
        measured = measure(plan, program)
        return ProgramResult(
            program=driver.program_name(program),
            reference_bytes=base.text_bytes,
            plan_bytes=measured.text_bytes,
            reference_ir_instructions=base.ir_instructions,
            plan_ir_instructions=measured.ir_instructions,
            verdict=measured.verdict,
            detail=measured.detail,
        )

    return EvaluationReport(plan.toolchain, plan.content_hash(), reference, _run(programs, one, jobs, progress))


def evaluate_portfolio(
    portfolio: Portfolio,
    corpus_dir: Path,
    reference: str | None = None,
    jobs: int = 1,
    *,
    driver: Driver | None = None,
    progress: Callable[[ProgramResult], None] | None = None,
    store: MeasurementStore | None = None,
) -> EvaluationReport:
    """Build every program with every member, verify each result and keep the smallest verified object
    (ties: the earlier member; the reference pipeline is an implicit first member). A program is never
    larger than the reference pipeline's build; its row names the member that won and its size."""
    driver, reference, programs, measure = _prepare(
        portfolio.toolchain, portfolio.members, corpus_dir, reference, driver, store
    )

    def one(program: Path) -> ProgramResult:
        try:
            base = driver.reference(program, reference)
            own = driver.reference(program)  # the implicit member: the reference pipeline's own build
        except CorpusError as exc:
            return _no_reference(driver, program, exc)
        measured = [measure(member, program) for member in portfolio.members]
        sizes = [m.text_bytes if m.ok else None for m in measured]
        winner = choose([own.text_bytes, *sizes])
        kept = own if winner in (None, 0) else measured[winner - 1]
        return ProgramResult(
            program=driver.program_name(program),
            reference_bytes=base.text_bytes,
            plan_bytes=kept.text_bytes,
            reference_ir_instructions=base.ir_instructions,
            plan_ir_instructions=kept.ir_instructions,
            verdict=OK,
            member=None if winner in (None, 0) else winner - 1,
            failed_members=sum(size is None for size in sizes),
            candidate_bytes=(own.text_bytes, *sizes),
        )

    results = _run(programs, one, jobs, progress)
    return EvaluationReport(
        portfolio.toolchain,
        portfolio.content_hash(),
        reference,
        results,
        kind="portfolio",
        members=len(portfolio.members),
    )


@dataclasses.dataclass(frozen=True)
class Applied:
    """A module built with a portfolio: the kept object's measurement and which member it came from."""

    measurement: Measurement
    member: int | None
    """Index into the portfolio's members; None for the reference pipeline."""
    failed_members: tuple[str, ...] = ()
    """One line per member whose build or verification failed on this module."""


def apply_portfolio(driver: Driver, portfolio: Portfolio, program: Path, out_object: Path) -> Applied:
    """Build `program` with the reference pipeline and every member, verify each object (IR verifier,
    exports, differential run where there is a `main`) and write the smallest verified one to
    `out_object` (ties: the earlier member, the reference first). CorpusError if even the reference fails."""
    program = Path(program)
    prepared = driver.prepare(program)
    with tempfile.TemporaryDirectory(prefix="opm-portfolio-") as work:
        objects = [Path(work) / f"candidate-{index}.o" for index in range(len(portfolio.candidates()))]
        verified: list[Measurement | None] = []
        failed: list[str] = []
        for index, plan in enumerate(portfolio.candidates()):
            built = driver.apply(plan, prepared, objects[index])
            if built.ok:
                built = driver.verify(program, objects[index]) or built
            if built.ok and built.text_bytes is not None:
                verified.append(built)
                continue
            if index == 0:
                raise CorpusError(f"{program}: the reference pipeline fails: {built.verdict} ({built.detail})")
            failed.append(f"member {index - 1}: {built.verdict}" + (f" ({built.detail})" if built.detail else ""))
            verified.append(None)
        index = choose([measured.text_bytes if measured else None for measured in verified])
        assert index is not None  # the reference verified, or CorpusError was raised
        measurement = verified[index]
        assert measurement is not None
        shutil.copyfile(objects[index], out_object)
    member = None if index == 0 else index - 1
    return Applied(dataclasses.replace(measurement, program=driver.program_name(program)), member, tuple(failed))


__all__ = [
    "NO_REFERENCE",
    "Applied",
    "apply_portfolio",
    "EvaluationReport",
    "ProgramResult",
    "corpus_programs",
    "evaluate",
    "evaluate_portfolio",
]
