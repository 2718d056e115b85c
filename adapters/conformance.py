"""The conformance harness: does a driver, with our message producers, honour the adapter contract?

The board approves an adapter release only with a passing report (`registry.services.conformance_record`
stores it). Each check provokes one behaviour the market relies on: schema-valid messages, byte-identical
builds, time limits that end a hung tool, crashes reported as failures, and a verifier that rejects a
deliberately wrong transformation. A check that cannot run (the driver lacks a hook) fails and says what
is missing: the harness never passes what it did not see.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters import privacy, sandbox
from adapters.contract import ADAPTER_CONTRACT, MANIFEST_SCHEMA, SIGNAL_SCHEMA, build_manifest, schema_errors
from adapters.corpus import CORPUS_DIR
from adapters.corpus import programs as corpus_programs
from adapters.drivers.base import MISCOMPILED, Driver
from adapters.drivers.synthetic import INVALID_OBJECT, SyntheticDriver, optimum
from adapters.plan import PassStep, Plan, PlanError, reference_plan

HARNESS_VERSION = "1.0.0"
PROBE_PROGRAM = CORPUS_DIR / "alpha" / "comp_rle.c"  # prints `comp_rle <checksum>`, exits 0
IMPATIENT = sandbox.Limits(time_seconds=0.001)
TIMEOUT_GRACE_SECONDS = 10.0  # a run under IMPATIENT limits must have ended well within this
SIGNAL_CLIP, SIGNAL_NOISE_MULTIPLIER = 0.1, 1.0

REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["contract", "toolchain", "harness_version", "verdict", "checks", "started_at", "finished_at"],
    "properties": {
        "contract": {"type": "string", "pattern": r"^[a-z0-9-]+@\d+\.\d+\.\d+$"},
        "toolchain": {"type": "string", "minLength": 1},
        "harness_version": {"type": "string", "minLength": 1, "maxLength": 64},
        "verdict": {"enum": ["passed", "failed"]},
        "sandbox": {"type": "string", "maxLength": 500},
        "checks": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "passed", "detail"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "passed": {"type": "boolean"},
                    "detail": {"type": "string"},
                },
            },
        },
        "started_at": {"type": "string", "format": "date-time"},
        "finished_at": {"type": "string", "format": "date-time"},
    },
}


class CheckFailed(Exception):
    """A check's finding (or a missing hook), with the one-line detail the report shows."""


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --- probes: how to exercise one toolchain ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Fault:
    """A deliberately wrong build: `driver` corrupts its output; the verdict must fail (and start with
    `expect`, when given)."""

    name: str
    driver: Driver
    expect: str | None = None


@dataclasses.dataclass(frozen=True)
class Probe:
    """A program with a `main` that prints a checksum, a plan that must succeed on it, and the
    toolchain-specific ways to make the driver crash (`crash`) or build wrong code (`faults`)."""

    program: Path
    plan: Plan
    crash: Callable[[Driver], tuple[Driver, Plan]] | None = None
    faults: Callable[[Driver], list[Fault]] | None = None


class FaultNotInjected(RuntimeError):
    """The fault hook found nothing to corrupt in the probe program's code."""


def _drop_first_return(text: str) -> str:
    """A block loses its terminator: structurally broken IR the IR verifier must reject."""
    if "\n  ret " not in text:
        raise FaultNotInjected("no `ret` instruction to remove")
    return text.replace("\n  ret ", "\n  ; ", 1)


_MAIN_BODY = re.compile(r"^define [^\n]*@main\([^\n]*\{\n.*?^\}", re.MULTILINE | re.DOTALL)


def _main_returns_77(text: str) -> str:
    """Valid IR whose `main` exits 77: only running the program shows the transformation is wrong."""
    match = _MAIN_BODY.search(text)
    if match is None:
        raise FaultNotInjected("no `main` to corrupt")
    body, count = re.subn(r"\bret i32 [^\n]+", "ret i32 77", match.group(0))
    if not count:
        raise FaultNotInjected("`main` has no `ret i32`")
    return text[: match.start()] + body + text[match.end() :]


