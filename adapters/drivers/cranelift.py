"""The Cranelift driver: C -> WebAssembly with `zig cc`, then wasmtime's Cranelift with a plan's settings.

`prepare` builds a WASI command module (`zig cc -target wasm32-wasi`, statically linked with the
wheel's wasi-libc, since the corpus prints with stdio); a `.wasm` program is taken as it is.
`apply` compiles it in a worker process with the plan's opt level and Cranelift settings and keeps
`Module.serialize()`'s artefact. Size objective: bytes of x86-64 machine code in that artefact
(`machine_code_bytes`), every function the module needs, so the wasi-libc code linked in (printf,
about 40 KB of each corpus program) is compiled, and counted, like the program's own code.

Reference `speed_and_size`: that opt level with every setting at wasmtime's default (in wasmtime
50, speed_and_size builds the same code as speed, and the corpus comes out a little larger than
at none). Verifier: wasmtime validates the module before compiling it (a malformed one fails);
then differential execution, the artefact run under WASI in a sandboxed worker and its stdout and
exit status compared with the reference's. A setting wasmtime silently overrides fails the plan.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from elftools.common.exceptions import ELFError

from adapters import linker, sandbox
from adapters.cache import Cache, content_key
from adapters.drivers.base import MISCOMPILED, CorpusError, Driver, Measurement, register
from adapters.drivers.llvm import FrontEnd
from adapters.plan import Plan, PlanError, reference_plan
from adapters.toolchains import ToolchainUnavailable
from adapters.toolchains import cranelift as toolchain

REFERENCES = ("speed_and_size",)
# C -> wasm: the llvm driver's size flags for the wasm32 WASI target, statically linked.
WASM_FLAGS = ("-target", "wasm32-wasi", "-mcpu=baseline", "-Oz", "-Xclang", "-Oz", "-fno-sanitize=undefined", "-g0")
WASM_MAGIC = b"\0asm\x01\0\0\0"
MEASURE_VERSION = "1"
"""Changes when `machine_code_bytes` or the worker's engine configuration changes."""


