"""Plan quality of local search against -Oz (issue 5): how much smaller per-program search makes code.

On the bundled corpus (C programs with `main`, verified by differential execution) and on a musl slice
(library modules, IR verifier only), every program gets the same evaluation budget from each search
configuration and keeps the reference when nothing beats it. Figures: the geometric mean of plan
`.text` bytes / `-Oz` `.text` bytes per configuration, programs worse than `-Oz`, evaluation time per
module (median, p95), the crash and failure rates, and the llvm driver's overhead against running the
same `opt` and `llc` command lines by hand, interleaved on the same modules.

Configurations (all start from `default<Oz>`; `-Oz` is reference (a), `default<Oz>` through the same
opt and llc, which is the compiler's own -Oz object on 40 of the 42 corpus programs):
  random  local random search: `default<Oz>` + 1-4 extra passes + 0-2 knobs per draw
  greedy  hill climbing over single knob changes and single pass insertions
  staged  the space taken in two steps: greedy over the knobs alone (60% of the budget, and at least
          each knob value once), then random extra passes on the best knob setting (the rest)
and `best`, each program's best plan over all configurations (it costs their budgets together).
Every evaluation is a real compiler run: no measurement cache; prepared inputs, references and the
reference programs' behaviour are cached in a fresh directory (or `--cache-dir`), outside the timings.

Run: .venv/bin/python benchmarks/plan_quality.py        (10-15 minutes on 2 cores; writes
     benchmarks/results/plan_quality.json). The issue's scale, several hours:
     .venv/bin/python benchmarks/plan_quality.py --budget 150 --musl-slice 1/16
Options: --budget N (evaluations per program and configuration), --programs N (bundled programs, spread
over the corpus), --musl-slice I/N (or `none`), --strategies random,greedy,staged (any strategy of
adapters.search too), --jobs, --seed, --overhead-repeats, --cache-dir, --output.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adapters import corpora, search  # noqa: E402
from adapters.cache import content_key  # noqa: E402
from adapters.corpus import programs as bundled_programs  # noqa: E402
from adapters.drivers.base import Measurement  # noqa: E402
from adapters.drivers.llvm import LLC_FLAGS, LLC_OPT_LEVEL, TEXT_IR, TOOL_ENV, LLVMDriver  # noqa: E402
from adapters.elf import executable_bytes  # noqa: E402
from adapters.plan import Plan, reference_plan  # noqa: E402
from adapters.toolchains import llvm as llvm_toolchain  # noqa: E402

DEFAULT_BUDGET = 30
DEFAULT_MUSL_SLICE = "1/64"
DEFAULT_STRATEGIES = ("random", "greedy", "staged")
STAGED_KNOB_SHARE = 0.6
TARGET_RATIO = 0.90  # per-program search: at least 10% below -Oz (issue 5; issue 15 asks 0.93)
TARGET_OVERHEAD = 1.10  # the driver against opt + llc by hand: at most 10% more time
RESULT = REPO / "benchmarks" / "results" / "plan_quality.json"

# --- the measured driver -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Timing:
    suite: str
    verdict: str
    seconds: float


class TimedDriver(LLVMDriver):
    """The llvm driver, unchanged, with the wall-clock time and verdict of every `measure` recorded
    while `recording` is set (warm-up and reference builds stay out of the figures)."""

    def __init__(self, *, suites: dict[Path, str], **options: Any) -> None:
        super().__init__(**options)
        self.suites = suites
        self.timings: list[Timing] = []
        self.recording = False
        self._timings_lock = threading.Lock()

    def measure(self, plan: Plan, program: Path) -> Measurement:
        started = time.perf_counter()
        result = super().measure(plan, program)
        elapsed = time.perf_counter() - started
        if self.recording:
            with self._timings_lock:
                self.timings.append(Timing(self.suites.get(Path(program), "?"), result.verdict, elapsed))
        return result


# --- search configurations ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One program's best plan under one configuration (the reference when nothing beat it)."""

    program: str
    reference_bytes: int
    best_bytes: int
    plan: Plan
    evaluations: int
    failed_evaluations: int

    @property
    def ratio(self) -> float:
        return self.best_bytes / self.reference_bytes

    @property
    def fallback(self) -> bool:
        return self.plan == reference_plan("llvm")


