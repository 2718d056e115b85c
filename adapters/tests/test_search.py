"""adapters.search and the `search` command: seeded strategies, budgets, per-program fallback."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from adapters import search as search_module
from adapters.cache import Cache
from adapters.cli import main
from adapters.drivers.llvm import LLVMDriver
from adapters.plan import PassStep, Plan, load, reference_plan
from adapters.search import Objective, SearchSpace, SeededStream, search, search_per_program

DATA = Path(__file__).parent / "data"
PROGRAMS = [DATA / "crc32.c", DATA / "tokens.c"]
CRASHING_ORDER = ("simplifycfg", "gvn", "loop-reduce")


@pytest.fixture(scope="module")
def driver(adapter_cache: Path) -> LLVMDriver:
    return LLVMDriver(cache_dir=adapter_cache)


@pytest.fixture(scope="module")
def cache(adapter_cache: Path) -> Cache:
    """Measurements are stored across tests: the same plan on the same program is compiled once."""
    return Cache(adapter_cache)


def test_the_seeded_stream_is_uniform_and_reproducible() -> None:
    draws = [SeededStream(7, "x").below(10) for _ in range(3)]
    assert draws[0] == draws[1] == draws[2]
    stream = SeededStream(7, "x")
    counts = [0] * 4
    for _ in range(4000):
        counts[stream.below(4)] += 1
    assert all(900 < count < 1100 for count in counts)
    assert SeededStream(7, "x").shuffled(range(20)) != SeededStream(8, "x").shuffled(range(20))


def test_the_same_seed_gives_the_same_plans_and_evaluations(driver: LLVMDriver, cache: Cache) -> None:
    runs = [search(driver, PROGRAMS, strategy="random", budget=4, seed=3, jobs=jobs, cache=cache) for jobs in (1, 2)]
    assert [e.plan for e in runs[0].evaluations] == [e.plan for e in runs[1].evaluations]
    assert [(e.score, e.sizes) for e in runs[0].evaluations] == [(e.score, e.sizes) for e in runs[1].evaluations]
    assert runs[0].best.plan == runs[1].best.plan
    other = search(driver, PROGRAMS, strategy="random", budget=2, seed=4, cache=cache)
    assert [e.plan for e in other.evaluations] != [e.plan for e in runs[0].evaluations[:2]]


def test_random_plans_extend_the_reference_with_curated_passes(driver: LLVMDriver, cache: Cache) -> None:
    result = search(driver, PROGRAMS, strategy="random", budget=4, seed=3, cache=cache)
    curated = set(search_module.LLVM_SEARCH_PASSES)
    for evaluation in result.evaluations:
        plan = evaluation.plan
        assert plan.passes[0] == PassStep("default", {"level": "Oz"})
        assert 1 <= len(plan.passes) - 1 <= 4 and {step.name for step in plan.passes[1:]} <= curated


@pytest.mark.parametrize(("strategy", "budget"), [("random", 4), ("greedy", 4), ("greedy", 0)])
def test_the_budget_is_respected_exactly(driver: LLVMDriver, cache: Cache, strategy: str, budget: int) -> None:
    seen = []
    result = search(
        driver,
        PROGRAMS,
        strategy=strategy,
        budget=budget,
        seed=3 if strategy == "random" else 0,
        cache=cache,
        progress=seen.append,
    )
    assert result.evaluations_used == len(seen) == budget
    assert len({evaluation.plan for evaluation in result.evaluations}) == budget  # no plan paid for twice
    if budget == 0:
        assert result.best.plan == reference_plan("llvm") and result.best.score == 1.0


def test_greedy_improves_or_equals_the_start(driver: LLVMDriver, cache: Cache) -> None:
    result = search(driver, PROGRAMS, strategy="greedy", budget=8, seed=0, cache=cache)
    assert result.start.plan == reference_plan("llvm") and result.start.score == 1.0
    assert result.best.score <= 1.0
    assert result.best.score == min([1.0, *(evaluation.score for evaluation in result.evaluations)])
    summary = result.summary()
    assert summary["evaluations"] == 8 and summary["reference"] == "Oz"
    assert summary["geomean_ratio"] == pytest.approx(
        math.prod(entry["ratio"] for entry in summary["programs"]) ** (1 / len(PROGRAMS))
    )


def test_a_plan_failing_on_any_program_scores_infinity(driver: LLVMDriver) -> None:
    objective = Objective(driver, [DATA / "crc32.c", DATA / "sort.c"])
    crashing = Plan("llvm", tuple(PassStep(name) for name in CRASHING_ORDER))
    evaluation = objective.evaluate(crashing)
    assert evaluation.score == math.inf and not evaluation.ok
    assert evaluation.failure is not None and "crash: signal 6" in evaluation.failure


def test_per_program_search_falls_back_to_the_reference(driver: LLVMDriver, cache: Cache) -> None:
    # Only knob changes that make code bigger on these programs: every program must keep the reference.
    harmful = SearchSpace(
        reference_plan("llvm"), (), (("llc", "disable-block-placement", (True,)), ("opt", "inline-threshold", (50,)))
    )
    found = search_per_program(
        driver, PROGRAMS, strategy="greedy", budget=2, space=harmful, cache=cache, reference="Oz"
    )
    results = found.results
    assert [result.programs for result in results] == [("crc32.c",), ("tokens.c",)]
    for result in results:
        assert result.best.score <= 1.0 and result.evaluations_used <= 2
    document = search_module.per_program_summary(found)
    assert document["summary"]["programs_worse_than_reference"] == 0
    for entry, result in zip(document["programs"], results, strict=True):
        assert entry["fallback"] == (result.best.plan == reference_plan("llvm"))
        if entry["fallback"]:
            assert entry["ratio"] == 1.0 and entry["plan_bytes"] == entry["reference_bytes"]


def test_per_program_search_keeps_improvements(driver: LLVMDriver, cache: Cache) -> None:
    results = search_per_program(driver, PROGRAMS, strategy="random", budget=4, seed=2, cache=cache).results
    for result in results:
        worse = [e for e in result.evaluations if e.score > 1.0]
        assert result.best.score <= 1.0 and (result.best.score < 1.0) == result.improved
        assert result.best not in worse


def test_the_search_command_prints_a_loadable_plan(cache_env: Path, tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for program in PROGRAMS:
        shutil.copy(program, corpus)
    output = tmp_path / "best.json"
    argv = ["search", "--toolchain", "llvm", "--corpus", str(corpus), "--budget", "3", "--strategy", "random"]
    assert main([*argv, "--seed", "5", "--json", "-o", str(output)]) == 0
    document = json.loads(capsys.readouterr().out)
    summary = document["summary"]
    assert summary["evaluations"] == 3 and summary["strategy"] == "random" and summary["seed"] == 5
    assert summary["programs_worse_than_reference"] >= 0 and summary["geomean_ratio"] <= 1.0
    printed = tmp_path / "printed.json"
    printed.write_text(json.dumps(document["plan"]))
    assert load(printed) == load(output)
    assert load(output).content_hash() == summary["plan"]

    assert main([*argv, "--seed", "5", "--per-program", "--json"]) == 0
    per_program = json.loads(capsys.readouterr().out)
    assert [entry["program"] for entry in per_program["programs"]] == ["crc32.c", "tokens.c"]
    assert all(entry["ratio"] <= 1.0 for entry in per_program["programs"])

    assert main([*argv[:2], "nope", *argv[3:]]) == 2
    assert "unknown toolchain 'nope'" in capsys.readouterr().err


# --- the synthetic toolchain: the optimum is known, so a search must find it exactly -----------------


def test_greedy_and_random_find_the_synthetic_optimum(tmp_path: Path) -> None:
    synthetic = pytest.importorskip("adapters.drivers.synthetic", reason="the synthetic driver is not available")
    for problem, strategy, budget in (
        (synthetic.SyntheticProblem(seed=0), "greedy", 1_000),
        (synthetic.SyntheticProblem(seed=1, passes=5, length=3, crash_pairs=1), "random", 2_000),
    ):
        corpus = synthetic.write_corpus(tmp_path / f"{strategy}", problem, count=3)
        driver = synthetic.SyntheticDriver(problem=problem)
        result = search(driver, corpus, strategy=strategy, budget=budget, seed=0)
        assert result.best.plan == synthetic.optimum(problem), strategy
        assert result.evaluations_used <= budget


def test_plans_the_toolchain_refuses_cost_nothing(tmp_path: Path) -> None:
    synthetic = pytest.importorskip("adapters.drivers.synthetic", reason="the synthetic driver is not available")
    problem = synthetic.SyntheticProblem(seed=2, passes=4, length=2, crash_pairs=0)
    corpus = synthetic.write_corpus(tmp_path, problem, count=2)
    driver = synthetic.SyntheticDriver(problem=problem)
    start = reference_plan("synthetic")
    refused = SearchSpace(start, (PassStep("s00", {"unroll": True}),))  # synthetic passes take no parameters
    result = search(driver, corpus, strategy="random", budget=5, space=refused)
    assert result.evaluations_used == 0 and result.best.plan == start
    mixed = SearchSpace(start, (PassStep("s00", {"unroll": True}), PassStep("s01")))
    result = search(driver, corpus, strategy="greedy", budget=5, space=mixed)
    assert result.evaluations_used >= 1 and all(evaluation.ok for evaluation in result.evaluations)


def test_per_program_search_skips_what_cannot_be_measured(cache_env: Path, tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DATA / "crc32.c", corpus)
    (corpus / "broken.c").write_text("int f(int a) { return a * 3 + 1\n")
    (corpus / "tables.c").write_text("const int table[3] = {1, 2, 3};\n")
    argv = ["search", "--toolchain", "llvm", "--corpus", str(corpus), "--budget", "2", "--strategy", "random"]
    assert main([*argv, "--per-program", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [entry["program"] for entry in document["programs"]] == ["crc32.c"]
    skipped = {entry["program"]: entry["reason"] for entry in document["skipped"]}
    assert skipped["tables.c"] == search_module.NO_CODE
    assert skipped["broken.c"].startswith("does not compile: ")
    assert document["summary"]["skipped_programs"] == 2 and document["summary"]["geomean_ratio"] <= 1.0
    assert main(argv) == 0  # the whole-corpus search leaves them out too
    assert "skipped broken.c: does not compile" in capsys.readouterr().out


def test_an_interrupted_search_keeps_the_best_plan_so_far(driver: LLVMDriver, cache: Cache) -> None:
    seen: list[float] = []

    def stop_after_three(evaluation) -> None:
        seen.append(evaluation.score)
        if len(seen) == 3:
            raise KeyboardInterrupt

    result = search(driver, PROGRAMS, strategy="random", budget=20, seed=6, cache=cache, progress=stop_after_three)
    assert result.interrupted and result.evaluations_used == 3
    assert result.best.score == min([1.0, *seen])
    assert result.summary()["interrupted"] is True
    found = search_per_program(
        driver,
        PROGRAMS,
        strategy="random",
        budget=20,
        seed=6,
        cache=cache,
        progress=lambda evaluation: (_ for _ in ()).throw(KeyboardInterrupt),
    )
    assert found.interrupted and len(found.results) == 1 and found.results[0].evaluations_used == 1


def test_a_warm_start_tries_earlier_programs_best_plans_first(tmp_path: Path) -> None:
    synthetic = pytest.importorskip("adapters.drivers.synthetic")
    problem = synthetic.SyntheticProblem(seed=1, passes=6, length=3, crash_pairs=0)
    corpus = synthetic.write_corpus(tmp_path, problem, count=4)
    driver = synthetic.SyntheticDriver(problem=problem)
    cold = search_per_program(driver, corpus, strategy="random", budget=12, seed=5)
    warm = search_per_program(driver, corpus, strategy="random", budget=12, seed=5, warm_start=2)
    assert warm.results[0].evaluations == cold.results[0].evaluations  # nothing earlier to start from
    for index, result in enumerate(warm.results[1:], start=1):
        earlier = {r.best.plan for r in warm.results[:index] if r.improved}
        first = [evaluation.plan for evaluation in result.evaluations[: min(2, len(earlier))]]
        assert set(first) <= earlier and result.evaluations_used <= 12
    again = search_per_program(driver, corpus, strategy="random", budget=12, seed=5, warm_start=2)
    assert [r.best.plan for r in again.results] == [r.best.plan for r in warm.results]  # deterministic
