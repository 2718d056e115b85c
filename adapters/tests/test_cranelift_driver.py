"""adapters.drivers.cranelift with the real toolchain: zig cc to wasm, wasmtime's Cranelift, WASI runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters import corpus, sandbox
from adapters.cli import main
from adapters.conformance import run_conformance
from adapters.drivers import get_driver
from adapters.drivers.cranelift import CraneliftDriver
from adapters.plan import Plan, PlanError, reference_plan
from adapters.toolchains import cranelift as toolchain

PROGRAMS = {program.name: program for program in corpus.programs()}
SAMPLE = ("hash_crc32", "dsp_fir", "sort_radix")
POLY_IEEE = 0xEDB88320  # hash_crc32.c's CRC-32 polynomial: one `i32.const` in its wasm


def plan(*settings: tuple[str, object], opt_level: str | None = None) -> Plan:
    document: dict = {"toolchain": "cranelift", "passes": [{"name": n, "params": {"value": v}} for n, v in settings]}
    if opt_level is not None:
        document["knobs"] = {"cranelift": {"opt_level": opt_level}}
    return Plan.from_json(document)


def i32_const(value: int) -> bytes:
    """The wasm encoding of `i32.const value`: opcode 0x41 and the value as signed LEB128."""
    value = value - 2**32 if value >= 2**31 else value
    encoded = bytearray([0x41])
    while True:
        byte, value = value & 0x7F, value >> 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            return bytes(encoded + bytes([byte]))
        encoded.append(byte | 0x80)


@pytest.fixture(scope="module")
def driver(adapter_cache: Path) -> CraneliftDriver:
    return CraneliftDriver(cache_dir=adapter_cache)


@pytest.fixture(scope="module")
def crc32() -> Path:
    return PROGRAMS["hash_crc32"].path


def test_the_registry_returns_the_cranelift_driver(adapter_cache: Path) -> None:
    assert isinstance(get_driver("cranelift", cache_dir=adapter_cache), CraneliftDriver)


@pytest.mark.parametrize("name", SAMPLE)
def test_reference_sizes_and_the_reference_plan_reproduces_them(driver: CraneliftDriver, name: str) -> None:
    program = PROGRAMS[name].path
    reference = driver.reference(program)
    assert reference.ok and reference.text_bytes > 10_000  # the program plus the wasi-libc it uses
    measured = driver.measure(reference_plan("cranelift"), program)
    assert (measured.verdict, measured.text_bytes) == ("ok", reference.text_bytes)
    assert driver.measure(plan(), program).text_bytes == reference.text_bytes  # no knob: the reference level


def test_opt_levels_differ(driver: CraneliftDriver, crc32: Path) -> None:
    none = driver.measure(plan(opt_level="none"), crc32)
    reference = driver.measure(plan(opt_level="speed_and_size"), crc32)
    assert none.ok and reference.ok
    assert none.text_bytes != reference.text_bytes


def test_settings_reach_the_code_generator(driver: CraneliftDriver, crc32: Path) -> None:
    reference = driver.reference(crc32).text_bytes
    single_pass = driver.measure(plan(("regalloc_algorithm", "single_pass")), crc32)
    assert single_pass.ok and single_pass.text_bytes > 1.5 * reference


def test_the_same_plan_measures_the_same_twice(driver: CraneliftDriver, crc32: Path, tmp_path: Path) -> None:
    chosen = plan(("enable_alias_analysis", False), ("log2_min_function_alignment", 4), opt_level="speed")
    wasm = driver.prepare(crc32)
    first, second = tmp_path / "first.cwasm", tmp_path / "second.cwasm"
    assert driver.apply(chosen, wasm, first).text_bytes == driver.apply(chosen, wasm, second).text_bytes
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ([("no_such_setting", True)], "passes[0].name: unknown cranelift setting 'no_such_setting'"),
        ([("regalloc_algorithm", "linear_scan")], "'linear_scan' is not one of backtracking, single_pass"),
        ([("enable_verifier", 1)], "passes[0].params.value: enable_verifier takes a boolean"),
        ([("probestack_size_log2", 0)], "0 is outside the allowed range [4, 16]"),
        ([("is_pic", True), ("is_pic", False)], "passes[1].name: is_pic is already set by an earlier pass"),
        ([("enable_probestack", False)], "unknown cranelift setting 'enable_probestack'"),  # wasmtime ignores it
    ],
)
def test_a_bad_setting_is_a_one_line_plan_error(driver: CraneliftDriver, settings: list, message: str) -> None:
    with pytest.raises(PlanError, match=r"^[^\n]+$") as error:
        driver.check_plan(plan(*settings))
    assert message in str(error.value)


def test_a_bad_opt_level_is_rejected_by_the_plan_parser() -> None:
    with pytest.raises(PlanError, match="knobs.cranelift.opt_level: 'fastest' is not one of none, speed"):
        plan(opt_level="fastest")


def test_differential_execution_passes_for_the_reference(driver: CraneliftDriver, crc32: Path, tmp_path: Path) -> None:
    artefact = tmp_path / "reference.cwasm"
    assert driver.apply(reference_plan("cranelift"), driver.prepare(crc32), artefact).ok
    assert driver.verify(crc32, artefact) is None
    expected = PROGRAMS["hash_crc32"].expected_output
    assert driver._reference_run(crc32)["stdout_head"] == expected


def test_differential_execution_catches_a_changed_constant(adapter_cache: Path, crc32: Path) -> None:
    """A 'miscompilation' by hand: the plan's module gets another CRC polynomial, one bit flipped."""

    def flip_polynomial(wasm: bytes) -> bytes:
        old, new = i32_const(POLY_IEEE), i32_const(POLY_IEEE ^ 0x100)
        assert wasm.count(old) == 1 and len(new) == len(old)
        return wasm.replace(old, new)

    hooked = CraneliftDriver(cache_dir=adapter_cache, wasm_hook=flip_polynomial)
    result = hooked.measure(reference_plan("cranelift"), crc32)
    assert result.verdict == "miscompiled"
    assert result.text_bytes is not None
    assert result.detail.startswith("program printed 'hash_crc32 ") and "reference 'hash_crc32 " in result.detail