@register("cranelift")
class CraneliftDriver(Driver):
    """wasmtime's Cranelift behind the Driver interface. Construction loads nothing.

    `wasm_hook` rewrites a plan's wasm module before it is compiled, for fault-injection tests of
    the verifier only; references are always built from the unmodified module. `extra_settings`
    extend (or replace entries of) the catalogue plans are checked against, for crash tests.
    """

    source_suffixes = (".c", ".wasm")
    references = REFERENCES

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        tool_limits: sandbox.Limits | None = None,
        run_limits: sandbox.Limits | None = None,
        link_limits: sandbox.Limits | None = None,
        differential: bool = True,
        wasm_hook: Callable[[bytes], bytes] | None = None,
        extra_settings: Iterable[toolchain.Setting] = (),
    ) -> None:
        self._options: dict[str, Any] = {
            "cache_dir": cache_dir,
            "tool_limits": tool_limits,
            "run_limits": run_limits,
            "link_limits": link_limits,
            "differential": differential,
            "wasm_hook": wasm_hook,
            "extra_settings": tuple(extra_settings),
        }
        self.cache = Cache(cache_dir)
        self.tool_limits = tool_limits or sandbox.Limits(time_seconds=60.0)
        # The run needs wasmtime's 4 GiB reservation for linear memory in its address space; the
        # guest itself is held to GUEST_MEMORY_BYTES by the store.
        self.run_limits = run_limits or sandbox.Limits(time_seconds=10.0, memory_bytes=8 * 1024**3)
        # The first wasm link on a machine builds zig's wasi-libc into zig's cache.
        self.link_limits = link_limits or sandbox.Limits(time_seconds=300.0)
        self.differential = differential
        self.wasm_hook = wasm_hook
        self.settings = {**toolchain.setting_index(), **{setting.name: setting for setting in extra_settings}}
        self._lock = threading.RLock()
        self._memo: dict[str, Any] = {}

    def variant(self, **changes: Any) -> CraneliftDriver:
        """A new driver with some constructor options changed (limits, hooks, extra settings)."""
        unknown = sorted(set(changes) - set(self._options))
        if unknown:
            raise TypeError(f"variant() cannot change {', '.join(unknown)}")
        return CraneliftDriver(**{**self._options, **changes})

    def conformance_probe(self) -> Any:
        """What the conformance harness provokes: a crash (wasmtime aborts on a setting it does not
        have) and two wrong builds, a truncated module (rejected by wasmtime's validator) and a
        module printing another program name (only differential execution can tell)."""
        from adapters import conformance  # here, not at the top: conformance imports the drivers

        def crash(driver: Driver) -> tuple[Driver, Plan]:
            unknown = toolchain.Setting("opm_crash_test", "bool", False, "not a Cranelift setting: wasmtime aborts")
            crashing = self.variant(extra_settings=(unknown,))
            return crashing, Plan.from_json({"toolchain": "cranelift", "passes": [{"name": unknown.name}]})

        def rename(wasm: bytes) -> bytes:
            name = conformance.PROBE_PROGRAM.stem.encode()
            if name not in wasm:
                raise conformance.FaultNotInjected(f"no {name.decode()!r} in the module's data")
            return wasm.replace(name, name[:-1] + bytes([name[-1] ^ 1]), 1)

        def faults(driver: Driver) -> list[Any]:
            return [
                conformance.Fault("truncated-module", self.variant(wasm_hook=lambda wasm: wasm[:-1]), "exit 1"),
                conformance.Fault("renamed-output", self.variant(wasm_hook=rename), MISCOMPILED),
            ]

        return conformance.Probe(conformance.PROBE_PROGRAM, reference_plan("cranelift"), crash, faults)

    # --- identity and catalogue -------------------------------------------------------------------

    def _once(self, key: str, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]

    def _zig(self) -> tuple[str, ...]:
        return self._once("zig", lambda: FrontEnd.zig().command[:-1])

    def _zig_identity(self) -> str:
        def compute() -> str:
            done = sandbox.run([*self._zig(), "version"], limits=self.tool_limits)
            if not done.ok:
                raise ToolchainUnavailable(f"'zig version' failed: {done.failure}")
            return done.stdout.decode(errors="replace").strip()

        return self._once("zig-identity", compute)

    def measurements_cacheable(self) -> bool:
        return self.wasm_hook is None and self.differential

    def identity(self) -> str:
        return self._once(
            "identity",
            lambda: content_key(
                toolchain.wasmtime_version(), self._zig_identity(), *WASM_FLAGS, toolchain.TARGET, MEASURE_VERSION
            ),
        )

    def catalogue(self) -> dict[str, Any]:
        return toolchain.catalogue()

    def check_plan(self, plan: Plan) -> None:
        self._engine_config(plan)

    def _engine_config(self, plan: Plan) -> str:
        """The worker's engine configuration for `plan`; PlanError for anything it may not set.
        Settings are independent of their order, so a setting named twice is an error."""
        if plan.toolchain != "cranelift":
            raise PlanError(f"toolchain: the cranelift driver cannot run a {plan.toolchain!r} plan")
        index = self.settings
        settings: dict[str, str] = {}
        for position, step in enumerate(plan.passes):
            field = f"passes[{position}]"
            setting = index.get(step.name)
            if setting is None:
                raise PlanError(
                    f"{field}.name: unknown cranelift setting {step.name!r} "
                    "(see opm-adapter passes --toolchain cranelift)"
                )
            if step.name in settings:
                raise PlanError(f"{field}.name: {step.name} is already set by an earlier pass")
            unknown = sorted(set(step.params) - {"value"})
            if unknown:
                raise PlanError(f"{field}.params.{unknown[0]}: not a parameter of a setting (known: value)")
            if "value" not in step.params and setting.kind != "bool":
                raise PlanError(f"{field}.params.value: missing (required by this setting)")
            value = step.params.get("value", True)
            setting.check(value, f"{field}.params.value")
            settings[step.name] = setting.render(value)
        opt_level = str(plan.knobs.get("cranelift", {}).get("opt_level", toolchain.REFERENCE_OPT_LEVEL))
        return toolchain.encode_config(opt_level, settings)

    # --- inputs ------------------------------------------------------------------------------------

    def prepare(self, source: Path) -> Path:
        """The wasm module for `source` (`.c` compiled and linked for WASI, `.wasm` checked for the
        wasm magic), cached by content. Raises CorpusError naming the file."""
        source = Path(source)
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise CorpusError(f"{source}: cannot read: {exc.strerror or exc}") from None
        if source.suffix == ".wasm":
            if not data.startswith(WASM_MAGIC):
                raise CorpusError(f"{source}: not a WebAssembly module (version 1)")
            key = content_key("wasm", data)
            cached = self.cache.path("wasm", key, ".wasm")
            return cached if cached.is_file() else self.cache.write_bytes("wasm", key, data, ".wasm")
        if source.suffix != ".c":
            raise CorpusError(f"{source}: not a C (.c) or WebAssembly (.wasm) file")
        headers = [(path.name.encode(), path.read_bytes()) for path in sorted(source.parent.glob("*.h"))]
        key = content_key(
            "c->wasm", self._zig_identity(), *WASM_FLAGS, data, *(part for pair in headers for part in pair)
        )
        cached = self.cache.path("wasm", key, ".wasm")
        if cached.is_file():
            return cached
        with tempfile.TemporaryDirectory(prefix="opm-") as work:
            output = Path(work) / "program.wasm"
            command = [*self._zig(), "cc", *WASM_FLAGS, str(source.resolve()), "-o", str(output)]
            zig_cache = linker.zig_global_cache()  # the link builds wasi-libc there once
            done = sandbox.run(
                command,
                limits=self.link_limits,
                env={**os.environ, "ZIG_GLOBAL_CACHE_DIR": str(zig_cache)},
                reads=[source.resolve().parent],
                writes=[Path(work), zig_cache],
            )
            if not done.ok:
                message = _first_error(done).replace(f"{source.resolve()}:", "")
                raise CorpusError(f"{source}: does not compile to wasm: {message}")
            return self.cache.write_bytes("wasm", key, output.read_bytes(), ".wasm")

    # --- compiling --------------------------------------------------------------------------------------

    def apply(self, plan: Plan, input: Path, out_object: Path) -> Measurement:
        """Compile the module with the plan's settings; `out_object` gets the serialized artefact."""
        return self._build(self._engine_config(plan), Path(input), Path(out_object), self.wasm_hook)

    def _build(
        self, config: str, wasm: Path, artefact: Path, hook: Callable[[bytes], bytes] | None = None
    ) -> Measurement:
        name = wasm.name
        with tempfile.TemporaryDirectory(prefix="opm-") as work:
            if hook is not None:
                patched = Path(work) / "patched.wasm"
                patched.write_bytes(hook(wasm.read_bytes()))
                wasm = patched
            done = sandbox.run(
                toolchain.worker_command("compile", config, str(wasm), str(artefact)),
                limits=self.tool_limits,
                env=toolchain.worker_env(),
                writes=[Path(artefact).resolve().parent],
            )
        if not done.ok:
            return Measurement(name, None, None, _worker_failure(done), f"cranelift: {_first_error(done)}")
        try:
            size = toolchain.machine_code_bytes(artefact)
            mismatch = _settings_mismatch(json.loads(config), toolchain.engine_metadata(artefact))
        except (OSError, ELFError, ValueError) as exc:
            return Measurement.failed(name, f"bad artefact: {exc}")
        if mismatch:
            return Measurement.failed(name, "setting ignored", f"wasmtime compiled with {mismatch}")
        return Measurement(name, size, None, "ok")

    def measure(self, plan: Plan, program: Path) -> Measurement:
        program = Path(program)
        name = self.program_name(program)
        wasm = self.prepare(program)
        with tempfile.TemporaryDirectory(prefix="opm-") as work:
            artefact = Path(work) / "plan.cwasm"
            result = dataclasses.replace(self.apply(plan, wasm, artefact), program=name)
            if not result.ok:
                return result
            failure = self.verify(program, artefact)
        if failure is not None:
            return dataclasses.replace(failure, program=name, text_bytes=result.text_bytes)
        return result

    # --- verification ---------------------------------------------------------------------------------

    def verify(self, program: Path, out_object: Path) -> Measurement | None:
        """Differential execution: run the artefact under WASI and compare its stdout and exit
        status with the reference build's. The artefact only loads into an engine configured like
        the one that compiled it, so the configuration is read back from the artefact itself."""
        program, artefact = Path(program), Path(out_object)
        name = self.program_name(program)
        if not self.differential:
            return None
        expected = self._reference_run(program)
        try:
            config = _config_of(toolchain.engine_metadata(artefact))
        except (OSError, ELFError, ValueError) as exc:
            return Measurement.failed(name, f"bad artefact: {exc}")
        got = self._run(artefact, config, name)
        if isinstance(got, Measurement):
            return got
        if got == expected:
            return None
        if "trap" in got:
            detail = f"program trapped: {got['trap']} (reference: exit {expected['exit']})"
        else:
            detail = (
                f"program printed {got['stdout_head']!r} exit {got['exit']}, "
                f"reference {expected['stdout_head']!r} exit {expected['exit']}"
            )
        return Measurement.failed(name, MISCOMPILED, detail)

    def _run(self, artefact: Path, config: str, name: str) -> dict[str, Any] | Measurement:
        """Run one artefact in a sandboxed worker: its observed behaviour, or a failed Measurement
        when the worker itself dies (a hang or crash of the guest's code is the plan's fault)."""
        with tempfile.TemporaryDirectory(prefix="opm-") as work:
            stdout = Path(work) / "stdout"
            done = sandbox.run(
                toolchain.worker_command("run", config, str(artefact), str(stdout), Path(name).stem),
                limits=self.run_limits,
                cwd=work,
                env=toolchain.worker_env(),
                writes=[Path(work)],
            )
            if not done.ok:
                return Measurement.failed(name, _worker_failure(done), f"run: {_first_error(done)}")
            try:
                outcome = json.loads(done.stdout.decode().strip().splitlines()[-1])
                printed = stdout.read_bytes() if stdout.exists() else b""
            except (ValueError, IndexError, OSError) as exc:
                return Measurement.failed(name, "bad run report", f"run: {exc}")
        if "trap" in outcome:
            return {"trap": outcome["trap"]}
        return {
            "exit": outcome["exit"],
            "stdout_sha256": content_key(printed),
            "stdout_head": sandbox.first_line(printed, 120) if printed.strip() else "",
        }

    def _reference_run(self, program: Path) -> dict[str, Any]:
        """The reference build's behaviour, cached per program and tool versions."""
        wasm = self.prepare(program)
        key = content_key("run", self.identity(), wasm.name)
        cached = self.cache.read_json("run", key)
        if cached is not None:
            return cached
        config = self._engine_config(reference_plan("cranelift"))
        with tempfile.TemporaryDirectory(prefix="opm-") as work:
            artefact = Path(work) / "reference.cwasm"
            built = self._build(config, wasm, artefact)
            if not built.ok:
                raise CorpusError(f"{program}: the reference build fails: {built.verdict} ({built.detail})")
            behaviour = self._run(artefact, config, self.program_name(program))
        if isinstance(behaviour, Measurement):
            raise CorpusError(f"{program}: the reference build does not run: {behaviour.verdict} ({behaviour.detail})")
        if "trap" in behaviour:
            raise CorpusError(f"{program}: the reference build traps: {behaviour['trap']}")
        self.cache.write_json("run", key, behaviour)
        return behaviour

    # --- references -----------------------------------------------------------------------------------

    def reference(self, program: Path, kind: str | None = None) -> Measurement:
        """Reference `speed_and_size`: that opt level, default settings. Cached; a failing
        reference is a CorpusError."""
        kind = kind or REFERENCES[0]
        if kind not in REFERENCES:
            raise ValueError(f"unknown reference {kind!r} (known: {', '.join(REFERENCES)})")
        program = Path(program)
        name = self.program_name(program)
        wasm = self.prepare(program)
        key = content_key("reference", kind, self.identity(), wasm.name)
        cached = self.cache.read_json("reference", key)
        if cached is not None:
            return dataclasses.replace(Measurement.from_json(cached), program=name)
        with tempfile.TemporaryDirectory(prefix="opm-") as work:
            result = self._build(self._engine_config(reference_plan("cranelift")), wasm, Path(work) / "ref.cwasm")
        if not result.ok:
            raise CorpusError(f"{program}: the {kind} reference fails: {result.verdict} ({result.detail})")
        result = dataclasses.replace(result, program=name)
        self.cache.write_json("reference", key, result.as_json())
        return result


