"""Running a search on local programs: a strategy against the objective, within an evaluation budget.

Searching public code is free and unlimited, so the market's candidates come from here before any
private budget is spent; a participant may search its own code the same way (nothing is sent).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from adapters.cache import Cache, content_key
from adapters.drivers.base import Driver
from adapters.plan import Plan, is_reference
from adapters.search.objective import Evaluation, Objective, unmeasurable
from adapters.search.space import SearchSpace, search_space
from adapters.search.strategies import STRATEGIES, STRATEGY_FUNCTIONS, Proposals


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """A finished search: the best plan, every charged evaluation in order, and what it was run on."""

    toolchain: str
    strategy: str
    seed: int | str
    budget: int
    programs: tuple[str, ...]
    reference_sizes: tuple[int, ...]
    reference_kind: str | None
    start: Evaluation
    best: Evaluation
    evaluations: tuple[Evaluation, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    """Programs left out, with why: no code to measure, or no working reference."""
    interrupted: bool = False
    """Stopped by the user (Ctrl-C) before the budget or the strategy ran out; `best` is the best so far."""

    @property
    def evaluations_used(self) -> int:
        return len(self.evaluations)

    @property
    def improved(self) -> bool:
        return self.best.score < self.start.score

    @property
    def worse_than_reference(self) -> int:
        """Programs on which the best plan is bigger than the reference."""
        pairs = zip(self.best.sizes, self.reference_sizes, strict=True)
        return sum(size is not None and size > ref for size, ref in pairs)

    def summary(self) -> dict[str, Any]:
        """Local-only numbers (per-program sizes and names never leave the adapter)."""
        ratios = self.best.ratios(self.reference_sizes)
        rows = zip(self.programs, self.reference_sizes, self.best.sizes, ratios, strict=True)
        return {
            "toolchain": self.toolchain,
            "strategy": self.strategy,
            "seed": self.seed,
            "budget": self.budget,
            "evaluations": self.evaluations_used,
            "failed_evaluations": sum(not evaluation.ok for evaluation in self.evaluations),
            "reference": self.reference_kind,
            "plan": self.best.plan.content_hash(),
            "improved": self.improved,
            "geomean_ratio": self.best.score,
            "programs_worse_than_reference": self.worse_than_reference,
            "programs": [
                {"program": name, "reference_bytes": ref, "plan_bytes": size, "ratio": ratio}
                for name, ref, size, ratio in rows
            ],
            "skipped": [{"program": name, "reason": reason} for name, reason in self.skipped],
            "interrupted": self.interrupted,
        }


def search(
    driver: Driver,
    programs: Sequence[Path],
    *,
    strategy: str,
    budget: int,
    seed: int | str = 0,
    jobs: int = 1,
    reference: str | None = None,
    space: SearchSpace | None = None,
    cache: Cache | None = None,
    progress: Callable[[Evaluation], None] | None = None,
    warm: Sequence[Plan] = (),
) -> SearchResult:
    """Search for the plan with the lowest geometric-mean size ratio on `programs`.

    At most `budget` plans are evaluated (exactly `budget` unless the strategy runs out of proposals);
    a plan proposed twice is evaluated once. `jobs` plans are measured at once; results and choices do
    not depend on it. The result's best plan is never worse than the start (the reference plan).
    `warm` plans (good elsewhere) are evaluated first, and the strategy starts from the best of them
    when it beats the start.
    """
    if strategy not in STRATEGY_FUNCTIONS:
        raise ValueError(f"unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
    if budget < 0:
        raise ValueError("the budget must be >= 0")
    space = space or search_space(driver)
    objective = Objective(driver, programs, reference=reference, cache=cache)
    evaluated: dict[Plan, Evaluation] = {}
    charged: list[Evaluation] = []
    if space.start.toolchain == driver.name and is_reference(space.start):
        start = objective.baseline(space.start)
    else:
        start = objective.evaluate(space.start)
        charged.append(start)
    evaluated[start.plan] = start
    interrupted = False
    proposals: Proposals | None = None

    def run(pool: ThreadPoolExecutor, plans: list[Plan]) -> None:
        """Measure `plans` (charged); Executor.map cancels what has not started when an interrupt leaves."""
        for evaluation in pool.map(objective.evaluate, plans):
            evaluated[evaluation.plan] = evaluation
            charged.append(evaluation)
            if progress is not None:
                progress(evaluation)

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            run(
                pool,
                [plan for plan in dict.fromkeys(warm) if plan not in evaluated and objective.rejection(plan) is None][
                    : max(0, budget - len(charged))
                ],
            )
            climb_from = _best(start, charged)
            if climb_from is not start:  # the strategy works from the best warm plan
                space = dataclasses.replace(space, start=climb_from.plan)
            proposals = STRATEGY_FUNCTIONS[strategy](space, seed, climb_from)
            round_ = next(proposals, None)
            while round_ is not None:
                fresh = []
                for plan in dict.fromkeys(round_):
                    if plan in evaluated:
                        continue
                    rejection = objective.rejection(plan)
                    if rejection is None:
                        fresh.append(plan)
                    else:  # costs nothing: the toolchain refused it without running anything
                        evaluated[plan] = rejection
                todo = fresh[: max(0, budget - len(charged))]
                run(pool, todo)
                if len(todo) < len(fresh):
                    break  # the budget is spent
                try:
                    round_ = proposals.send([evaluated[plan] for plan in round_])
                except StopIteration:
                    round_ = None
    except KeyboardInterrupt:  # the evaluations already made stand: report the best of them
        interrupted = True
    finally:
        if proposals is not None:
            proposals.close()
    return SearchResult(
        toolchain=driver.name,
        strategy=strategy,
        seed=seed,
        budget=budget,
        programs=tuple(objective.names()),
        reference_sizes=objective.reference_sizes,
        reference_kind=objective.reference_kind,
        start=start,
        best=_best(start, charged),
        evaluations=tuple(charged),
        skipped=objective.skipped,
        interrupted=interrupted,
    )


@dataclasses.dataclass(frozen=True)
class PerProgramSearch:
    """One search per program: their results in corpus order, the programs left out and why, and whether
    the user stopped it (the results then end with the program being searched, at its best so far)."""

    results: tuple[SearchResult, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    interrupted: bool = False

    def summary(self) -> dict[str, Any]:
        """Each program's best plan (the reference if nothing beat it) and ratio, and the totals."""
        programs = []
        for result in self.results:
            programs.append(
                {
                    "program": result.programs[0],
                    "plan": result.best.plan.to_json(),
                    "ratio": result.best.score,
                    "reference_bytes": result.reference_sizes[0],
                    "plan_bytes": result.best.sizes[0],
                    "fallback": not result.improved,
                    "evaluations": result.evaluations_used,
                }
            )
        ratios = [entry["ratio"] for entry in programs]
        first = self.results[0] if self.results else None
        return {
            "programs": programs,
            "skipped": [{"program": name, "reason": reason} for name, reason in self.skipped],
            "summary": {
                "toolchain": first.toolchain if first else None,
                "strategy": first.strategy if first else None,
                "budget_per_program": first.budget if first else None,
                "evaluations": sum(result.evaluations_used for result in self.results),
                "improved_programs": sum(result.improved for result in self.results),
                "programs_worse_than_reference": sum(ratio > 1 for ratio in ratios),
                "geomean_ratio": math.exp(math.fsum(math.log(r) for r in ratios) / len(ratios)) if ratios else None,
                "skipped_programs": len(self.skipped),
                "interrupted": self.interrupted,
            },
        }