_FORMAT_NEWLINE = re.compile(r'^(@[^\n=]+= [^\n]*constant \[\d+ x i8\] c"[^"\n]*%[^"\n]*)\\0A\\00"', re.MULTILINE)


def _newline_becomes_tab(text: str) -> str:
    """Valid IR printing a tab where the checksum line ends in a newline: only the output differs."""
    corrupted, count = _FORMAT_NEWLINE.subn(r'\1\\09\\00"', text, count=1)
    if not count:
        raise FaultNotInjected("no printf format string ending in a newline")
    return corrupted


def _llvm_crash(driver: Driver) -> tuple[Driver, Plan]:
    from adapters.toolchains.llvm import PassInfo

    _require_variant(driver, "crash reporting")
    crash = PassInfo("trigger-crash-module", "module", None, "LLVM's deliberate crash, for conformance tests")
    crashing = driver.variant(extra_passes=(*getattr(driver, "extra_passes", ()), crash))  # type: ignore[attr-defined]
    return crashing, Plan("llvm", (PassStep("trigger-crash-module"),))


def _llvm_faults(driver: Driver) -> list[Fault]:
    _require_variant(driver, "fault injection")
    variant = driver.variant  # type: ignore[attr-defined]
    return [
        Fault("invalid IR", variant(ir_hook=_drop_first_return), "invalid IR"),
        Fault("wrong exit status", variant(ir_hook=_main_returns_77)),
        Fault("wrong output", variant(ir_hook=_newline_becomes_tab)),
    ]


def _llvm_probe(driver: Driver) -> Probe:
    plan = Plan.from_json(
        {
            "toolchain": "llvm",
            "passes": [{"name": "default", "params": {"level": "Oz"}}, {"name": "gvn-sink"}],
            "knobs": {"opt": {"inline-threshold": 25}, "llc": {"enable-machine-outliner": True}},
        }
    )
    return Probe(PROBE_PROGRAM, plan, _llvm_crash, _llvm_faults)


# gcc: the same three wrong builds, made in the assembly between cc1 and the assembler (`asm_hook`).

_ASM_MAIN_BODY = re.compile(r"^main:\n.*?^\t\.size\tmain, \.-main$", re.MULTILINE | re.DOTALL)
_ASM_FORMAT_NEWLINE = re.compile(r'^(\t\.string\t"[^"\n]*%[^"\n]*)\\n"$', re.MULTILINE)
# A real signal in the process gcc starts in place of cc1: gcc reports it as an internal compiler error.
GCC_CRASH_WRAPPER = ("sh", "-c", "kill -ABRT $$")


def _asm_main(text: str) -> re.Match[str]:
    match = _ASM_MAIN_BODY.search(text)
    if match is None or "\tret\n" not in match.group(0):
        raise FaultNotInjected("no `main` ending in `ret` in the assembly")
    return match


def _asm_unknown_instruction(text: str) -> str:
    """`main` returns through an instruction x86 does not have: the assembler must reject it."""
    match = _asm_main(text)
    body = match.group(0).replace("\tret\n", "\topm_not_an_instruction\n", 1)
    return text[: match.start()] + body + text[match.end() :]


def _asm_main_returns_77(text: str) -> str:
    """Valid assembly whose `main` exits 77: only running the program shows the build is wrong."""
    match = _asm_main(text)
    body = match.group(0).replace("\tret\n", "\tmovl\t$77, %eax\n\tret\n")
    return text[: match.start()] + body + text[match.end() :]


def _asm_newline_becomes_tab(text: str) -> str:
    """Valid assembly printing a tab where the checksum line ends in a newline: only the output differs."""
    corrupted, count = _ASM_FORMAT_NEWLINE.subn(r'\1\\t"', text, count=1)
    if not count:
        raise FaultNotInjected("no printf format string ending in a newline")
    return corrupted


def _gcc_crash(driver: Driver) -> tuple[Driver, Plan]:
    _require_variant(driver, "crash reporting")
    crashing = driver.variant(wrapper=GCC_CRASH_WRAPPER)  # type: ignore[attr-defined]
    return crashing, _gcc_probe_plan()