# --- helpers -------------------------------------------------------------------------------------------


def _config_of(metadata: toolchain.EngineMetadata) -> str:
    """The worker configuration that compiled an artefact: its opt level and every catalogue
    setting whose recorded value differs from the default."""
    settings = {
        setting.name: setting.render(metadata.shared[setting.name])
        for setting in toolchain.SETTINGS
        if metadata.shared.get(setting.name, setting.default) != setting.default
    }
    return toolchain.encode_config(str(metadata.shared["opt_level"]), settings)


def _settings_mismatch(config: Mapping[str, Any], metadata: toolchain.EngineMetadata) -> str:
    """The first requested setting (or the target) that the artefact was not compiled with, as
    `name=value`, or "": wasmtime silently overrides some settings, and a plan must not be
    credited with code it did not cause."""
    if metadata.target != toolchain.TARGET:
        return f"target {metadata.target}"
    wanted = {"opt_level": config["opt_level"], **config["settings"]}
    for name, text in wanted.items():
        actual = metadata.shared.get(name)
        rendered = ("true" if actual else "false") if isinstance(actual, bool) else str(actual)
        if rendered != text:
            return f"{name}={rendered} (asked for {text})"
    return ""


def _worker_failure(done: sandbox.RunResult) -> str:
    """The verdict for a failed worker: `exit 1: <its error line>` rather than Python's noise."""
    if done.failure and done.failure.startswith("exit "):
        return f"exit {done.returncode}: {_first_error(done)}"
    return done.failure or "failed"


def _first_error(done: sandbox.RunResult) -> str:
    """wasmtime's or the compiler's one-line message (a Rust panic's message follows its header)."""
    lines = [line.strip() for line in done.stderr_text().splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.startswith("thread ") and "panicked at" in line and index + 1 < len(lines):
            return sandbox.first_line(lines[index + 1])
    for line in lines:
        if "error" in line.lower():
            return sandbox.first_line(line.removeprefix("error: "))
    return sandbox.first_line("\n".join(lines))