def _outcome(result: search.SearchResult, extra: Sequence[search.SearchResult] = ()) -> Outcome:
    runs = [result, *extra]
    best = min((run.best for run in runs), key=lambda evaluation: evaluation.score)
    return Outcome(
        program=result.programs[0],
        reference_bytes=result.reference_sizes[0],
        best_bytes=int(best.sizes[0] if best.sizes[0] is not None else result.reference_sizes[0]),
        plan=best.plan,
        evaluations=sum(run.evaluations_used for run in runs),
        failed_evaluations=sum(not evaluation.ok for run in runs for evaluation in run.evaluations),
    )


def staged_search(
    driver: LLVMDriver, program: Path, *, budget: int, seed: str, jobs: int, space: search.SearchSpace
) -> Outcome:
    """Knobs first (greedy, STAGED_KNOB_SHARE of the budget but at least every single knob value once,
    when the budget allows), then random extra passes on the best knob setting with what is left; the
    start of the second step is re-measured and charged."""
    single_changes = sum(len(values) for _, _, values in space.knobs)
    knob_budget = min(budget, max(math.ceil(budget * STAGED_KNOB_SHARE), single_changes + 1))
    knobs_only = search.SearchSpace(space.start, (), space.knobs)
    first = search.search(
        driver, [program], strategy="greedy", budget=knob_budget, seed=seed, jobs=jobs, space=knobs_only
    )
    rest = budget - first.evaluations_used
    if rest < 2 and first.best.plan != space.start:  # re-measuring the start alone would overspend
        return _outcome(first)
    passes_only = search.SearchSpace(first.best.plan, space.passes, (), space.max_extra_passes)
    second = search.search(driver, [program], strategy="random", budget=rest, seed=seed, jobs=jobs, space=passes_only)
    return _outcome(first, [second])


def run_configuration(
    driver: LLVMDriver,
    programs: Sequence[Path],
    name: str,
    *,
    budget: int,
    seed: int,
    jobs: int,
    space: search.SearchSpace,
) -> list[Outcome]:
    outcomes = []
    for program in programs:
        program_seed = content_key(str(seed), driver.program_name(program))[:16]  # as search_per_program does
        if name == "staged":
            outcomes.append(staged_search(driver, program, budget=budget, seed=program_seed, jobs=jobs, space=space))
        else:
            result = search.search(
                driver, [program], strategy=name, budget=budget, seed=program_seed, jobs=jobs, space=space
            )
            outcomes.append(_outcome(result))
    return outcomes


def geometric_mean(values: Sequence[float]) -> float | None:
    if not values:
        return None
    return math.exp(math.fsum(math.log(value) for value in values) / len(values))


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    ratios = [outcome.ratio for outcome in outcomes]
    return {
        "programs": len(outcomes),
        "geomean_ratio": geometric_mean(ratios),
        "programs_worse_than_oz": sum(ratio > 1 for ratio in ratios),
        "programs_improved": sum(ratio < 1 for ratio in ratios),
        "programs_fallback": sum(outcome.fallback for outcome in outcomes),
        "best_ratio": min(ratios, default=None),
        "evaluations": sum(outcome.evaluations for outcome in outcomes),
        "failed_evaluations": sum(outcome.failed_evaluations for outcome in outcomes),
    }


def best_of(per_configuration: dict[str, list[Outcome]]) -> list[Outcome]:
    """Each program's best outcome over the configurations, with their evaluations added up."""
    columns = list(per_configuration.values())
    best = []
    for row in zip(*columns, strict=True):
        winner = min(row, key=lambda outcome: outcome.ratio)
        best.append(
            dataclasses.replace(
                winner,
                evaluations=sum(outcome.evaluations for outcome in row),
                failed_evaluations=sum(outcome.failed_evaluations for outcome in row),
            )
        )
    return best


# --- evaluation time, failures, overhead -------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile by linear interpolation between order statistics (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def time_figures(timings: Sequence[Timing]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for suite in ["all", *sorted({timing.suite for timing in timings})]:
        seconds = [timing.seconds for timing in timings if suite in ("all", timing.suite)]
        figures[suite] = {
            "evaluations": len(seconds),
            "median_seconds": percentile(seconds, 0.5),
            "p95_seconds": percentile(seconds, 0.95),
            "mean_seconds": statistics.fmean(seconds) if seconds else None,
        }
    return figures


def verdict_kind(verdict: str) -> str:
    """`crash: signal 6 (SIGABRT)` -> `crash`; `invalid IR: ...` -> `invalid IR`; `exit 1: ...` -> `exit`."""
    if verdict.startswith("exit "):
        return "exit"
    return verdict.split(":", 1)[0]


