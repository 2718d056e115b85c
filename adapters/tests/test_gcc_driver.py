"""adapters.drivers.gcc with the system gcc on corpus programs: sizes, plans, the verifier, containment."""

from __future__ import annotations

import json
import re
import shutil
import stat
from pathlib import Path

import pytest

from adapters import sandbox
from adapters.cli import main
from adapters.corpus import programs
from adapters.drivers import CorpusError, get_driver
from adapters.drivers.gcc import ICE_VERDICT, GCCDriver
from adapters.elf import executable_bytes
from adapters.plan import Plan, PlanError, reference_plan
from adapters.toolchains.gcc import EXCLUDED_FLAGS, parse_optimizers_help

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="no system gcc")

ALPHA = {program.name: program for program in programs(("alpha",))}
CRC = ALPHA["hash_crc32"].path
SAMPLE = [ALPHA[name].path for name in ("hash_crc32", "comp_huffman", "sort_radix")]
# hash_crc32.c's IEEE polynomial 0xEDB88320, as gcc -Os writes it into main.
POLYNOMIAL = "$-306674912"


def gcc_plan(*steps: dict, **knobs: dict) -> Plan:
    return Plan.from_json({"toolchain": "gcc", "passes": list(steps), "knobs": knobs})


@pytest.fixture(scope="module")
def driver(adapter_cache: Path) -> GCCDriver:
    return GCCDriver(cache_dir=adapter_cache)


def test_the_optimizers_help_is_parsed_into_flags() -> None:
    text = (
        "The following options control optimizations:\n"
        "  -O<number>                  Set optimization level to <number>.\n"
        "  -Os                         Optimize for space rather than speed.\n"
        "  -fgcse                      Perform global common subexpression elimination.\n"
        "  -finline-functions-called-once Integrate functions only required by their\n"
        "                              single caller.\n"
        "  -falign-functions=          This option lacks documentation.\n"
        "  -fira-region=[one|all|mixed] Set regions for IRA.\n"
        "  -fexcess-precision=[fast|standard|16] Specify handling of excess precision.\n"
        "  -fno-threadsafe-statics     Do not generate thread-safe code.\n"
        "  -fopt-info                  Enable all optimization info dumps on stderr.\n"
        "  -ffast-math                 This option lacks documentation.\n"
    )
    flags, levels = parse_optimizers_help(text)
    assert levels == ("Os",)
    by_name = {info.name: info for info in flags}
    assert list(by_name) == ["fast-math", "gcse", "inline-functions-called-once", "ira-region"]
    assert by_name["inline-functions-called-once"].description.endswith("their single caller.")
    assert by_name["fast-math"].description.startswith("Sets -fno-math-errno")
    assert by_name["ira-region"].parameter_schema()["properties"]["value"]["enum"] == ["one", "all", "mixed"]
    assert by_name["gcse"].as_json()["parameter_schema"]["properties"]["enabled"]["type"] == "boolean"