def _gcc_faults(driver: Driver) -> list[Fault]:
    _require_variant(driver, "fault injection")
    variant = driver.variant  # type: ignore[attr-defined]
    return [
        Fault("invalid assembly", variant(asm_hook=_asm_unknown_instruction), "exit 1: plan.s:"),
        Fault("wrong exit status", variant(asm_hook=_asm_main_returns_77), MISCOMPILED),
        Fault("wrong output", variant(asm_hook=_asm_newline_becomes_tab), MISCOMPILED),
    ]


def _gcc_probe_plan() -> Plan:
    return Plan.from_json(
        {
            "toolchain": "gcc",
            "passes": [{"name": "gcse", "params": {"enabled": False}}, {"name": "ipa-pta"}],
            "knobs": {"param": {"max-inline-insns-auto": 10}},
        }
    )


def _gcc_probe(driver: Driver) -> Probe:
    return Probe(PROBE_PROGRAM, _gcc_probe_plan(), _gcc_crash, _gcc_faults)


# synthetic: no tool runs, so the model's own failures are provoked. A crash pair crashes; the faults are
# objects the model's verifier must reject (a broken object, a forged size) or its differential check
# (wrong exit status, wrong output).


def _synthetic_crash(driver: Driver) -> tuple[Driver, Plan]:
    problem = _synthetic(driver).problem
    crashes = sorted(problem.model.crashes)
    if not crashes:
        raise CheckFailed(f"the synthetic problem ({problem.label}) has no crash pairs to provoke")
    first, second = crashes[0]
    return driver, Plan("synthetic", (PassStep(first), PassStep(second)))