def test_a_run_over_its_time_limit_is_a_timeout(adapter_cache: Path, crc32: Path, driver: CraneliftDriver) -> None:
    driver._reference_run(crc32)  # cached first: only the plan's run gets the tiny limit
    impatient = CraneliftDriver(cache_dir=adapter_cache, run_limits=sandbox.Limits(time_seconds=0.01))
    assert impatient.measure(reference_plan("cranelift"), crc32).verdict == "timeout"


def test_a_compiler_abort_is_contained(driver: CraneliftDriver, crc32: Path, tmp_path: Path) -> None:
    """wasmtime aborts its process on a setting value it does not know; the worker takes the hit.
    Its message also confirms the catalogue's choices are exactly wasmtime's."""
    config = toolchain.encode_config("speed_and_size", {"regalloc_algorithm": "bogus"})
    result = driver._build(config, driver.prepare(crc32), tmp_path / "x.cwasm")
    assert result.verdict == "crash: signal 6 (SIGABRT)"
    assert result.detail.endswith("expected any among backtracking, single_pass")


def test_the_catalogue_covers_every_setting_wasmtime_has(driver: CraneliftDriver, crc32: Path, tmp_path: Path) -> None:
    artefact = tmp_path / "reference.cwasm"
    assert driver.apply(reference_plan("cranelift"), driver.prepare(crc32), artefact).ok
    metadata = toolchain.engine_metadata(artefact)
    assert (metadata.wasmtime, metadata.target) == ("50", toolchain.TARGET)
    listed = {setting.name for setting in toolchain.SETTINGS}
    assert listed.isdisjoint(toolchain.EXCLUDED)
    assert set(metadata.shared) == listed | set(toolchain.EXCLUDED)
    assert {setting.name: setting.default for setting in toolchain.SETTINGS} == {
        name: metadata.shared[name] for name in listed
    }
    assert metadata.isa and not any(metadata.isa.values())  # the x86-64 baseline, whatever the host
    assert all(name.startswith("has_") for name in metadata.isa)


def _values(setting: toolchain.Setting) -> list:
    if setting.kind == "bool":
        return [not setting.default]
    if setting.kind == "enum":
        return [choice for choice in setting.choices if choice != setting.default]
    return [setting.minimum, setting.maximum]


def test_every_catalogued_value_compiles_and_takes_effect(driver: CraneliftDriver) -> None:
    """Each setting at its non-default values compiles and runs the program and is recorded in the
    artefact (`measure` fails a plan with `setting ignored` otherwise)."""
    program = PROGRAMS["sort_radix"].path
    for setting in toolchain.SETTINGS:
        for value in _values(setting):
            result = driver.measure(plan((setting.name, value)), program)
            assert result.ok, (setting.name, value, result)


def test_the_catalogue_document() -> None:
    document = toolchain.catalogue()
    assert (document["toolchain"], document["version"]) == ("cranelift", "50.0.1")
    entries = {entry["name"]: entry for entry in document["passes"]}
    assert set(entries["enable_alias_analysis"]) == {"name", "kind", "parameters", "parameter_schema", "description"}
    assert entries["regalloc_algorithm"]["parameter_schema"]["properties"]["value"]["enum"] == [
        "backtracking",
        "single_pass",
    ]


def test_cli_evaluates_a_cranelift_plan(tmp_path: Path, cache_env: Path, capsys: pytest.CaptureFixture) -> None:
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    for name in ("hash_crc32", "sort_radix"):
        (corpus_dir / f"{name}.c").write_bytes(PROGRAMS[name].path.read_bytes())
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan(("enable_table_access_spectre_mitigation", False)).to_json()))
    assert main(["evaluate", "--plan", str(plan_file), "--corpus", str(corpus_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["toolchain"], report["reference"], report["failures"]) == ("cranelift", "speed_and_size", 0)
    assert 0.9 < report["geomean_ratio"] <= 1.0

    plan_file.write_text(json.dumps({"toolchain": "cranelift", "passes": [{"name": "enable_probestack"}]}))
    assert main(["evaluate", "--plan", str(plan_file), "--corpus", str(corpus_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"opm-adapter: error: {plan_file}: passes[0].name: unknown cranelift setting")
    assert err.count("\n") == 1


def test_the_driver_passes_the_conformance_harness(driver: CraneliftDriver) -> None:
    report = run_conformance(driver)
    assert report["verdict"] == "passed", [check for check in report["checks"] if not check["passed"]]
