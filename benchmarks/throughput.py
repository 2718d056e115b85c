"""Evaluation throughput of one process against two side by side (issue 15, item 7): target ratio >= 1.8.

Each worker process measures its own distinct plans (seeded random draws from the curated search space,
so no two workers share a measurement) on the bundled programs with the llvm driver, differential
execution included: opt, llc, a static link and a run per evaluation. The driver's cache is warm
(prepared inputs, references, the reference programs' behaviour, the static runtime) before any clock
starts; there is no measurement cache. Figures: plans per second with one worker, then with two at once,
and their ratio.

`--link zig-cc` measures the old way of linking (`zig cc` for every link, through zig's global cache and
its locks) for comparison; the default links with `zig ld.lld` and the runtime copied into the adapter's
cache (`adapters.linker`).

Run: .venv/bin/python benchmarks/throughput.py [--evaluations 60] [--link direct|zig-cc]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adapters import search  # noqa: E402
from adapters.corpus import programs as bundled_programs  # noqa: E402
from adapters.drivers.llvm import FrontEnd, LLVMDriver  # noqa: E402
from adapters.plan import reference_plan  # noqa: E402

RESULT = REPO / "benchmarks" / "results" / "throughput.json"
TARGET_RATIO = 1.8


def driver_for(cache_dir: Path, link: str) -> LLVMDriver:
    frontend = FrontEnd.zig()
    if link == "zig-cc":
        frontend = dataclasses.replace(frontend, zig_runtime=False)
    return LLVMDriver(cache_dir=cache_dir, frontend=frontend)


def work_items(worker: int, count: int) -> list[tuple[Path, Any]]:
    """`count` (program, plan) pairs, distinct across workers: random draws seeded by the worker number."""
    programs = [program.path for program in bundled_programs()]
    space = search.search_space(LLVMDriver())
    stream = search.SeededStream(f"throughput-{worker}", "plans")
    items, seen = [], set()
    while len(items) < count:
        plan = search.sample(space, stream)
        program = programs[stream.below(len(programs))]
        if (program, plan) not in seen:
            seen.add((program, plan))
            items.append((program, plan))
    return items


def worker_main(args: argparse.Namespace) -> int:
    """One worker: wait for the start file, measure every item, print {seconds, evaluations, failures}."""
    driver = driver_for(args.cache_dir, args.link)
    items = work_items(args.worker, args.evaluations)
    start = Path(args.start_file)
    while not start.exists():
        time.sleep(0.01)
    began = time.perf_counter()
    failures = sum(not driver.measure(plan, program).ok for program, plan in items)
    print(json.dumps({"seconds": time.perf_counter() - began, "evaluations": len(items), "failures": failures}))
    return 0


def run_workers(count: int, args: argparse.Namespace, scratch: Path, offset: int) -> dict[str, Any]:
    start = scratch / f"start-{offset}"
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                str(offset + index),
                "--evaluations",
                str(args.evaluations),
                "--cache-dir",
                str(args.cache_dir),
                "--link",
                args.link,
                "--start-file",
                str(start),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for index in range(count)
    ]
    time.sleep(3.0)  # every worker has imported and drawn its plans
    began = time.perf_counter()
    start.touch()
    outputs = [json.loads(worker.communicate()[0]) for worker in workers]
    wall = time.perf_counter() - began
    evaluations = sum(output["evaluations"] for output in outputs)
    return {
        "workers": count,
        "evaluations": evaluations,
        "failures": sum(output["failures"] for output in outputs),
        "wall_seconds": wall,
        "plans_per_second": evaluations / wall,
        "worker_seconds": [output["seconds"] for output in outputs],
    }


def warm_up(args: argparse.Namespace) -> None:
    """References, prepared inputs, the reference programs' behaviour and the static runtime, off the clock."""
    driver = driver_for(args.cache_dir, args.link)
    for program in bundled_programs():
        driver.reference(program.path)
        measured = driver.measure(reference_plan("llvm"), program.path)
        if not measured.ok:
            raise SystemExit(f"{program.path}: the reference plan fails: {measured.verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=60, help="evaluations per worker")
    parser.add_argument("--link", choices=("direct", "zig-cc"), default="direct", help="how programs are linked")
    parser.add_argument("--repeats", type=int, default=2, help="alternating one/two-worker measurements")
    parser.add_argument("--cache-dir", type=Path, default=None, help="driver cache (default: a fresh directory)")
    parser.add_argument("--output", type=Path, default=RESULT)
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--start-file", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        return worker_main(args)

    with tempfile.TemporaryDirectory(prefix="opm-throughput-") as scratch_dir:
        scratch = Path(scratch_dir)
        args.cache_dir = args.cache_dir or scratch / "cache"
        print("warming up the driver cache ...", flush=True)
        warm_up(args)
        runs: list[dict[str, Any]] = []
        offset = 0
        for repeat in range(args.repeats):
            for count in (1, 2) if repeat % 2 == 0 else (2, 1):
                run = run_workers(count, args, scratch, offset)
                offset += count
                runs.append(run)
                print(
                    f"{count} worker(s): {run['evaluations']} evaluations in {run['wall_seconds']:.1f}s, "
                    f"{run['plans_per_second']:.2f} plans/s ({run['failures']} failed)",
                    flush=True,
                )

    def rate(workers: int) -> float:
        """Plans per second over every run with this many workers."""
        chosen = [run for run in runs if run["workers"] == workers]
        return sum(run["evaluations"] for run in chosen) / sum(run["wall_seconds"] for run in chosen)

    one, two = rate(1), rate(2)
    ratio = two / one
    print(
        f"one process {one:.2f} plans/s, two processes {two:.2f} plans/s: ratio {ratio:.2f} (target >= {TARGET_RATIO})"
    )
    document = {
        "benchmark": "throughput",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "nproc": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_after": list(os.getloadavg()),
        },
        "settings": {"evaluations_per_worker": args.evaluations, "link": args.link, "repeats": args.repeats},
        "runs": runs,
        "one_process_plans_per_second": one,
        "two_processes_plans_per_second": two,
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "target_met": ratio >= TARGET_RATIO,
    }
    output = args.output
    if args.link != "direct" and output == RESULT:
        output = RESULT.with_name(f"throughput_{args.link.replace('-', '_')}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {output.relative_to(REPO) if output.is_relative_to(REPO) else output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