def test_cli_prints_the_gcc_catalogue(capsys) -> None:
    assert main(["passes", "--toolchain", "gcc"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["toolchain"] == "gcc" and re.fullmatch(r"\d+\.\d+\.\d+", document["version"])
    entries = {entry["name"]: entry for entry in document["passes"]}
    assert {entry["kind"] for entry in entries.values()} == {"flag"}
    assert {"gcse", "inline", "omit-frame-pointer", "tree-pre", "ipa-icf"} <= set(entries)
    assert entries["ira-algorithm"]["parameters"] == "[CB|priority]"
    assert not set(EXCLUDED_FLAGS) & set(entries) and len(entries) > 150
    assert all(entry["description"] for entry in entries.values())


@pytest.mark.parametrize("program", SAMPLE, ids=lambda path: path.stem)
def test_references_and_the_reference_plan_agree(driver: GCCDriver, program: Path) -> None:
    size, smallest = driver.reference(program), driver.reference(program, "Oz")
    assert size.ok and size.text_bytes > 500 and size.ir_instructions is None
    assert 0 < smallest.text_bytes < size.text_bytes  # -Oz trades speed for size even on these
    measured = driver.measure(reference_plan("gcc"), program)
    assert (measured.verdict, measured.text_bytes) == ("ok", size.text_bytes)
    assert driver.measure(gcc_plan(gcc={"Oz": True}), program).text_bytes == smallest.text_bytes


def test_size_flags_and_params_change_the_object(driver: GCCDriver) -> None:
    program = ALPHA["comp_huffman"].path
    reference = driver.reference(program).text_bytes
    no_inlining = driver.measure(gcc_plan({"name": "inline", "params": {"enabled": False}}), program)
    assert no_inlining.ok and no_inlining.text_bytes > reference  # checked by differential execution too
    frame_pointer = driver.measure(gcc_plan({"name": "omit-frame-pointer", "params": {"enabled": False}}), program)
    assert frame_pointer.ok and frame_pointer.text_bytes > reference
    crossjump = driver.measure(gcc_plan(param={"min-crossjump-insns": 5}), CRC)
    assert crossjump.ok and crossjump.text_bytes > driver.reference(CRC).text_bytes


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"passes": [{"name": "frobnicate"}]}, "passes[0].name: unknown gcc flag 'frobnicate'"),
        (
            {"passes": [{"name": "no-inline"}]},
            """passes[0].name: unknown gcc flag 'no-inline'; write {"name": "inline", "params": {"enabled": false}}""",
        ),
        (
            {"passes": [{"name": "save-optimization-record"}]},
            "passes[0].name: unknown gcc flag 'save-optimization-record'",
        ),
        ({"passes": [{"name": "gcse"}, {"name": "gcse"}]}, "passes[1].name: flag 'gcse' is already set by passes[0]"),
        ({"passes": [{"name": "gcse", "params": {"on": True}}]}, "passes[0].params.on: not a parameter of this flag"),
        ({"passes": [{"name": "gcse", "params": {"enabled": 1}}]}, "passes[0].params.enabled: expected a boolean"),
        (
            {"passes": [{"name": "ira-region", "params": {"value": "some"}}]},
            "passes[0].params.value: expected one of one, all, mixed, got 'some'",
        ),
        ({"passes": [], "knobs": {"gcc": {"Oz": 1}}}, "knobs.gcc.Oz: expected a boolean, got a number"),
        ({"passes": [], "knobs": {"param": {"inline-unit-growth": -1}}}, "knobs.param.inline-unit-growth: -1 is"),
        ({"passes": [], "knobs": {"param": {"max-unroll-times": 2}}}, "knobs.param.max-unroll-times: not an allowed"),
    ],
)
def test_bad_plans_are_one_line_plan_errors(driver: GCCDriver, document: dict, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        driver.check_plan(Plan.from_json({"toolchain": "gcc", **document}))
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_a_choice_flag_is_written_with_its_value(driver: GCCDriver) -> None:
    priority = driver.measure(gcc_plan({"name": "ira-algorithm", "params": {"value": "priority"}}), CRC)
    assert priority.ok and priority.text_bytes > driver.reference(CRC).text_bytes


def test_differential_execution_catches_a_wrong_constant(adapter_cache: Path) -> None:
    def wrong_polynomial(assembly: str) -> str:
        assert assembly.count(POLYNOMIAL) == 1
        return assembly.replace(POLYNOMIAL, "$-306674911")

    result = GCCDriver(cache_dir=adapter_cache, asm_hook=wrong_polynomial).measure(reference_plan("gcc"), CRC)
    assert result.verdict == "miscompiled" and result.text_bytes is not None
    # The program checks the standard CRC check values itself, so it also exits with status 1.
    assert result.detail == "program printed 'hash_crc32 c658ec5c' exit 1, reference 'hash_crc32 f618d863' exit 0"


@pytest.mark.parametrize(
    ("injected", "detail"),
    [
        ("\tud2\n", "program: crash: signal 4 (SIGILL) (reference: exit 0)"),
        (".Lopm_hang:\n\tjmp .Lopm_hang\n", "program: timeout (reference: exit 0)"),
    ],
    ids=["crash", "hang"],
)
def test_a_crashing_or_hanging_program_is_contained(adapter_cache: Path, injected: str, detail: str) -> None:
    faulty = GCCDriver(
        cache_dir=adapter_cache,
        asm_hook=lambda assembly: assembly.replace("\nmain:\n", f"\nmain:\n{injected}", 1),
        run_limits=sandbox.Limits(time_seconds=1.0),
    )
    result = faulty.measure(reference_plan("gcc"), CRC)
    assert (result.verdict, result.detail) == ("miscompiled", detail)


@pytest.fixture
def faulty_gcc(tmp_path: Path) -> str:
    """A gcc that aborts on -fgcse-sm and reports an internal compiler error on -fipa-pta, as
    crashing compilers do; everything else goes to the real gcc."""
    script = tmp_path / "gcc"
    script.write_text(
        "#!/bin/sh\n"
        'case " $* " in\n'
        '  *" -fgcse-sm "*) kill -ABRT $$ ;;\n'
        '  *" -fipa-pta "*) echo "prog.c:9:1: internal compiler error: Segmentation fault" >&2; exit 4 ;;\n'
        "esac\n"
        f'exec {shutil.which("gcc")} "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_a_crashing_compiler_is_contained(adapter_cache: Path, faulty_gcc: str) -> None:
    faulty = GCCDriver(cache_dir=adapter_cache, gcc=faulty_gcc)
    aborted = faulty.measure(gcc_plan({"name": "gcse-sm"}), CRC)
    assert (aborted.verdict, aborted.text_bytes, aborted.detail) == (
        "crash: signal 6 (SIGABRT)",
        None,
        "gcc: no output",
    )
    ice = faulty.measure(gcc_plan({"name": "ipa-pta"}), CRC)
    assert (ice.verdict, ice.detail) == (ICE_VERDICT, "gcc: prog.c:9:1: internal compiler error: Segmentation fault")
    assert faulty.measure(gcc_plan({"name": "gcse"}), CRC).ok


def test_a_hanging_compiler_is_a_timeout(driver: GCCDriver, adapter_cache: Path, tmp_path: Path) -> None:
    impatient = GCCDriver(cache_dir=adapter_cache, tool_limits=sandbox.Limits(time_seconds=0.001))
    result = impatient.apply(reference_plan("gcc"), driver.prepare(CRC), tmp_path / "crc.o")
    assert (result.verdict, result.detail) == ("timeout", "gcc: no output")


def test_a_program_that_does_not_compile_is_a_one_line_corpus_error(driver: GCCDriver, tmp_path: Path) -> None:
    broken = tmp_path / "broken.c"
    broken.write_text("int main(void) { return }\n")
    with pytest.raises(CorpusError) as caught:
        driver.prepare(broken)
    assert str(caught.value) == f"{broken}: does not compile: 1:25: error: expected expression before '}}' token"
    with pytest.raises(CorpusError, match=r"notes\.txt: not a C \(\.c\) file$"):
        driver.prepare(tmp_path / "notes.txt")


def test_a_library_slice_is_accepted_without_execution(driver: GCCDriver, tmp_path: Path) -> None:
    library = tmp_path / "slice.c"
    library.write_text("unsigned mix(unsigned x) { return (x ^ (x >> 7)) * 2654435761u; }\n")
    result = driver.measure(gcc_plan({"name": "gcse", "params": {"enabled": False}}), library)
    assert result.ok and result.text_bytes == driver.reference(library).text_bytes > 0


def test_prepared_inputs_and_references_come_from_the_cache(driver: GCCDriver, monkeypatch) -> None:
    expected = (driver.prepare(CRC), driver.reference(CRC), driver.reference(CRC, "Oz"))

    def no_tools(*args, **kwargs):
        raise AssertionError("a cached result ran a tool")

    monkeypatch.setattr(sandbox, "run", no_tools)
    assert (driver.prepare(CRC), driver.reference(CRC), driver.reference(CRC, "Oz")) == expected


def test_cli_apply_and_evaluate_a_gcc_plan(cache_env: Path, tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for program in SAMPLE[:2]:
        shutil.copy(program, corpus / program.name)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps({"toolchain": "gcc", "passes": [], "knobs": {"gcc": {"Oz": True}}}))
    out = tmp_path / "crc.o"
    assert main(["apply", "--plan", str(plan_file), "--input", str(CRC), "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"{out}: {executable_bytes(out)} bytes of code\n"
    assert main(["evaluate", "--plan", str(plan_file), "--corpus", str(corpus), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["toolchain"], document["reference"], document["failures"]) == ("gcc", "Os", 0)
    assert 0.9 < document["geomean_ratio"] < 1.0
    assert main(["evaluate", "--plan", str(plan_file), "--corpus", str(corpus), "--reference", "Oz"]) == 0
    assert (
        capsys.readouterr().out.splitlines()[-1]
        == "geometric mean ratio 1.0000 over 2 ok programs (reference Oz); 0 failed"
    )


def test_the_registry_returns_the_gcc_driver(adapter_cache: Path) -> None:
    assert isinstance(get_driver("gcc", cache_dir=adapter_cache), GCCDriver)


def test_a_wrapper_crashes_plan_builds_only(driver: GCCDriver, tmp_path: Path) -> None:
    """The conformance crash hook: cc1 replaced by a process that really aborts, for plans only."""
    crashing = driver.variant(wrapper=("sh", "-c", "kill -ABRT $$"))
    assert crashing.wrapper == ("sh", "-c", "kill -ABRT $$") and driver.wrapper == ()
    crashed = crashing.measure(reference_plan("gcc"), CRC)
    assert (crashed.verdict, crashed.text_bytes) == (ICE_VERDICT, None)
    assert crashed.detail == "gcc: internal compiler error: Aborted signal terminated program sh"
    fresh = GCCDriver(cache_dir=tmp_path, wrapper=crashing.wrapper)  # nothing cached: the reference really builds
    assert fresh.reference(CRC) == driver.reference(CRC)  # references are built without the wrapper
    passthrough = driver.variant(wrapper=("sh", "-c", 'exec "$0" "$@"'))
    assert passthrough.measure(reference_plan("gcc"), CRC) == driver.measure(reference_plan("gcc"), CRC)
    with pytest.raises(ValueError, match="splits at commas"):
        driver.variant(wrapper=("sh", "-c", "echo a,b"))
    with pytest.raises(TypeError, match="variant\\(\\) cannot change gcc"):
        driver.variant(gcc="/bin/false")


def test_assembler_errors_name_the_line_not_a_temporary_path(driver: GCCDriver) -> None:
    broken = driver.variant(asm_hook=lambda assembly: assembly.replace("\nmain:\n", "\nmain:\n\tnot_an_op\n", 1))
    result = broken.measure(reference_plan("gcc"), CRC)
    assert re.fullmatch(r"exit 1: plan\.s:\d+: Error: no such instruction: `not_an_op'", result.verdict)
    assert result.text_bytes is None


def test_a_plan_that_drops_an_exported_function_is_a_miscompilation(driver: GCCDriver, tmp_path: Path) -> None:
    # gcc has no IR verifier and a library slice cannot run: its exports are what the verifier can check.
    library = tmp_path / "slice.c"
    library.write_text("unsigned mix(unsigned x) { return (x ^ (x >> 7)) * 2654435761u; }\n")
    dropped = "unsigned mix(unsigned x);\n"  # the "plan's" object: a module that defines nothing
    (tmp_path / "empty.c").write_text(dropped)
    obj = tmp_path / "empty.o"
    assert driver.apply(reference_plan("gcc"), driver.prepare(tmp_path / "empty.c"), obj).ok
    failure = driver.verify(library, obj)
    assert failure is not None and failure.verdict == "miscompiled"
    assert failure.detail == "the plan's object no longer exports mix (the reference does)"