def _synthetic_faults(driver: Driver) -> list[Fault]:
    variant = _synthetic(driver).variant

    def without_behaviour(document: dict[str, Any]) -> dict[str, Any]:
        del document["behaviour"]
        return document

    def forged_size(document: dict[str, Any]) -> dict[str, Any]:
        return {**document, "text_bytes": document["text_bytes"] // 2}

    def exits_77(document: dict[str, Any]) -> dict[str, Any]:
        return {**document, "behaviour": {**document["behaviour"], "returncode": 77}}

    def space_becomes_tab(document: dict[str, Any]) -> dict[str, Any]:
        behaviour = document["behaviour"]
        return {**document, "behaviour": {**behaviour, "stdout": behaviour["stdout"].replace(" ", "\t", 1)}}

    return [
        Fault("invalid object", variant(object_hook=without_behaviour), INVALID_OBJECT),
        Fault("forged size", variant(object_hook=forged_size), INVALID_OBJECT),
        Fault("wrong exit status", variant(object_hook=exits_77), MISCOMPILED),
        Fault("wrong output", variant(object_hook=space_becomes_tab), MISCOMPILED),
    ]


def _synthetic_probe(driver: Driver) -> Probe:
    """Variant 0 of the driver's problem (written to its cache) under the problem's optimum."""
    synthetic = _synthetic(driver)
    return Probe(synthetic.program_file(0), optimum(synthetic.problem), _synthetic_crash, _synthetic_faults)


def _synthetic(driver: Driver) -> SyntheticDriver:
    if not isinstance(driver, SyntheticDriver):
        raise CheckFailed(f"the synthetic probe needs a SyntheticDriver, not {type(driver).__name__}")
    return driver


def _generic_probe(driver: Driver) -> Probe:
    """A bundled corpus program the driver accepts and its reference plan; no crash or fault hooks."""
    program = next((p.path for p in corpus_programs() if p.path.suffix in driver.source_suffixes), None)
    if program is None:
        raise CheckFailed(f"no probe for toolchain {driver.name!r}: register one in adapters.conformance.PROBES")
    try:
        plan = reference_plan(driver.name)
    except PlanError as exc:
        raise CheckFailed(f"no plan to probe toolchain {driver.name!r} with: {exc}") from None
    return Probe(program, plan)


# Toolchain -> probe builder; drivers of other toolchains register theirs (or define `conformance_probe()`).
PROBES: dict[str, Callable[[Driver], Probe]] = {
    "llvm": _llvm_probe,
    "gcc": _gcc_probe,
    "synthetic": _synthetic_probe,
}


def probe_for(driver: Driver) -> Probe:
    own = getattr(driver, "conformance_probe", None)
    if callable(own):
        return own()
    return PROBES.get(driver.name, _generic_probe)(driver)


def _require_variant(driver: Driver, purpose: str) -> None:
    if not callable(getattr(driver, "variant", None)):
        raise CheckFailed(f"the {driver.name} driver has no variant() hook, needed for {purpose}")


# --- the checks -------------------------------------------------------------------------------------


def check_manifest(driver: Driver) -> str:
    """The release manifest built for this driver validates against the contract's schema."""
    catalogue = driver.catalogue()
    manifest = build_manifest(
        toolchain=driver.name,
        toolchain_version=str(catalogue.get("version", "")),
        passes=[entry["name"] for entry in catalogue.get("passes", [])],
    )
    errors = schema_errors(MANIFEST_SCHEMA, manifest)
    if errors:
        raise CheckFailed("; ".join(errors))
    return f"valid ({len(manifest['passes'])} passes, toolchain version {manifest['toolchain_version']})"


def check_signal(driver: Driver) -> str:
    """A signal released from a real measurement of the probe validates against the contract's schema."""
    probe = probe_for(driver)
    base = driver.reference(probe.program)
    measured = driver.measure(probe.plan, probe.program)
    if not measured.ok:
        raise CheckFailed(f"the probe plan failed on {probe.program.name}: {measured.verdict} ({measured.detail})")
    assert base.text_bytes is not None
    gain = privacy.clipped_gain(base.text_bytes, measured.text_bytes, SIGNAL_CLIP)
    released = privacy.release([gain], clip=SIGNAL_CLIP, noise_multiplier=SIGNAL_NOISE_MULTIPLIER)
    body = released.to_signal_body(
        task=1, round=None, problem="conformance-probe", phase="", plan=probe.plan.content_hash(), base=None
    )
    errors = schema_errors(SIGNAL_SCHEMA, body)
    if errors:
        raise CheckFailed("; ".join(errors))
    return f"valid (one program, mechanism {body['mechanism']})"


def check_determinism(driver: Driver) -> str:
    """The same plan on the same input gives byte-identical object files twice."""
    probe = probe_for(driver)
    prepared = driver.prepare(probe.program)
    with tempfile.TemporaryDirectory(prefix="opm-conformance-") as work:
        outputs = [Path(work) / "first.o", Path(work) / "second.o"]
        results = [driver.apply(probe.plan, prepared, out) for out in outputs]
        for result in results:
            if not result.ok:
                raise CheckFailed(f"the probe plan failed: {result.verdict} ({result.detail})")
        digests = [hashlib.sha256(out.read_bytes()).hexdigest() for out in outputs]
        sizes = [out.stat().st_size for out in outputs]
    plan_id = probe.plan.content_hash()[:12]
    if digests[0] != digests[1]:
        raise CheckFailed(
            f"plan {plan_id} on {probe.program.name} built different objects: "
            f"{sizes[0]} bytes sha256 {digests[0][:16]} vs {sizes[1]} bytes sha256 {digests[1][:16]}"
        )
    if results[0] != results[1]:
        raise CheckFailed(f"plan {plan_id} measured differently twice: {results[0]} vs {results[1]}")
    return f"plan {plan_id} on {probe.program.name}: identical objects ({sizes[0]} bytes, sha256 {digests[0][:16]})"


def check_time_limit(driver: Driver) -> str:
    """Under a 1 ms limit a run ends quickly with the verdict `timeout` (it neither hangs nor passes)."""
    probe = probe_for(driver)
    prepared = driver.prepare(probe.program)
    impatient = _impatient(driver)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="opm-conformance-") as work:
        result = impatient.apply(probe.plan, prepared, Path(work) / "out.o")
    elapsed = time.monotonic() - started
    if result.verdict != "timeout":
        raise CheckFailed(f"a {IMPATIENT.time_seconds * 1000:g} ms limit gave verdict {result.verdict!r}, not timeout")
    if elapsed > TIMEOUT_GRACE_SECONDS:
        raise CheckFailed(f"the timed-out run took {elapsed:.1f}s to end")
    return f"timeout after {elapsed:.2f}s under a {IMPATIENT.time_seconds * 1000:g} ms limit"


