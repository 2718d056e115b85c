"""adapters.drivers.llvm with the real toolchain: zig cc, opt and llc on the test programs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters import sandbox
from adapters.drivers import CorpusError, get_driver
from adapters.drivers.llvm import LLVMDriver, count_ir_instructions, executable_bytes
from adapters.plan import Plan, reference_plan
from adapters.toolchains.llvm import PassInfo

DATA = Path(__file__).parent / "data"
C_PROGRAMS = ("crc32.c", "sort.c", "tokens.c")
# Found by a random search over size passes; aborts opt 22 with "Loops must remain in LCSSA form!"
# (loop-reduce is a codegen pass that does not keep the loop pass manager's invariants).
CRASHING_ORDER = ["simplifycfg", "gvn", "loop-reduce"]
TEST_PASSES = (
    PassInfo("trigger-crash-module", "module", None, "LLVM's deliberate crash, for tests"),
    PassInfo("trigger-verifier-error", "module", None, "LLVM's deliberate IR corruption, for tests"),
)


def plan(*names: str, **params: dict) -> Plan:
    return Plan.from_json(
        {"toolchain": "llvm", "passes": [{"name": name, "params": params.get(name, {})} for name in names]}
    )


@pytest.fixture(scope="module")
def driver(adapter_cache: Path) -> LLVMDriver:
    return LLVMDriver(cache_dir=adapter_cache, extra_passes=TEST_PASSES)


def test_the_registry_returns_the_llvm_driver(adapter_cache: Path) -> None:
    assert isinstance(get_driver("llvm", cache_dir=adapter_cache), LLVMDriver)
    with pytest.raises(KeyError, match="unknown toolchain 'msvc'"):
        get_driver("msvc")


@pytest.mark.parametrize("name", C_PROGRAMS)
def test_references_agree_and_the_reference_plan_reproduces_them(driver: LLVMDriver, name: str) -> None:
    program = DATA / name
    pipeline = driver.reference(program, "Oz")  # (a) default<Oz> through opt and llc
    compiler = driver.reference(program, "cc-Oz")  # (b) zig cc -Oz -c
    assert pipeline.ok and pipeline.text_bytes > 0 and pipeline.ir_instructions > 0
    assert abs(compiler.text_bytes - pipeline.text_bytes) <= 0.03 * pipeline.text_bytes
    measured = driver.measure(reference_plan("llvm"), program)
    assert (measured.verdict, measured.text_bytes) == ("ok", pipeline.text_bytes)
    assert measured.ir_instructions == pipeline.ir_instructions
    unoptimised = driver.measure(plan("default", default={"level": "O0"}), program)
    assert unoptimised.ok and unoptimised.text_bytes > 1.3 * pipeline.text_bytes


def test_llc_knobs_reach_the_code_generator(driver: LLVMDriver) -> None:
    knobbed = Plan.from_json({**reference_plan("llvm").to_json(), "knobs": {"llc": {"enable-ipra": True}}})
    program = DATA / "tokens.c"
    assert driver.measure(knobbed, program).text_bytes < driver.reference(program).text_bytes


def test_register_allocation_knobs_build_verified_code(driver: LLVMDriver) -> None:
    knobs = {"regalloc": "basic", "split-spill-mode": "size", "terminal-rule": False}
    knobbed = Plan.from_json({**reference_plan("llvm").to_json(), "knobs": {"llc": knobs}})
    assert knobbed.tool_flags("llc") == ["-regalloc=basic", "-split-spill-mode=size", "-terminal-rule=false"]
    measured = driver.measure(knobbed, DATA / "sort.c")  # differential run included: same checksum
    assert measured.verdict == "ok" and measured.text_bytes != driver.reference(DATA / "sort.c").text_bytes


def test_a_crashing_pass_order_is_contained(driver: LLVMDriver) -> None:
    result = driver.measure(plan(*CRASHING_ORDER), DATA / "sort.c")
    assert (result.verdict, result.text_bytes) == ("crash: signal 6 (SIGABRT)", None)
    assert result.detail.startswith("opt: LoopPassManager.cpp:") and "LCSSA" in result.detail


def test_llvm_test_crash_pass_is_contained(driver: LLVMDriver) -> None:
    result = driver.measure(plan("trigger-crash-module"), DATA / "crc32.c")
    assert result.verdict == "crash: signal 6 (SIGABRT)"
    assert result.detail == "opt: crashed in pass trigger-crash-module"


def test_a_hanging_tool_is_a_timeout(driver: LLVMDriver, adapter_cache: Path, tmp_path: Path) -> None:
    impatient = LLVMDriver(cache_dir=adapter_cache, tool_limits=sandbox.Limits(time_seconds=0.001))
    result = impatient.apply(reference_plan("llvm"), driver.prepare(DATA / "sort.c"), tmp_path / "sort.o")
    assert (result.verdict, result.detail) == ("timeout", "opt: no output")


def test_a_module_broken_by_a_pass_is_caught_by_the_verifier(driver: LLVMDriver) -> None:
    result = driver.measure(plan("trigger-verifier-error"), DATA / "crc32.c")
    assert result.verdict == "invalid IR: Aliasee cannot be NULL!"


def test_a_module_broken_after_opt_is_caught_by_the_verifier(adapter_cache: Path) -> None:
    drop_first_return = LLVMDriver(cache_dir=adapter_cache, ir_hook=lambda text: text.replace("  ret ", "  ; ", 1))
    result = drop_first_return.measure(reference_plan("llvm"), DATA / "crc32.c")
    assert result.verdict.startswith("invalid IR: ")


def _add_becomes_sub(text: str) -> str:
    """Fault injection: the first `add` of the optimised IR computes a difference instead."""
    return re.sub(r"= add (nsw |nuw )*", "= sub ", text, count=1)


def _wrong_constant(text: str) -> str:
    """Fault injection: sort.c's hash multiplier 2654435761 (-1640531535 as i32) is off by two."""
    assert "-1640531535" in text
    return text.replace("-1640531535", "-1640531533")