def failure_figures(timings: Sequence[Timing]) -> dict[str, Any]:
    total = len(timings)
    kinds = Counter(verdict_kind(timing.verdict) for timing in timings if timing.verdict != "ok")
    crashes = kinds.get("crash", 0)
    return {
        "evaluations": total,
        "failed": sum(kinds.values()),
        "failure_rate": sum(kinds.values()) / total if total else None,
        "crashes": crashes,
        "crash_rate": crashes / total if total else None,
        "by_kind": dict(sorted(kinds.items())),
        "examples": sorted({timing.verdict for timing in timings if timing.verdict != "ok"})[:10],
    }


def by_hand_commands(driver: LLVMDriver, plan: Plan, ir: Path, work: Path) -> list[list[str]]:
    """The opt and llc command lines the driver runs for `plan` (same tools, flags and file formats)."""
    pipeline = plan.to_pipeline(llvm_toolchain.pass_catalogue())
    optimised, obj = work / "plan.ll", work / "plan.o"
    front = driver.frontend
    opt = [str(llvm_toolchain.tool_path("opt")), f"-passes={pipeline}", *plan.tool_flags("opt"), str(ir), *TEXT_IR]
    llc = [
        str(llvm_toolchain.tool_path("llc")),
        LLC_OPT_LEVEL,
        *LLC_FLAGS,
        f"-mtriple={front.llc_triple}",
        f"-mcpu={front.llc_cpu}",
        *plan.tool_flags("llc"),
    ]
    return [[*opt, "-o", str(optimised)], [*llc, str(optimised), "-o", str(obj)]]


def overhead(driver: LLVMDriver, work_items: Sequence[tuple[Path, Plan]], repeats: int) -> dict[str, Any]:
    """The driver's `measure` (differential execution off, so both sides do opt + llc only) against
    the same two command lines run with subprocess, alternating which goes first, one at a time."""
    plain = driver.variant(differential=False)
    env = {**os.environ, **TOOL_ENV}
    driver_seconds, hand_seconds, pair_ratios = 0.0, 0.0, []
    mismatches = []

    def by_driver(program: Path, plan: Plan) -> tuple[float, int | None]:
        began = time.perf_counter()
        measured = plain.measure(plan, program)
        elapsed = time.perf_counter() - began
        if not measured.ok:
            raise RuntimeError(f"{program.name}: {measured.verdict} ({measured.detail})")
        return elapsed, measured.text_bytes

    def by_hand(commands: list[list[str]]) -> float:
        began = time.perf_counter()
        for command in commands:
            subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return time.perf_counter() - began

    with tempfile.TemporaryDirectory(prefix="opm-bench-") as scratch:
        work = Path(scratch)
        for repeat in range(repeats):
            for index, (program, plan) in enumerate(work_items):
                commands = by_hand_commands(plain, plan, plain.prepare(program), work)
                if (repeat + index) % 2:
                    hand = by_hand(commands)
                    mine, size = by_driver(program, plan)
                else:
                    mine, size = by_driver(program, plan)
                    hand = by_hand(commands)
                if executable_bytes(work / "plan.o") != size:  # both sides must have built the same code
                    mismatches.append(program.name)
                driver_seconds += mine
                hand_seconds += hand
                pair_ratios.append(mine / hand)
    return {
        "modules": len(work_items),
        "repeats": repeats,
        "driver_seconds": driver_seconds,
        "by_hand_seconds": hand_seconds,
        "ratio": driver_seconds / hand_seconds,
        "median_pair_ratio": statistics.median(pair_ratios),
        "size_mismatches": sorted(set(mismatches)),
        "method": "driver.variant(differential=False).measure(plan, program) vs subprocess.run of the same opt "
        "and llc command lines on the same prepared IR, alternating which runs first, sequentially",
    }


# --- corpora -----------------------------------------------------------------------------------------


