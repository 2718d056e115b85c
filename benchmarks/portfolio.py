"""Portfolio transfer and private selection (issue 15): how much of per-program search reaches unseen code.

Public part: per-program search (the `local` strategy, `--budget` evaluations each, warm-started with the best
plans of the programs searched before, as the orchestrator's pool search) on the bundled subsets
alpha and beta gives each program's best plan; those plans are the pool. Unseen code: the bundled subsets
gamma and delta (no search saw them) and the held-back project (no participant holds it). Participants: four,
holding real projects as the demo's participants do. Every pool plan is built and verified on every module
of every set (a real compiler run each; results are kept in the adapter cache, so a rerun is quick).

Figures:
* transfer: portfolios of K in {1, 2, 4, 8, 16} chosen greedily by public marginal gain on the public part,
  each unseen module keeping its smallest verified build (the reference among the candidates): geometric
  mean of kept / -Oz on gamma+delta, on the held-back project, and on both, plus modules larger than -Oz;
* the market's selection: the orchestrator's rules (`orchestration.decisions`: public shortlist, private
  selection, confirmation, the promotion rule) on the participants' exact statistics (non-private), and on
  statistics released with OpenDP's Gaussian noise under a budget of epsilon in {0.5, 1, 2, 4} per
  participant (private; `--seeds` noise draws each), until K members or nothing clears the margin;
* targets: the promoted portfolio (private, epsilon = 1) is at least 4.5% below -Oz on the unseen modules and
  never larger on any; it keeps at least 90% of the non-private selection's gain there; per-program search
  reaches at least 7% below -Oz within 300 evaluations per program on the bundled corpus.

Run: .venv/bin/python benchmarks/portfolio.py  (about an hour on 2 cores with an empty cache)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opm_site.settings")

from adapters import corpora, privacy, search  # noqa: E402
from adapters.cache import Cache, default_cache_dir  # noqa: E402
from adapters.corpus import programs as bundled_programs  # noqa: E402
from adapters.drivers.llvm import LLVMDriver  # noqa: E402
from adapters.measurements import MeasurementStore  # noqa: E402
from adapters.plan import Plan  # noqa: E402
from adapters.portfolio import best_size  # noqa: E402
from orchestration import decisions  # noqa: E402
from orchestration.accounting import releases_within, rho_limit_nano  # noqa: E402

RESULT = REPO / "benchmarks" / "results" / "portfolio.json"
PUBLIC = ("alpha", "beta")
HOLDINGS = {  # as in the demo (orchestration/management/commands/demo.py)
    "acme": ("brotli", "zopfli", "lzma"),
    "globex": ("lua", "cmark", "hoedown"),
    "initech": ("pycryptodome", "ed25519", "argon2"),
    "umbrella": ("zstd", "zlib", "hiredis", "ppmd"),
}
HELD_BACK = "chipmunk"
KS = (1, 2, 4, 8, 16)
WARM_START = 8  # as the orchestrator's pool search
EPSILONS = (0.5, 1.0, 2.0, 4.0)
POLICY = {"min_margin": 0.0002, "min_participants": 2, "confidence": 0.95, "shortlist_size": 1, "portfolio_size": 8}
CLIP, DELTA, MIN_MULTIPLIER, MAX_MULTIPLIER = 0.005, 1e-6, 15.0, 40.0
TARGET_UNSEEN, TARGET_KEPT, TARGET_SEARCH = 0.955, 0.90, 0.93

Rows = list[tuple[int, list[int | None]]]  # per module: (reference size, size under each pool plan)


def geomean(values: Sequence[float]) -> float:
    return math.exp(math.fsum(math.log(value) for value in values) / len(values)) if values else 1.0


def kept_ratios(rows: Rows, members: Sequence[int]) -> list[float]:
    """Per module: smallest verified size among the reference and the members, over the reference."""
    return [kept(ref, row, members) / ref for ref, row in rows]


def kept(ref: int, row: list[int | None], members: Sequence[int]) -> int:
    """What a participant keeps for one module with these members (the reference always verifies)."""
    size = best_size([ref, *(row[i] for i in members)])
    assert size is not None
    return size


def gain_sum(rows: Rows, members: Sequence[int], candidate: int, clip: float) -> float:
    """The summed clipped marginal log gain of `candidate` over `members` (the participants' statistic)."""
    total = 0.0
    for ref, row in rows:
        base = kept(ref, row, members)
        total += privacy.marginal_gain(base, best_size([base, row[candidate]]), clip)
    return total


# --- measuring ----------------------------------------------------------------------------------------------


def measure_rows(store: MeasurementStore, driver: LLVMDriver, modules: Sequence[Path], pool: Sequence[Plan]) -> Rows:
    def one(module: Path) -> tuple[int, list[int | None]]:
        reference = int(driver.reference(module).text_bytes or 0)
        sizes = []
        for plan in pool:
            measured = store.measure(plan, module)
            sizes.append(measured.text_bytes if measured.ok else None)
        return reference, sizes

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as workers:
        rows = list(workers.map(one, modules))
    return [(ref, sizes) for ref, sizes in rows if ref > 0]


def materialize(name: str, root: Path, cache_dir: Path) -> list[Path]:
    corpora.materialize(name, 1, 1, root / name, jobs=os.cpu_count() or 1, cache_dir=cache_dir)
    return sorted((root / name).glob("*.ll"))


# --- the market's rules on these numbers ------------------------------------------------------------------


def market_selection(
    public: Rows, participants: dict[str, Rows], epsilon: float | None
) -> tuple[list[int], list[dict[str, Any]]]:
    """Portfolio rounds as the orchestrator runs them: shortlist by public marginal gain (untried for this
    portfolio), selection by the participants' released marginal gains, confirmation on fresh releases, the
    promotion rule. `epsilon` None: exact statistics, no budget. Returns the members and each round's record."""
    members: list[int] = []
    tried: dict[tuple[int, ...], set[int]] = {}
    limit = None if epsilon is None else rho_limit_nano(epsilon, DELTA)
    spent = 0
    rounds: list[dict[str, Any]] = []
    while len(members) < POLICY["portfolio_size"]:
        base = tuple(members)
        excluded = tried.setdefault(base, set())
        gains = {
            i: gain_sum(public, members, i, CLIP) / len(public)
            for i in range(len(public[0][1]))
            if i not in members and i not in excluded
        }
        short = [i for i, gain in sorted(gains.items(), key=lambda item: (-item[1], item[0])) if gain > 0]
        short = short[: POLICY["shortlist_size"]]
        if not short:
            break
        planned = decisions.portfolio_releases(len(short))
        if epsilon is None:
            multiplier, releases = None, planned
        else:
            multiplier, releases = decisions.choose_noise(
                limit - spent, planned, minimum=MIN_MULTIPLIER, maximum=MAX_MULTIPLIER
            )
            if releases < 1:
                break
        chosen = [int(i) for i in decisions.portfolio_selection([str(i) for i in short], releases)]

        if chosen:
            estimates = {str(i): observe(participants, members, i, multiplier) for i in chosen}
            winner = int(decisions.select_winner(estimates) or short[0])
        else:
            winner = short[0]
        excluded.update(chosen or [winner])
        confirmation = observe(participants, members, winner, multiplier)
        decision = decisions.promotion_decision(confirmation, None, POLICY)
        if multiplier is not None:
            spent += (len(chosen) + 1) * privacy.rho_nano(multiplier)
        rounds.append({"winner": winner, "mean": confirmation.mean, "promoted": decision.promote, "m": multiplier})
        if decision.promote:
            members.append(winner)
    return members, rounds


def observe(
    participants: dict[str, Rows], members: Sequence[int], candidate: int, multiplier: float | None
) -> decisions.Estimate:
    """The federation's estimate of a candidate's marginal gain: each participant's release (exact with no
    multiplier), aggregated as the orchestrator does."""
    observations = []
    for name, rows in participants.items():
        exact = gain_sum(rows, members, candidate, CLIP) / len(rows)
        value = exact if multiplier is None else noisy(exact, len(rows), multiplier)
        observations.append(decisions.Observation(name, value, len(rows), multiplier or 1.0, CLIP, width=1))
    estimate = decisions.aggregate(observations)
    assert estimate is not None
    if multiplier is None:  # exact statistics carry no noise
        return decisions.Estimate(estimate.mean, 0.0, estimate.participants, estimate.programs)
    return estimate


def noisy(exact: float, n: int, multiplier: float) -> float:
    """The participant's release through the adapter's own code (OpenDP's Gaussian mechanism): it depends on
    the corpus only through its mean, n, c and m, so n copies of the mean stand for the per-module gains."""
    gains = [min(CLIP, max(0.0, exact))] * n
    return privacy.release(gains, clip=CLIP, noise_multiplier=multiplier, statistic=privacy.MARGINAL_LOG_GAIN).value


# --- main -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=300, help="per-program search evaluations (the pool)")
    parser.add_argument("--seeds", type=int, default=20, help="noise draws per epsilon")
    parser.add_argument("--cache-dir", type=Path, default=None, help="adapter cache (default: the user's)")
    parser.add_argument("--shortlist", type=int, default=POLICY["shortlist_size"], help="candidates per round")
    parser.add_argument("--output", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    POLICY["shortlist_size"] = args.shortlist
    started = time.perf_counter()
    cache_dir = args.cache_dir or default_cache_dir()
    driver = LLVMDriver(cache_dir=cache_dir)
    store = MeasurementStore(driver, Cache(cache_dir))

    public_programs = [p.path for p in bundled_programs() if p.subset in PUBLIC]
    unseen_programs = [p.path for p in bundled_programs() if p.subset not in PUBLIC]
    print(f"per-program search ({args.budget} evaluations each, local) on {len(public_programs)} public programs")
    found = search.search_per_program(
        driver,
        public_programs,
        strategy="local",
        budget=args.budget,
        jobs=os.cpu_count() or 1,
        cache=Cache(cache_dir),
        warm_start=WARM_START,
    )
    search_ratio = found.summary()["summary"]["geomean_ratio"]
    pool = decisions.pool_plans([(result.best.plan, result.best.score) for result in found.results])
    print(f"  public per-program best {search_ratio:.4f}; pool of {len(pool)} plans")

    with tempfile.TemporaryDirectory(prefix="opm-portfolio-") as scratch:
        root = Path(scratch)
        sets: dict[str, Rows] = {}
        sets["public"] = measure_rows(store, driver, public_programs, pool)
        sets["unseen bundled"] = measure_rows(store, driver, unseen_programs, pool)
        print("  measured the pool on the bundled programs", flush=True)
        projects: dict[str, Rows] = {}
        for name in [*(p for held in HOLDINGS.values() for p in held), HELD_BACK]:
            projects[name] = measure_rows(store, driver, materialize(name, root, cache_dir), pool)
            print(f"  measured the pool on {name} ({len(projects[name])} modules)", flush=True)
    participants = {name: [row for p in held for row in projects[p]] for name, held in HOLDINGS.items()}
    unseen = {"unseen bundled": sets["unseen bundled"], HELD_BACK: projects[HELD_BACK]}
    unseen["unseen, all"] = unseen["unseen bundled"] + unseen[HELD_BACK]

    def report(members: Sequence[int]) -> dict[str, Any]:
        figures = {}
        for name, rows in unseen.items():
            ratios = kept_ratios(rows, members)
            figures[name] = {"ratio": geomean(ratios), "larger": sum(r > 1 for r in ratios), "modules": len(rows)}
        held = [row for rows in participants.values() for row in rows]
        figures["participants"] = {"ratio": geomean(kept_ratios(held, members)), "modules": len(held)}
        return figures

    transfer = {}
    members: list[int] = []
    for k in range(1, max(KS) + 1):
        candidates = [i for i in range(len(pool)) if i not in members]
        if not candidates:
            break
        best = max(candidates, key=lambda i: (gain_sum(sets["public"], members, i, 1.0), -i))
        if gain_sum(sets["public"], members, best, 1.0) <= 0:
            break
        members.append(best)
        if k in KS:
            transfer[k] = report(members)
            line = ", ".join(f"{name} {row['ratio']:.4f}" for name, row in transfer[k].items())
            print(f"transfer K={k}: {line}", flush=True)

    exact_members, exact_rounds = market_selection(sets["public"], participants, None)
    non_private = report(exact_members)
    print(f"market, non-private: {len(exact_members)} members; unseen {non_private['unseen, all']['ratio']:.4f}")
    private: dict[str, Any] = {}
    for epsilon in EPSILONS:
        runs = []
        for _ in range(args.seeds):
            chosen, rounds = market_selection(sets["public"], participants, epsilon)
            runs.append({"members": len(chosen), "figures": report(chosen), "rounds": len(rounds)})
        gains = [1 - run["figures"]["unseen, all"]["ratio"] for run in runs]
        kept = statistics.fmean(gains) / (1 - non_private["unseen, all"]["ratio"])
        private[str(epsilon)] = {
            "releases_at_min_multiplier": releases_within(rho_limit_nano(epsilon, DELTA), MIN_MULTIPLIER),
            "members_mean": statistics.fmean(run["members"] for run in runs),
            "unseen_all_ratio_mean": statistics.fmean(run["figures"]["unseen, all"]["ratio"] for run in runs),
            "unseen_all_ratio_worst": max(run["figures"]["unseen, all"]["ratio"] for run in runs),
            "participants_ratio_mean": statistics.fmean(run["figures"]["participants"]["ratio"] for run in runs),
            "kept_share_of_non_private_gain": kept,
            "larger_modules": max(sum(row.get("larger", 0) for row in run["figures"].values()) for run in runs),
        }
        row = private[str(epsilon)]
        print(
            f"market, private epsilon={epsilon}: {row['members_mean']:.1f} members on average; unseen "
            f"{row['unseen_all_ratio_mean']:.4f} (worst {row['unseen_all_ratio_worst']:.4f}); keeps "
            f"{kept:.1%} of the non-private gain",
            flush=True,
        )

    at_one = private["1.0"]
    targets = {
        "unseen_ratio_at_most": TARGET_UNSEEN,
        "unseen_ratio_private_epsilon_1": at_one["unseen_all_ratio_mean"],
        "unseen_met": at_one["unseen_all_ratio_mean"] <= TARGET_UNSEEN,
        "never_larger": at_one["larger_modules"] == 0,
        "kept_at_least": TARGET_KEPT,
        "kept": at_one["kept_share_of_non_private_gain"],
        "kept_met": at_one["kept_share_of_non_private_gain"] >= TARGET_KEPT,
        "search_ratio_at_most": TARGET_SEARCH,
    }
    document = {
        "benchmark": "portfolio",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "settings": {
            "pool_budget_per_program": args.budget,
            "public": PUBLIC,
            "holdings": HOLDINGS,
            "held_back": HELD_BACK,
            "policy": POLICY,
            "clip": CLIP,
            "delta": DELTA,
            "min_noise_multiplier": MIN_MULTIPLIER,
            "seeds": args.seeds,
        },
        "public_per_program_search_ratio": search_ratio,
        "pool": [plan.to_json() for plan in pool],
        "transfer": transfer,
        "market_non_private": {"members": len(exact_members), "figures": non_private, "rounds": exact_rounds},
        "market_private": private,
        "targets": targets,
        "total_seconds": time.perf_counter() - started,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"targets: {json.dumps(targets)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