def search_per_program(
    driver: Driver,
    programs: Sequence[Path],
    *,
    strategy: str,
    budget: int,
    seed: int | str = 0,
    jobs: int = 1,
    reference: str | None = None,
    space: SearchSpace | None = None,
    cache: Cache | None = None,
    progress: Callable[[Evaluation], None] | None = None,
    warm_start: int = 0,
) -> PerProgramSearch:
    """One search per program, each with the full `budget` and a seed derived from (seed, program
    name); each program keeps the reference when nothing beats it, so none ends worse than it. A program
    that cannot be measured (no code, no working reference) is skipped with the reason; Ctrl-C stops
    after the program being searched, keeping what was found. With `warm_start` k, each program's search
    first tries the k best plans found on the programs before it (part of its budget): what won elsewhere
    is often a good start, and a small budget then climbs further from there."""
    space = space or search_space(driver)
    results: list[SearchResult] = []
    skipped: list[tuple[str, str]] = []
    for program in (Path(program) for program in programs):
        name = driver.program_name(program)
        reason = unmeasurable(driver, program, reference)
        if reason is not None:
            skipped.append((name, reason))
            continue
        program_seed = content_key(str(seed), name)[:16]
        try:
            result = search(
                driver,
                [program],
                strategy=strategy,
                budget=budget,
                seed=program_seed,
                jobs=jobs,
                reference=reference,
                space=space,
                cache=cache,
                progress=progress,
                warm=_warm_plans(results, warm_start),
            )
        except KeyboardInterrupt:  # between two measurements: what was found so far stands
            return PerProgramSearch(tuple(results), tuple(skipped), interrupted=True)
        results.append(result)
        if result.interrupted:
            return PerProgramSearch(tuple(results), tuple(skipped), interrupted=True)
    return PerProgramSearch(tuple(results), tuple(skipped))


def _warm_plans(results: Sequence[SearchResult], count: int) -> list[Plan]:
    """The `count` best distinct improving plans of earlier programs, best ratio first (ties: earlier)."""
    ranked = sorted(
        (result.best.score, order, result.best.plan) for order, result in enumerate(results) if result.improved
    )
    return list(dict.fromkeys(plan for _, _, plan in ranked))[:count]


def per_program_summary(found: PerProgramSearch) -> dict[str, Any]:
    """The per-program report (see `PerProgramSearch.summary`)."""
    return found.summary()


def describe(plan: Plan | Mapping[str, Any]) -> str:
    """A one-line human rendering of a plan: `default<Oz>, gvn-sink; llc: enable-ipra=True`."""
    document = plan.to_json() if isinstance(plan, Plan) else plan
    steps = []
    for step in document["passes"]:
        params = ";".join(
            str(value) if key == "level" else f"{key}={value}" for key, value in sorted(step.get("params", {}).items())
        )
        steps.append(f"{step['name']}<{params}>" if params else step["name"])
    knobs = [
        f"{group}: " + ", ".join(f"{name}={value}" for name, value in sorted(values.items()))
        for group, values in sorted(document.get("knobs", {}).items())
        if values
    ]
    return "; ".join([", ".join(steps) or "(no passes)", *knobs])


def _best(start: Evaluation, charged: Sequence[Evaluation]) -> Evaluation:
    """The lowest score, the earliest on ties, never worse than the start."""
    best = start
    for evaluation in charged:
        if evaluation.score < best.score:
            best = evaluation
    return best


__all__ = ["PerProgramSearch", "SearchResult", "describe", "per_program_summary", "search", "search_per_program"]