def test_differential_execution_catches_a_wrong_result(adapter_cache: Path) -> None:
    faulty = LLVMDriver(cache_dir=adapter_cache, ir_hook=_wrong_constant)
    result = faulty.measure(reference_plan("llvm"), DATA / "sort.c")
    assert result.verdict == "miscompiled"
    assert re.fullmatch(
        r"program printed 'sort [0-9a-f]{8}' exit 0, reference 'sort [0-9a-f]{8}' exit 0", result.detail
    )
    assert result.text_bytes is not None  # the object was built: only its behaviour is wrong


def test_differential_execution_catches_a_broken_program(adapter_cache: Path) -> None:
    faulty = LLVMDriver(cache_dir=adapter_cache, ir_hook=_add_becomes_sub, run_limits=sandbox.Limits(time_seconds=5.0))
    result = faulty.measure(reference_plan("llvm"), DATA / "sort.c")
    assert result.verdict == "miscompiled" and result.detail.startswith("program")


def test_a_library_slice_gets_the_ir_verifier_only(adapter_cache: Path) -> None:
    faulty = LLVMDriver(cache_dir=adapter_cache, ir_hook=_add_becomes_sub)
    assert not faulty.has_main(DATA / "checksum.ll")
    result = faulty.measure(reference_plan("llvm"), DATA / "checksum.ll")
    assert result.ok and result.text_bytes > 0  # without main nothing can run: the verifier alone passes it


def test_a_plan_that_deletes_a_library_slice_is_a_miscompilation(driver: LLVMDriver) -> None:
    # internalize makes every function internal, so default<Oz> deletes them all: 0 bytes, valid IR.
    result = driver.measure(plan("internalize", "default", default={"level": "Oz"}), DATA / "checksum.ll")
    assert (result.verdict, result.text_bytes) == ("miscompiled", 0)
    assert result.detail == "the plan's object no longer exports classify, djb2_checksum (the reference does)"