def _impatient(driver: Driver) -> Driver:
    """The driver under IMPATIENT tool limits: through its `variant()` hook, else a shallow copy with
    its public `tool_limits` replaced (the check still has to observe a timeout to pass)."""
    if callable(getattr(driver, "variant", None)):
        return driver.variant(tool_limits=IMPATIENT)  # type: ignore[attr-defined]
    if not isinstance(getattr(driver, "tool_limits", None), sandbox.Limits):
        raise CheckFailed(f"the {driver.name} driver has neither a variant() hook nor tool_limits to tighten")
    clone = copy.copy(driver)
    clone.tool_limits = IMPATIENT  # type: ignore[attr-defined]
    return clone


def check_crash(driver: Driver) -> str:
    """A plan that crashes the toolchain comes back as a `crash: ...` verdict, not an exception."""
    probe = probe_for(driver)
    if probe.crash is None:
        raise CheckFailed(f"no way to crash toolchain {driver.name!r} is known to the harness (Probe.crash)")
    crashing, plan = probe.crash(driver)
    result = crashing.measure(plan, probe.program)
    if not result.verdict.startswith("crash:"):
        raise CheckFailed(f"a crashing plan gave verdict {result.verdict!r}")
    return f"{result.verdict} ({result.detail})" if result.detail else result.verdict


def check_fault_injection(driver: Driver) -> str:
    """Every deliberately wrong build of the probe is rejected by the IR verifier or differential execution."""
    probe = probe_for(driver)
    if probe.faults is None:
        raise CheckFailed(f"no fault-injection hook for toolchain {driver.name!r} (Probe.faults)")
    findings, accepted = [], []
    for fault in probe.faults(driver):
        try:
            result = fault.driver.measure(probe.plan, probe.program)
        except FaultNotInjected as exc:
            accepted.append(fault.name)
            findings.append(f"{fault.name}: not injected ({exc})")
            continue
        rejected = not result.ok and (fault.expect is None or result.verdict.startswith(fault.expect))
        if not rejected:
            accepted.append(fault.name)
        findings.append(f"{fault.name}: {'rejected' if rejected else 'ACCEPTED'} ({result.verdict})")
    if accepted:
        raise CheckFailed(f"not rejected: {', '.join(accepted)}; " + "; ".join(findings))
    return "; ".join(findings)


# Contract -> its checks, in report order.
SUITES: dict[str, tuple[tuple[str, Callable[[Driver], str]], ...]] = {
    ADAPTER_CONTRACT: (
        ("manifest-schema", check_manifest),
        ("signal-schema", check_signal),
        ("determinism", check_determinism),
        ("time-limit", check_time_limit),
        ("crash-reporting", check_crash),
        ("fault-injection", check_fault_injection),
    ),
}


def run_check(name: str, check: Callable[[Driver], str], driver: Driver) -> Check:
    """One check; any exception is that check's failure, with its message as the detail."""
    try:
        return Check(name, True, check(driver))
    except CheckFailed as exc:
        return Check(name, False, str(exc))
    except Exception as exc:  # noqa: BLE001 - a driver bug must fail its check, not the whole report
        return Check(name, False, f"error: {type(exc).__name__}: {sandbox.first_line(str(exc) or repr(exc))}")


def run_conformance(driver: Driver, contract: str = ADAPTER_CONTRACT) -> dict[str, Any]:
    """The report for `driver` against `contract`: verdict `passed` only if every check passed."""
    if contract not in SUITES:
        raise ValueError(f"no conformance suite for {contract!r} (known: {', '.join(sorted(SUITES))})")
    started_at = _now()
    checks = [run_check(name, check, driver) for name, check in SUITES[contract]]
    return {
        "contract": contract,
        "toolchain": driver.name,
        "harness_version": HARNESS_VERSION,
        "verdict": "passed" if all(check.passed for check in checks) else "failed",
        "sandbox": sandbox.describe(),
        "checks": [check.as_json() for check in checks],
        "started_at": started_at,
        "finished_at": _now(),
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


__all__ = [
    "HARNESS_VERSION",
    "PROBES",
    "REPORT_SCHEMA",
    "SUITES",
    "Check",
    "Fault",
    "Probe",
    "probe_for",
    "run_conformance",
]
