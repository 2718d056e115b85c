"""Room per source (issue 15): how far below -Oz per-module search gets on each real project's modules.

For every source `opm-adapter corpus materialize` knows (musl and the sdist projects), materialize the
whole project (musl: one slice), pick up to `--modules` modules spread over it, and give each a per-module
search (`local` strategy, `--budget` evaluations, warm-started with the best plans of the modules before it),
as `corpus materialize --room` does. Figures: modules compiled and skipped (and why), the geometric mean of the
best size over -Oz, and modules improved. Writes benchmarks/results/room.json.

Run: .venv/bin/python benchmarks/room.py [--budget 30] [--modules 20] [--sources brotli,lua]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adapters import corpora, search  # noqa: E402
from adapters.cache import Cache, default_cache_dir  # noqa: E402
from adapters.drivers.llvm import LLVMDriver  # noqa: E402

RESULT = REPO / "benchmarks" / "results" / "room.json"
MUSL_SLICE = (1, 16)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=30, help="evaluations per module")
    parser.add_argument("--modules", type=int, default=20, help="modules searched per source (spread)")
    parser.add_argument("--sources", default=",".join(corpora.SOURCES), help="comma-separated sources")
    parser.add_argument("--cache-dir", type=Path, default=None, help="adapter cache (default: the user's)")
    parser.add_argument("--output", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    cache_dir = args.cache_dir or default_cache_dir()
    driver = LLVMDriver(cache_dir=cache_dir)
    jobs = os.cpu_count() or 1
    rows = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="opm-room-") as scratch:
        for source in args.sources.split(","):
            index, count = MUSL_SLICE if source == "musl" else (1, 1)
            manifest = corpora.materialize(source, index, count, Path(scratch) / source, jobs=jobs, cache_dir=cache_dir)
            modules = [Path(scratch) / source / entry["module"] for entry in manifest["files"]]
            chosen = modules[:: max(1, len(modules) // args.modules)][: args.modules]
            began = time.perf_counter()
            found = search.search_per_program(
                driver, chosen, strategy="local", budget=args.budget, jobs=jobs, cache=Cache(cache_dir), warm_start=8
            )
            summary = found.summary()["summary"]
            rows[source] = {
                "origin": manifest["origin"],
                "slice": f"{index}/{count}",
                "compiled": manifest["counts"]["compiled"],
                "skipped": manifest["counts"]["skipped"],
                "searched": len(found.results),
                "geomean_ratio": summary["geomean_ratio"],
                "improved": summary["improved_programs"],
                "seconds": time.perf_counter() - began,
            }
            ratio = summary["geomean_ratio"]
            print(
                f"{source:12} {manifest['counts']['compiled']:4} modules ({manifest['counts']['skipped']}); "
                f"searched {len(found.results)}: {ratio:.4f} ({(1 - ratio) * 100:.1f}% below -Oz), "
                f"{summary['improved_programs']} improved",
                flush=True,
            )
    document = {
        "benchmark": "room",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {"budget_per_module": args.budget, "modules_per_source": args.modules, "strategy": "local"},
        "sources": rows,
        "total_seconds": time.perf_counter() - started,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {args.output.relative_to(REPO) if args.output.is_relative_to(REPO) else args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
