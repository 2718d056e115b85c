"""adapters.drivers.synthetic: the known optimum is the true optimum, and the model is fast and deterministic."""

from __future__ import annotations

import itertools
import json
import random
import time
from pathlib import Path

import pytest

from adapters.cli import main
from adapters.drivers import CorpusError, get_driver
from adapters.drivers.synthetic import (
    CRASH_VERDICT,
    SyntheticDriver,
    SyntheticProblem,
    SyntheticProgram,
    optimum,
    write_corpus,
)
from adapters.evaluate import evaluate
from adapters.plan import PassStep, Plan, PlanError, reference_plan

SMALL = SyntheticProblem(seed=1, passes=5, length=3, crash_pairs=2)


def plan(*names: str) -> Plan:
    return Plan("synthetic", tuple(PassStep(name) for name in names))


def all_sequences(problem: SyntheticProblem, max_length: int):
    for length in range(max_length + 1):
        yield from itertools.product(problem.names, repeat=length)


@pytest.fixture
def small_corpus(tmp_path: Path) -> list[Path]:
    return write_corpus(tmp_path / "corpus", SMALL, count=4)


def test_exhaustive_search_finds_exactly_the_configured_optimum(small_corpus: list[Path]) -> None:
    driver = SyntheticDriver(problem=SMALL)
    best = tuple(step.name for step in optimum(SMALL).passes)
    assert len(best) == SMALL.length and len(set(best)) == SMALL.length
    # One sequence longer than the optimum too: adding passes never helps.
    sequences = [seq for seq in all_sequences(SMALL, SMALL.length + 1) if SMALL.crash(seq) is None]
    assert len(sequences) > 600  # of 781
    ratios = sorted((SMALL.ratios(seq)[0], seq) for seq in sequences)
    assert ratios[0][1] == best and ratios[0][0] < ratios[1][0]  # a strict, unique minimum
    for program in small_corpus:  # every variant, in whole bytes, has the same unique optimum
        sizes = sorted((driver.measure(plan(*seq), program).text_bytes, seq) for seq in sequences)
        assert sizes[0][1] == best and sizes[0][0] < sizes[1][0]


def test_greedy_insertion_and_random_search_reach_the_optimum() -> None:
    """The claims the model's docstring makes for orchestrator tests, on a default-sized problem
    (greedy) and on the small one (random search, a few hundred draws)."""
    for seed in range(5):
        problem = SyntheticProblem(seed=seed)
        current: tuple[str, ...] = ()
        while True:
            candidates = [
                current[:at] + (name,) + current[at:] for at in range(len(current) + 1) for name in problem.names
            ]
            candidates = [seq for seq in candidates if problem.crash(seq) is None]
            best = min(candidates, key=lambda seq: problem.ratios(seq)[0])
            if problem.ratios(best)[0] >= problem.ratios(current)[0]:
                break
            current = best
        assert current == problem.model.chain
    draws = random.Random(7)
    found = {
        seq
        for seq in (tuple(draws.choices(SMALL.names, k=draws.randint(0, SMALL.length))) for _ in range(600))
        if SMALL.crash(seq) is None
    }
    assert min(found, key=lambda seq: SMALL.ratios(seq)[0]) == SMALL.model.chain


def test_the_optimum_beats_the_reference_on_every_variant(tmp_path: Path) -> None:
    driver = SyntheticDriver()
    for program in write_corpus(tmp_path, count=6):
        reference = driver.reference(program)
        parsed = driver.program(program)
        assert (reference.text_bytes, reference.ir_instructions) == (parsed.base_bytes, parsed.base_ir)
        assert driver.measure(reference_plan("synthetic"), program) == reference
        best = driver.measure(optimum(driver.problem), program)
        assert best.ok and best.text_bytes < 0.8 * reference.text_bytes
        assert best.ir_instructions < reference.ir_instructions


def test_the_model_is_deterministic(tmp_path: Path) -> None:
    first, second = SyntheticProblem(seed=3), SyntheticProblem(seed=3)
    assert first.model == second.model and first.model is not second.model
    assert first.variant(2) == second.variant(2) and first.variant(2) != first.variant(3)
    assert len({SyntheticProblem(seed=seed).model.chain for seed in range(10)}) == 10
    paths = write_corpus(tmp_path / "a", first, count=2)
    again = write_corpus(tmp_path / "b", second, count=2)
    assert [path.read_bytes() for path in paths] == [path.read_bytes() for path in again]
    sample = plan("s03", "s07", "s07", "s12")
    measured = [SyntheticDriver(problem=first).measure(sample, path) for path in paths]
    assert measured == [SyntheticDriver(problem=second).measure(sample, path) for path in paths]


