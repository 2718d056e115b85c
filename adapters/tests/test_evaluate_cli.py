"""adapters.evaluate and the `apply` / `evaluate` commands, end to end with the real toolchain."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from adapters import sandbox
from adapters.cli import main
from adapters.drivers import CorpusError
from adapters.drivers.llvm import LLVMDriver, executable_bytes
from adapters.evaluate import evaluate
from adapters.plan import Plan, reference_plan

DATA = Path(__file__).parent / "data"
PROGRAMS = ["checksum.ll", "crc32.c", "sort.c", "tokens.c"]
CRASHING = {"toolchain": "llvm", "passes": [{"name": "simplifycfg"}, {"name": "gvn"}, {"name": "loop-reduce"}]}


@pytest.fixture
def driver(adapter_cache: Path) -> LLVMDriver:
    return LLVMDriver(cache_dir=adapter_cache)


def write_plan(directory: Path, document: dict) -> str:
    path = directory / "plan.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_the_reference_plan_evaluates_to_ratio_one(driver: LLVMDriver) -> None:
    seen: list[str] = []
    report = evaluate(reference_plan("llvm"), DATA, driver=driver, progress=lambda result: seen.append(result.program))
    assert [result.program for result in report.programs] == PROGRAMS
    assert sorted(seen) == PROGRAMS
    assert all(result.ok and result.ratio == 1.0 for result in report.programs)
    assert (report.geomean_ratio, report.failures, report.reference) == (1.0, 0, "Oz")
    assert report.plan_hash == reference_plan("llvm").content_hash()


def test_failures_are_counted_and_left_out_of_the_mean(driver: LLVMDriver) -> None:
    report = evaluate(Plan.from_json(CRASHING), DATA, jobs=2, driver=driver)
    by_name = {result.program: result for result in report.programs}
    assert by_name["sort.c"].verdict == "crash: signal 6 (SIGABRT)" and by_name["sort.c"].ratio is None
    ok = [result for result in report.programs if result.ok]
    assert report.failures == len(PROGRAMS) - len(ok) >= 2
    if ok:
        assert report.geomean_ratio == pytest.approx(math.prod(result.ratio for result in ok) ** (1 / len(ok)))
    document = report.as_json()
    assert document["failures"] == report.failures
    assert {entry["program"] for entry in document["programs"]} == set(PROGRAMS)


def test_the_compiler_reference_is_within_a_few_percent(driver: LLVMDriver) -> None:
    report = evaluate(reference_plan("llvm"), DATA, reference="cc-Oz", driver=driver)
    assert report.failures == 0
    assert report.geomean_ratio == pytest.approx(1.0, abs=0.03)


def test_an_empty_corpus_is_a_corpus_error(driver: LLVMDriver, tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"no programs \(\.c, \.ll files\) in this directory$"):
        evaluate(reference_plan("llvm"), tmp_path, driver=driver)


def test_cli_apply_writes_the_object(cache_env: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "sort.o"
    plan = write_plan(tmp_path, reference_plan("llvm").to_json())
    assert main(["apply", "--plan", plan, "--input", str(DATA / "sort.c"), "-o", str(out)]) == 0
    size = executable_bytes(out)
    assert capsys.readouterr().out == f"{out}: {size} bytes of code, 79 IR instructions\n"


def test_cli_apply_reports_a_crash_in_one_line(cache_env: Path, tmp_path: Path, capsys) -> None:
    plan = write_plan(tmp_path, CRASHING)
    assert main(["apply", "--plan", plan, "--input", str(DATA / "sort.c"), "-o", str(tmp_path / "x.o")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"opm-adapter: error: {DATA / 'sort.c'}: crash: signal 6 (SIGABRT) (opt: ")
    assert err.count("\n") == 1


def test_cli_apply_rejects_a_bad_plan_or_input(cache_env: Path, tmp_path: Path, capsys) -> None:
    bad_plan = write_plan(tmp_path, {"toolchain": "llvm", "passes": [{"name": "frobnicate"}]})
    assert main(["apply", "--plan", bad_plan, "--input", str(DATA / "sort.c"), "-o", str(tmp_path / "x.o")]) == 2
    assert capsys.readouterr().err == (
        f"opm-adapter: error: {bad_plan}: passes[0].name: llvm pass 'frobnicate' is not allowed "
        "(plans may name only the curated catalogue: opm-adapter passes --toolchain llvm)\n"
    )
    source = tmp_path / "broken.c"
    source.write_text("int main(void) { return }\n")
    plan = write_plan(tmp_path, reference_plan("llvm").to_json())
    assert main(["apply", "--plan", plan, "--input", str(source), "-o", str(tmp_path / "x.o")]) == 1
    err = capsys.readouterr().err
    assert err == f"opm-adapter: error: {source}: does not compile: 1:25: error: expected expression\n"


def test_cli_evaluate_prints_a_table(cache_env: Path, tmp_path: Path, capsys) -> None:
    plan = write_plan(tmp_path, {**reference_plan("llvm").to_json(), "knobs": {"llc": {"enable-ipra": True}}})
    assert main(["evaluate", "--plan", plan, "--corpus", str(DATA)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["program", "reference", "plan", "ratio", "verdict"]
    assert [line.split()[0] for line in lines[1:-1]] == PROGRAMS
    assert all(line.split()[-1] == "ok" for line in lines[1:-1])
    assert lines[-1].startswith("geometric mean ratio 0.") and lines[-1].endswith("(reference Oz); 0 failed")
    assert "/4 [" in err  # the progress bar (over 4 programs), on stderr


def test_cli_evaluate_json(cache_env: Path, tmp_path: Path, capsys) -> None:
    plan = write_plan(tmp_path, CRASHING)
    assert main(["evaluate", "--plan", plan, "--corpus", str(DATA), "--json", "--jobs", "2"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["plan"] == Plan.from_json(CRASHING).content_hash()
    assert set(document) == {
        "toolchain",
        "kind",
        "plan",
        "reference",
        "programs",
        "geomean_ratio",
        "failures",
        "sandbox",
    }
    assert document["sandbox"] == sandbox.describe()
    assert [entry["program"] for entry in document["programs"]] == PROGRAMS
    sort = document["programs"][PROGRAMS.index("sort.c")]
    assert (sort["verdict"], sort["plan_bytes"], sort["ratio"]) == ("crash: signal 6 (SIGABRT)", None, None)


def test_cli_evaluate_reports_a_missing_corpus(cache_env: Path, tmp_path: Path, capsys) -> None:
    plan = write_plan(tmp_path, reference_plan("llvm").to_json())
    assert main(["evaluate", "--plan", plan, "--corpus", str(tmp_path / "nowhere")]) == 1
    assert capsys.readouterr().err == f"opm-adapter: error: {tmp_path / 'nowhere'}: not a directory\n"


@pytest.mark.parametrize("command", ["apply", "evaluate"])
def test_new_commands_have_help(command: str, capsys) -> None:
    assert main([command, "--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: opm-adapter {command}")


IPRA = {**reference_plan("llvm").to_json(), "knobs": {"llc": {"enable-ipra": True}}}
BASIC_RA = {**reference_plan("llvm").to_json(), "knobs": {"llc": {"regalloc": "basic"}}}


def _mixed_corpus(directory: Path) -> Path:
    """The test programs plus one that does not compile and one with data only."""
    corpus = directory / "corpus"
    corpus.mkdir()
    for name in ("crc32.c", "sort.c"):
        (corpus / name).write_bytes((DATA / name).read_bytes())
    (corpus / "broken.c").write_text("int f(int a) { return a * 3 + 1\n")
    (corpus / "tables.c").write_text("const int table[4] = {1, 2, 3, 4};\nint counter = 7;\n")
    return corpus


def test_a_program_that_does_not_compile_is_its_own_failure(driver: LLVMDriver, tmp_path: Path) -> None:
    report = evaluate(Plan.from_json(IPRA), _mixed_corpus(tmp_path), driver=driver)
    by_name = {result.program: result for result in report.programs}
    assert by_name["broken.c"].verdict == "no reference"
    assert by_name["broken.c"].detail.startswith("does not compile: ")
    assert by_name["tables.c"].ok and by_name["tables.c"].ratio is None  # no code: no ratio
    assert by_name["crc32.c"].ok and by_name["sort.c"].ok
    assert report.failures == 1 and report.geomean_ratio is not None


def test_cli_apply_names_a_missing_output_directory(cache_env: Path, tmp_path: Path, capsys) -> None:
    plan = write_plan(tmp_path, reference_plan("llvm").to_json())
    missing = tmp_path / "missing" / "x.o"
    assert main(["apply", "--plan", plan, "--input", str(DATA / "sort.c"), "-o", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"opm-adapter: error: -o {missing}: the directory {missing.parent} does not exist\n"
    )


def _portfolio_file(directory: Path, *members: dict) -> str:
    path = directory / "portfolio.json"
    path.write_text(json.dumps({"toolchain": "llvm", "members": list(members)}))
    return str(path)


def test_cli_evaluate_portfolio_keeps_each_programs_smallest_verified_build(
    cache_env: Path, tmp_path: Path, capsys
) -> None:
    portfolio = _portfolio_file(tmp_path, CRASHING, IPRA, BASIC_RA)
    assert main(["evaluate", "--portfolio", portfolio, "--corpus", str(DATA), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["kind"] == "portfolio" and document["failures"] == 0
    driver = LLVMDriver(cache_dir=cache_env)
    for entry in document["programs"]:
        reference, *members = entry["candidate_bytes"]
        assert reference == driver.reference(DATA / entry["program"]).text_bytes
        verified = [size for size in entry["candidate_bytes"] if size is not None]
        assert entry["plan_bytes"] == min(verified) <= entry["reference_bytes"]
        if entry["member"] is None:
            assert entry["plan_bytes"] == reference
        else:  # a member wins only when strictly smaller than the reference and every earlier member
            assert (
                entry["plan_bytes"]
                == members[entry["member"]]
                < min(size for size in [reference, *members[: entry["member"]]] if size is not None)
            )
    sort = next(entry for entry in document["programs"] if entry["program"] == "sort.c")
    assert sort["candidate_bytes"][1] is None and sort["failed_members"] >= 1  # the crashing member
    assert sum(document["wins"]["members"]) + document["wins"]["reference"] == len(PROGRAMS)
    assert document["geomean_ratio"] <= 1.0


def test_cli_apply_portfolio_writes_the_smallest_verified_object(cache_env: Path, tmp_path: Path, capsys) -> None:
    portfolio = _portfolio_file(tmp_path, CRASHING, IPRA)
    out = tmp_path / "tokens.o"
    assert main(["apply", "--portfolio", portfolio, "--input", str(DATA / "tokens.c"), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    driver = LLVMDriver(cache_dir=cache_env)
    ipra = driver.measure(Plan.from_json(IPRA), DATA / "tokens.c").text_bytes
    reference = driver.reference(DATA / "tokens.c").text_bytes
    assert executable_bytes(out) == min(ipra, reference)
    assert "member 0: crash: signal 6 (SIGABRT)" in captured.err
    assert "(the portfolio has 2 member(s) and the reference)" in captured.out


def test_a_plan_file_is_a_portfolio_of_one(cache_env: Path, tmp_path: Path, capsys) -> None:
    plan = write_plan(tmp_path, IPRA)
    assert main(["evaluate", "--portfolio", plan, "--corpus", str(DATA), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["portfolio"] == _portfolio_hash(IPRA)
    assert all(len(entry["candidate_bytes"]) == 2 for entry in document["programs"])


def _portfolio_hash(*members: dict) -> str:
    from adapters.portfolio import Portfolio

    return Portfolio("llvm", tuple(Plan.from_json(member) for member in members)).content_hash()
