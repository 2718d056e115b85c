"""adapters.conformance: the llvm driver passes; a driver with a blind verifier, a nondeterministic
driver or one without test hooks fails the check that exposes it, and never gets a fake pass."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import jsonschema
import pytest

from adapters import sandbox
from adapters.cli import main
from adapters.conformance import HARNESS_VERSION, REPORT_SCHEMA, SUITES, FaultNotInjected, run_conformance
from adapters.contract import ADAPTER_CONTRACT, MANIFEST_SCHEMA, SIGNAL_SCHEMA, build_manifest, schema_errors
from adapters.drivers.base import Measurement
from adapters.drivers.gcc import ICE_VERDICT, GCCDriver
from adapters.drivers.llvm import LLVMDriver
from adapters.drivers.synthetic import CRASH_VERDICT, SyntheticDriver, SyntheticProblem
from adapters.plan import Plan

CHECK_NAMES = [name for name, _ in SUITES[ADAPTER_CONTRACT]]


class BlindVerifier(LLVMDriver):
    """Accepts every build: differential execution switched off by a no-op verify."""

    def verify(self, program: Path, out_object: Path) -> Measurement | None:
        return None


class Nondeterministic(LLVMDriver):
    """Appends random bytes to every object it writes."""

    def apply(self, plan: Plan, input: Path, out_object: Path) -> Measurement:
        result = super().apply(plan, input, out_object)
        with open(out_object, "ab") as stream:
            stream.write(os.urandom(16))
        return result


class WithoutHooks(LLVMDriver):
    """An llvm driver without its variant() hook: the checks needing extra passes or an IR hook cannot run."""

    variant = None  # type: ignore[assignment]


def assert_valid_report(report: dict) -> None:
    validator = jsonschema.Draft202012Validator(REPORT_SCHEMA, format_checker=jsonschema.FormatChecker())
    validator.validate(report)
    assert report["contract"] == ADAPTER_CONTRACT and report["harness_version"] == HARNESS_VERSION
    assert [check["name"] for check in report["checks"]] == CHECK_NAMES
    assert (report["verdict"] == "passed") == all(check["passed"] for check in report["checks"])
    assert report["started_at"] <= report["finished_at"]
    assert report["sandbox"] == sandbox.describe()


def checks(report: dict) -> dict[str, dict]:
    return {check["name"]: check for check in report["checks"]}


@pytest.fixture(scope="module")
def llvm_report(adapter_cache: Path) -> dict:
    return run_conformance(LLVMDriver(cache_dir=adapter_cache))


def test_the_llvm_driver_passes_every_check(llvm_report: dict) -> None:
    assert_valid_report(llvm_report)
    failed = {name: check["detail"] for name, check in checks(llvm_report).items() if not check["passed"]}
    assert failed == {}
    assert llvm_report["verdict"] == "passed" and llvm_report["toolchain"] == "llvm"
    by_name = checks(llvm_report)
    assert by_name["crash-reporting"]["detail"].startswith("crash: signal 6 (SIGABRT)")
    assert by_name["time-limit"]["detail"].startswith("timeout after")
    assert by_name["fault-injection"]["detail"].count("rejected") == 3


def test_a_blind_verifier_fails_fault_injection(adapter_cache: Path) -> None:
    report = run_conformance(BlindVerifier(cache_dir=adapter_cache))
    assert_valid_report(report)
    assert report["verdict"] == "failed"
    failed = {name for name, check in checks(report).items() if not check["passed"]}
    assert failed == {"fault-injection"}
    detail = checks(report)["fault-injection"]["detail"]
    assert "not rejected: wrong exit status, wrong output" in detail
    assert "invalid IR: rejected" in detail  # the IR verifier alone still catches broken IR


def test_a_nondeterministic_driver_fails_determinism(adapter_cache: Path) -> None:
    report = run_conformance(Nondeterministic(cache_dir=adapter_cache))
    assert_valid_report(report)
    assert report["verdict"] == "failed"
    determinism = checks(report)["determinism"]
    assert not determinism["passed"] and "built different objects" in determinism["detail"]


def test_missing_hooks_fail_with_what_is_missing(adapter_cache: Path) -> None:
    report = run_conformance(WithoutHooks(cache_dir=adapter_cache))
    assert_valid_report(report)
    by_name = checks(report)
    for name in ("crash-reporting", "fault-injection"):
        assert not by_name[name]["passed"] and "no variant() hook" in by_name[name]["detail"]
    assert by_name["determinism"]["passed"] and report["verdict"] == "failed"
    assert by_name["time-limit"]["passed"]  # its public tool_limits can still be tightened


def test_the_messages_validate_against_the_contract_schemas() -> None:
    manifest = build_manifest(toolchain="llvm", toolchain_version="22.1.8", passes=["gvn", "gvn", "sroa"])
    assert schema_errors(MANIFEST_SCHEMA, manifest) == []
    assert manifest["passes"] == ["gvn", "sroa"] and manifest["contracts"] == [ADAPTER_CONTRACT]
    bad_signal = {"task": 0, "value": "x", "n": 1, "mechanism": "laplace", "parameters": {}}
    errors = schema_errors(SIGNAL_SCHEMA, bad_signal)  # every violation, not just the first
    assert [error.partition(":")[0] for error in errors] == ["(root)"] * 6 + ["mechanism"] + ["parameters"] * 4 + [
        "task",
        "value",
    ]
    assert sorted(error.split("'")[1] for error in errors[:6]) == [
        "base",
        "phase",
        "plan",
        "problem",
        "round",
        "statistic",
    ]


def test_the_conformance_command_prints_the_report(cache_env: Path, capsys) -> None:
    assert main(["conformance", "--toolchain", "llvm", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert_valid_report(report)
    assert report["verdict"] == "passed"
    assert main(["conformance", "--toolchain", "nope"]) == 2
    assert "unknown toolchain 'nope'" in capsys.readouterr().err


# --- gcc and synthetic: their probes provoke real crashes and wrong builds --------------------------------


class BlindGCC(GCCDriver):
    """A gcc driver that accepts every build: no differential execution."""

    def verify(self, program: Path, out_object: Path) -> Measurement | None:
        return None


class GCCIgnoringWrapper(GCCDriver):
    """A gcc driver whose builds never go through the wrapper: the crash hook provokes nothing."""

    def apply(self, plan: Plan, input: Path, out_object: Path) -> Measurement:
        return self._build(plan, input, out_object, self.asm_hook)


class SyntheticIgnoringHooks(SyntheticDriver):
    """A synthetic driver whose variants lose their object hook: every fault goes unseen."""

    def variant(self, **changes) -> SyntheticDriver:
        changes.pop("object_hook", None)
        return super().variant(**changes)


gcc_missing = pytest.mark.skipif(shutil.which("gcc") is None, reason="no system gcc")


@gcc_missing
def test_the_gcc_driver_passes_every_check(adapter_cache: Path) -> None:
    report = run_conformance(GCCDriver(cache_dir=adapter_cache))
    assert_valid_report(report)
    by_name = checks(report)
    assert {name: check["detail"] for name, check in by_name.items() if not check["passed"]} == {}
    assert report["verdict"] == "passed" and report["toolchain"] == "gcc"
    assert by_name["determinism"]["detail"].endswith(")") and "on comp_rle.c" in by_name["determinism"]["detail"]
    crash = by_name["crash-reporting"]["detail"]
    assert crash == f"{ICE_VERDICT} (gcc: internal compiler error: Aborted signal terminated program sh)"
    faults = by_name["fault-injection"]["detail"]
    assert re.fullmatch(
        r"invalid assembly: rejected \(exit 1: plan\.s:\d+: Error: no such instruction: `opm_not_an_instruction'\); "
        r"wrong exit status: rejected \(miscompiled\); wrong output: rejected \(miscompiled\)",
        faults,
    )


@gcc_missing
def test_a_blind_gcc_verifier_fails_fault_injection(adapter_cache: Path) -> None:
    report = run_conformance(BlindGCC(cache_dir=adapter_cache))
    assert_valid_report(report)
    assert {name for name, check in checks(report).items() if not check["passed"]} == {"fault-injection"}
    detail = checks(report)["fault-injection"]["detail"]
    assert detail.startswith("not rejected: wrong exit status, wrong output;")
    assert "wrong exit status: ACCEPTED (ok)" in detail and "invalid assembly: rejected" in detail


@gcc_missing
def test_a_gcc_driver_that_cannot_crash_fails_crash_reporting(adapter_cache: Path) -> None:
    report = run_conformance(GCCIgnoringWrapper(cache_dir=adapter_cache))
    crash = checks(report)["crash-reporting"]
    assert report["verdict"] == "failed" and not crash["passed"]
    assert crash["detail"] == "a crashing plan gave verdict 'ok'"


@gcc_missing
def test_the_gcc_fault_hooks_change_only_what_they_say(adapter_cache: Path) -> None:
    from adapters.conformance import _asm_main_returns_77, _asm_newline_becomes_tab, _asm_unknown_instruction

    assembly = (
        '\t.string\t"%s %08x\\n"\n\t.text\nhelper:\n\tret\n\t.globl\tmain\n\t.type\tmain, @function\nmain:\n'
        "\txorl\t%eax, %eax\n\tret\n\t.size\tmain, .-main\n"
    )
    assert _asm_main_returns_77(assembly).endswith(
        "main:\n\txorl\t%eax, %eax\n\tmovl\t$77, %eax\n\tret\n\t.size\tmain, .-main\n"
    )
    assert "helper:\n\tret\n" in _asm_main_returns_77(assembly)  # other functions keep their returns
    assert _asm_unknown_instruction(assembly).count("opm_not_an_instruction") == 1
    assert _asm_newline_becomes_tab(assembly).startswith('\t.string\t"%s %08x\\t"\n')
    with pytest.raises(FaultNotInjected):
        _asm_main_returns_77("helper:\n\tret\n")


def test_the_synthetic_driver_passes_every_check(adapter_cache: Path) -> None:
    report = run_conformance(SyntheticDriver(cache_dir=adapter_cache))
    assert_valid_report(report)
    by_name = checks(report)
    assert {name: check["detail"] for name, check in by_name.items() if not check["passed"]} == {}
    assert report["verdict"] == "passed" and report["toolchain"] == "synthetic"
    assert by_name["time-limit"]["detail"].startswith("timeout after 0.0")
    assert by_name["crash-reporting"]["detail"].startswith(f"{CRASH_VERDICT} (synthetic: ")
    faults = by_name["fault-injection"]["detail"]
    assert faults.startswith("invalid object: rejected (invalid object: missing behaviour); forged size: rejected")
    assert faults.count("rejected") == 4 and "ACCEPTED" not in faults


def test_synthetic_drivers_that_hide_failures_fail(adapter_cache: Path) -> None:
    blind = run_conformance(SyntheticIgnoringHooks(cache_dir=adapter_cache))
    assert_valid_report(blind)
    assert {name for name, check in checks(blind).items() if not check["passed"]} == {"fault-injection"}
    assert checks(blind)["fault-injection"]["detail"].startswith(
        "not rejected: invalid object, forged size, wrong exit status, wrong output;"
    )
    crash_free = SyntheticProblem(crash_pairs=0)
    report = run_conformance(SyntheticDriver(problem=crash_free, cache_dir=adapter_cache))
    crash = checks(report)["crash-reporting"]
    assert report["verdict"] == "failed" and not crash["passed"]
    assert crash["detail"] == f"the synthetic problem ({crash_free.label}) has no crash pairs to provoke"


@pytest.mark.parametrize("toolchain", [pytest.param("gcc", marks=gcc_missing), "synthetic"])
def test_the_conformance_command_passes_gcc_and_synthetic(cache_env: Path, capsys, toolchain: str) -> None:
    assert main(["conformance", "--toolchain", toolchain, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert_valid_report(report)
    assert (report["toolchain"], report["verdict"]) == (toolchain, "passed")