def test_crash_pairs_fail_like_a_crashing_toolchain(small_corpus: list[Path]) -> None:
    driver = SyntheticDriver(problem=SMALL)
    first, second = sorted(SMALL.model.crashes)[0]
    crashed = driver.measure(plan(first, second), small_corpus[0])
    assert (crashed.verdict, crashed.text_bytes, crashed.ir_instructions) == (CRASH_VERDICT, None, None)
    assert crashed.detail == f"synthetic: {first} directly before {second} crashes"
    assert driver.measure(plan(second, first), small_corpus[0]).ok or (second, first) in SMALL.model.crashes
    report = evaluate(plan(first, second), small_corpus[0].parent, driver=driver)
    assert (report.failures, report.reference, report.geomean_ratio) == (4, "empty", None)


def test_thousands_of_measurements_per_second(small_corpus: list[Path]) -> None:
    driver = SyntheticDriver()
    programs = write_corpus(small_corpus[0].parent.parent / "default", count=4)
    draws = random.Random(0)
    plans = [plan(*draws.choices(driver.problem.names, k=draws.randint(0, 10))) for _ in range(1000)]
    started = time.perf_counter()
    for index, candidate in enumerate(plans):
        driver.measure(candidate, programs[index % len(programs)])
    assert time.perf_counter() - started < 5.0


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"passes": [{"name": "s99"}]}, "passes[0].name: unknown synthetic pass 's99' (known: s00..s15)"),
        ({"passes": [{"name": "s01", "params": {"x": 1}}]}, "passes[0].params: synthetic passes take no parameters"),
        ({"passes": [], "knobs": {"opt": {}}}, "knobs.opt: unknown knob group (known: )"),
    ],
)
def test_bad_plans_are_one_line_plan_errors(document: dict, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        SyntheticDriver().check_plan(Plan.from_json({"toolchain": "synthetic", **document}))
    assert str(caught.value) == message


def test_programs_of_another_problem_or_not_json_are_corpus_errors(tmp_path: Path) -> None:
    driver = SyntheticDriver()
    [other] = write_corpus(tmp_path, SMALL, count=1)
    with pytest.raises(CorpusError, match=r"variant-00\.syn: a variant of another synthetic problem \(seed 1, "):
        driver.reference(other)
    broken = tmp_path / "broken.syn"
    broken.write_text('{"problem": {"seed": 0}}')
    with pytest.raises(CorpusError, match=r"broken\.syn: not a synthetic program: expected an object with exactly"):
        driver.prepare(broken)
    with pytest.raises(ValueError, match="need 1 <= length <= passes"):
        SyntheticProblem(passes=3, length=4)
    assert SyntheticProgram.from_json(json.loads(other.read_text())) == SMALL.variant(0)


def test_cli_evaluates_a_synthetic_corpus(tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, count=3)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(optimum(SyntheticProblem()).to_json()))
    assert main(["evaluate", "--plan", str(plan_file), "--corpus", str(corpus), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["toolchain"], document["reference"], document["failures"]) == ("synthetic", "empty", 0)
    assert 0.5 < document["geomean_ratio"] < 0.8
    assert main(["evaluate", "--plan", str(plan_file), "--corpus", str(corpus), "--reference", "Oz"]) == 2
    err = capsys.readouterr().err
    assert err == "opm-adapter: error: --reference: synthetic has no reference 'Oz' (known: empty)\n"
    out = tmp_path / "variant.o"
    assert main(["apply", "--plan", str(plan_file), "--input", str(corpus / "variant-00.syn"), "-o", str(out)]) == 0
    expected = get_driver("synthetic").measure(optimum(SyntheticProblem()), corpus / "variant-00.syn")
    assert json.loads(out.read_text())["text_bytes"] == expected.text_bytes
    assert (
        capsys.readouterr().out
        == f"{out}: {expected.text_bytes} bytes of code, {expected.ir_instructions} IR instructions\n"
    )
    assert main(["passes", "--toolchain", "synthetic"]) == 0
    catalogue = json.loads(capsys.readouterr().out)
    assert [entry["name"] for entry in catalogue["passes"]] == [f"s{index:02d}" for index in range(16)]
    assert {entry["kind"] for entry in catalogue["passes"]} == {"synthetic"}


def test_the_object_is_verified_like_a_build(tmp_path: Path) -> None:
    """The object document carries sizes and behaviour; the verifier rejects a forged or wrong one."""
    driver = SyntheticDriver()
    [program] = write_corpus(tmp_path, count=1)
    best = optimum(driver.problem)
    out = tmp_path / "best.o"
    applied = driver.apply(best, program, out)
    assert applied == driver.measure(best, program) and applied.ok
    document = json.loads(out.read_text())
    assert (document["text_bytes"], document["passes"]) == (applied.text_bytes, [s.name for s in best.passes])
    assert driver.verify(program, out) is None
    out.write_text(json.dumps({**document, "text_bytes": document["text_bytes"] - 1}))
    forged = driver.verify(program, out)
    assert forged is not None and forged.verdict.startswith("invalid object: sizes ")
    out.write_text(json.dumps({**document, "behaviour": {**document["behaviour"], "stdout": "synthetic 0"}}))
    wrong = driver.verify(program, out)
    assert wrong is not None and wrong.verdict == "miscompiled"
    assert wrong.detail.endswith(f"reference {document['behaviour']['stdout']!r} exit 0")
    out.write_text("{")
    assert driver.verify(program, out).verdict.startswith("invalid object: not a JSON document")
    first, second = sorted(driver.problem.model.crashes)[0]
    assert driver.apply(plan(first, second), program, tmp_path / "crash.o").verdict == CRASH_VERDICT
    assert not (tmp_path / "crash.o").exists()


def test_an_object_hook_is_caught_by_measure(tmp_path: Path) -> None:
    driver = SyntheticDriver()
    [program] = write_corpus(tmp_path, count=1)
    exits_77 = driver.variant(object_hook=lambda doc: {**doc, "behaviour": {**doc["behaviour"], "returncode": 77}})
    result = exits_77.measure(optimum(driver.problem), program)
    assert (result.verdict, result.text_bytes) == (
        "miscompiled",
        driver.measure(optimum(driver.problem), program).text_bytes,
    )
    shrunk = driver.variant(object_hook=lambda doc: {**doc, "text_bytes": 1})
    assert shrunk.measure(optimum(driver.problem), program).verdict.startswith("invalid object: sizes 1 bytes")
    assert driver.object_hook is None and driver.measure(optimum(driver.problem), program).ok
    with pytest.raises(TypeError, match="variant\\(\\) cannot change seed"):
        driver.variant(seed=3)


def test_the_modelled_run_time_meets_the_time_limit(tmp_path: Path) -> None:
    from adapters import sandbox
    from adapters.drivers.synthetic import SECONDS_PER_BYTE_PASS

    [program] = write_corpus(tmp_path, count=1)
    driver = SyntheticDriver()
    parsed = driver.program(program)
    best = optimum(driver.problem)
    seconds = parsed.base_bytes * (1 + len(best.passes)) * SECONDS_PER_BYTE_PASS
    assert parsed.seconds([step.name for step in best.passes]) == pytest.approx(seconds)
    assert driver.variant(tool_limits=sandbox.Limits(time_seconds=seconds * 1.01)).measure(best, program).ok
    late = driver.variant(tool_limits=sandbox.Limits(time_seconds=seconds * 0.99)).measure(best, program)
    assert (late.verdict, late.text_bytes) == ("timeout", None)
    assert late.detail.startswith("synthetic: the modelled run takes ")
    assert driver.measure(best, program).ok  # no limit by default


def test_program_file_writes_a_variant_once(tmp_path: Path) -> None:
    driver = SyntheticDriver(cache_dir=tmp_path / "cache")
    path = driver.program_file(0)
    assert path.name == "variant-00.syn" and driver.program(path) == driver.problem.variant(0)
    assert path.read_bytes() == write_corpus(tmp_path / "corpus", count=1)[0].read_bytes()
    stamp = path.stat().st_mtime_ns
    assert driver.program_file(0) == path and path.stat().st_mtime_ns == stamp
    assert not hasattr(driver, "cache")  # `opm-adapter search` would store measurements in a driver's `cache`