def corpus_selection(count: int | None) -> list[Path]:
    """`count` bundled programs spread evenly over the corpus (all of them by default)."""
    everything = [program.path for program in bundled_programs()]
    if count is None or count >= len(everything):
        return everything
    return [everything[index * len(everything) // count] for index in range(count)]


def musl_modules(slice_text: str, directory: Path, cache_dir: Path, jobs: int) -> tuple[list[Path], dict[str, Any]]:
    index, count = corpora.parse_slice(slice_text)
    manifest = corpora.materialize("musl", index, count, directory, jobs=jobs, cache_dir=cache_dir)
    modules = [directory / entry["module"] for entry in manifest["files"]]
    return modules, {"slice": slice_text, "counts": manifest["counts"], "origin": manifest["origin"]}


# --- the report --------------------------------------------------------------------------------------


def machine(driver: LLVMDriver) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        memory_gib = None
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "memory_gib": memory_gib,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "llvm": llvm_toolchain.llvm_version(),
        "frontend": " ".join(Path(part).name for part in driver.frontend.command),
        "llc_target": f"{driver.frontend.llc_triple} -mcpu={driver.frontend.llc_cpu}",
        "load_average_after": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "git_commit": commit,
        "git_dirty": dirty,
    }


def print_table(title: str, rows: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"  {'search':<8} {'programs':>8} {'geomean':>8} {'below -Oz':>9} {'worse':>5} {'fallback':>8} {'evals':>6}")
    for name, row in rows.items():
        ratio = row["geomean_ratio"]
        print(
            f"  {name:<8} {row['programs']:>8} {ratio:>8.4f} {(1 - ratio) * 100:>8.2f}% "
            f"{row['programs_worse_than_oz']:>5} {row['programs_fallback']:>8} {row['evaluations']:>6}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET, help="evaluations per program and search")
    parser.add_argument("--programs", type=int, default=None, help="bundled programs to use (default: all 42)")
    parser.add_argument("--musl-slice", default=DEFAULT_MUSL_SLICE, help="musl slice I/N, or `none`")
    parser.add_argument("--strategies", default=",".join(DEFAULT_STRATEGIES), help="comma-separated searches")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="plans measured at once")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overhead-repeats", type=int, default=2, help="interleaved rounds of the overhead check")
    parser.add_argument("--cache-dir", type=Path, default=None, help="driver cache (default: a fresh directory)")
    parser.add_argument("--output", type=Path, default=RESULT)
    parser.add_argument(
        "--target", type=float, default=TARGET_RATIO, help="ratio per-program search must reach (issue 5: 0.90)"
    )
    args = parser.parse_args(argv)
    strategies = [name.strip() for name in args.strategies.split(",") if name.strip()]
    unknown = [name for name in strategies if name != "staged" and name not in search.STRATEGY_FUNCTIONS]
    if unknown or args.budget < 1:
        parser.error(f"unknown strategies {unknown}" if unknown else "--budget must be >= 1")

    started = time.perf_counter()
    load_before = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    with tempfile.TemporaryDirectory(prefix="opm-plan-quality-") as scratch:
        cache_dir = args.cache_dir or Path(scratch) / "cache"
        suites_of: dict[Path, str] = {}
        driver = TimedDriver(suites=suites_of, cache_dir=cache_dir)
        suites: dict[str, list[Path]] = {"corpus": corpus_selection(args.programs)}
        musl_info = None
        if args.musl_slice != "none":
            print(f"materialising musl slice {args.musl_slice} ...", flush=True)
            suites["musl"], musl_info = musl_modules(args.musl_slice, Path(scratch) / "musl", cache_dir, args.jobs)
        for suite, paths in suites.items():
            suites_of.update({path: suite for path in paths})

        print("warming up: prepared inputs, references and the reference programs' behaviour ...", flush=True)
        for paths in suites.values():
            for program in paths:
                driver.reference(program)
                warm = driver.measure(reference_plan("llvm"), program)
                if not warm.ok:
                    raise SystemExit(f"{program}: the reference plan fails: {warm.verdict} ({warm.detail})")

        space = search.search_space(driver)  # the curated one, which took in the former `extended` additions
        results: dict[str, dict[str, list[Outcome]]] = {}
        wall: dict[str, dict[str, float]] = {}
        driver.recording = True
        for suite, paths in suites.items():
            for name in strategies:
                began = time.perf_counter()
                outcomes = run_configuration(
                    driver, paths, name, budget=args.budget, seed=args.seed, jobs=args.jobs, space=space
                )
                results.setdefault(suite, {})[name] = outcomes
                wall.setdefault(suite, {})[name] = time.perf_counter() - began
                row = summarise(outcomes)
                print(
                    f"{suite:>6} {name:<8} geomean {row['geomean_ratio']:.4f} over {row['programs']} programs, "
                    f"{row['evaluations']} evaluations in {wall[suite][name]:.0f}s",
                    flush=True,
                )
        driver.recording = False

        print("overhead: driver vs opt + llc by hand, interleaved ...", flush=True)
        work_items = []
        for suite, paths in suites.items():
            best = best_of(results[suite])
            work_items += [(program, outcome.plan) for program, outcome in zip(paths, best, strict=True)]
        overhead_figures = overhead(driver, work_items, args.overhead_repeats)

    tables = {}
    for suite, per_configuration in results.items():
        rows = {name: summarise(outcomes) for name, outcomes in per_configuration.items()}
        if len(per_configuration) > 1:
            rows["best"] = summarise(best_of(per_configuration))
        tables[suite] = rows
        print_table(f"{suite}: plan .text / -Oz .text, geometric mean per search (budget {args.budget} each)", rows)

    times = time_figures(driver.timings)
    failures = failure_figures(driver.timings)
    print(f"\nevaluation time per module (seconds, wall clock, jobs={args.jobs}):")
    for suite, row in times.items():
        print(
            f"  {suite:<7} n={row['evaluations']:<6} median {row['median_seconds']:.3f}  p95 {row['p95_seconds']:.3f}"
        )
    print(
        f"failures: {failures['failed']} of {failures['evaluations']} evaluations "
        f"({failures['failure_rate']:.2%}); crashes {failures['crashes']} ({failures['crash_rate']:.2%}); "
        f"by kind {failures['by_kind']}"
    )
    cost = overhead_figures
    print(
        f"overhead: driver {cost['driver_seconds']:.2f}s vs by hand {cost['by_hand_seconds']:.2f}s "
        f"on {cost['modules']} modules x {cost['repeats']}: ratio {cost['ratio']:.3f} "
        f"(median pair {cost['median_pair_ratio']:.3f})"
    )

    per_program_rows = [row for suite_rows in tables.values() for name, row in suite_rows.items() if name != "best"]
    best_single = min((row["geomean_ratio"] for row in per_program_rows), default=None)
    targets = {
        "per_program_ratio_at_most": args.target,
        "best_single_search_ratio": best_single,
        "per_program_ratio_met": {
            suite: {name: row["geomean_ratio"] <= args.target for name, row in rows.items()}
            for suite, rows in tables.items()
        },
        "no_program_worse_than_oz": all(
            row["programs_worse_than_oz"] == 0 for rows in tables.values() for row in rows.values()
        ),
        "overhead_at_most": TARGET_OVERHEAD,
        "overhead_met": overhead_figures["ratio"] <= TARGET_OVERHEAD,
    }
    for suite, rows in tables.items():
        for name, row in rows.items():
            verdict = "met" if row["geomean_ratio"] <= args.target else "MISSED"
            print(f"target {suite}/{name}: <= {args.target} -> {verdict} ({row['geomean_ratio']:.4f})")
    print(f"target overhead <= {TARGET_OVERHEAD}: {'met' if targets['overhead_met'] else 'MISSED'}")

    document = {
        "benchmark": "plan_quality",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {**machine(driver), "load_average_before": load_before},
        "settings": {
            "budget_per_program": args.budget,
            "strategies": strategies,
            "space": "curated",
            "search_space": {
                "start": "default<Oz>",
                "passes": [search.describe(Plan("llvm", (step,), {})) for step in space.passes],
                "knobs": [[group, name, list(values)] for group, name, values in space.knobs],
                "max_extra_passes": space.max_extra_passes,
            },
            "staged_knob_share": STAGED_KNOB_SHARE,
            "jobs": args.jobs,
            "seed": args.seed,
            "reference": "Oz: default<Oz> through the driver's opt and llc",
            "corpus_programs": len(suites["corpus"]),
            "musl": musl_info,
            "measurement_cache": False,
        },
        "quality": tables,
        "wall_seconds": wall,
        "evaluation_time": times,
        "failures": failures,
        "overhead": overhead_figures,
        "targets": targets,
        "programs": {
            suite: {
                name: [
                    {
                        "program": outcome.program,
                        "reference_bytes": outcome.reference_bytes,
                        "best_bytes": outcome.best_bytes,
                        "ratio": outcome.ratio,
                        "plan": search.describe(outcome.plan),
                        "evaluations": outcome.evaluations,
                    }
                    for outcome in outcomes
                ]
                for name, outcomes in per_configuration.items()
            }
            for suite, per_configuration in results.items()
        },
        "total_seconds": time.perf_counter() - started,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {args.output.relative_to(REPO) if args.output.is_relative_to(REPO) else args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