def test_a_plan_that_deletes_main_fails_the_export_check_before_linking(driver: LLVMDriver) -> None:
    result = driver.measure(plan("internalize", "default", default={"level": "Oz"}), DATA / "sort.c")
    assert (result.verdict, result.text_bytes) == ("miscompiled", 0)
    assert result.detail == "the plan's object no longer exports main (the reference does)"


@pytest.mark.parametrize(
    ("file_name", "content", "message"),
    [
        (
            "broken.c",
            "int main(void) { return }\n",
            r"broken\.c: does not compile: 1:25: error: expected expression",
        ),
        ("broken.ll", "define i32 @f( {\n", r"broken\.ll: not valid LLVM IR: .*error: "),
        ("notes.txt", "hello\n", r"notes\.txt: not a C \(\.c\) or LLVM IR \(\.ll\) file"),
    ],
)
def test_an_unparsable_input_is_a_one_line_corpus_error(
    driver: LLVMDriver, tmp_path: Path, file_name: str, content: str, message: str
) -> None:
    path = tmp_path / file_name
    path.write_text(content)
    with pytest.raises(CorpusError) as caught:
        driver.prepare(path)
    text = str(caught.value)
    assert text.startswith(str(path)) and "\n" not in text
    assert re.fullmatch(rf"{re.escape(str(tmp_path))}/{message}.*", text)


def test_a_missing_input_is_a_corpus_error(driver: LLVMDriver, tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"missing\.c: cannot read: No such file or directory$"):
        driver.prepare(tmp_path / "missing.c")


def test_prepared_inputs_and_references_come_from_the_cache(driver: LLVMDriver, monkeypatch) -> None:
    program = DATA / "crc32.c"
    expected = (driver.prepare(program), driver.reference(program), driver.reference(program, "cc-Oz"))

    def no_tools(*args, **kwargs):
        raise AssertionError("a cached result ran a tool")

    monkeypatch.setattr(sandbox, "run", no_tools)
    assert (driver.prepare(program), driver.reference(program), driver.reference(program, "cc-Oz")) == expected


def test_apply_writes_an_object_measured_by_its_executable_sections(driver: LLVMDriver, tmp_path: Path) -> None:
    out = tmp_path / "crc32.o"
    result = driver.apply(reference_plan("llvm"), driver.prepare(DATA / "crc32.c"), out)
    assert result.ok and executable_bytes(out) == result.text_bytes == driver.reference(DATA / "crc32.c").text_bytes


def test_ir_instructions_are_counted_like_instcount() -> None:
    text = (DATA / "checksum.ll").read_text()
    # 17 in @djb2_checksum; @classify's switch counts once however many case lines it has.
    assert count_ir_instructions(text) == 23


INTERFACE_IR = """
target triple = "x86_64-unknown-linux-musl"
$inlined_everywhere = comdat any
@table = global i32 1
@hidden_counter = hidden global i32 0
@private_state = internal global i32 0
define i32 @exported() { ret i32 0 }
define hidden i32 @library_internal() { ret i32 1 }
define weak i32 @overridable() { ret i32 2 }
define internal i32 @local_helper() { ret i32 3 }
define linkonce_odr i32 @inlined_everywhere() comdat { ret i32 4 }
"""


def test_the_interface_is_every_linkable_definition_outside_comdat_groups(driver: LLVMDriver, tmp_path: Path) -> None:
    from adapters.elf import exported_symbols

    (tmp_path / "interface.ll").write_text(INTERFACE_IR)
    done = sandbox.run(
        [driver._tool("llc"), "-filetype=obj", str(tmp_path / "interface.ll"), "-o", str(tmp_path / "interface.o")],
        writes=[tmp_path],
    )
    assert done.ok, done.stderr
    # hidden symbols count (the rest of the library links against them); internal ones and the
    # discardable COMDAT copy do not.
    assert exported_symbols(tmp_path / "interface.o") == [
        "exported",
        "hidden_counter",
        "library_internal",
        "overridable",
        "table",
    ]
