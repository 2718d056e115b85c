"""The gcc driver: the system gcc at -Os (or -Oz) with a plan's `-f` / `-fno-` flags and `--param`s.

A plan's `passes` are the flags to set, in order (`{"name": "gcse", "params": {"enabled": false}}`
writes `-fno-gcse`; choice options take `{"value": ...}`); `knobs.gcc.Oz` makes -Oz the base
level, `knobs.param` sets `--param=NAME=N`. Each flag may be set once per plan.

Size objective, as for llvm: bytes of the allocated executable sections of the `gcc -c` object.
gcc exposes no cheap IR count, so `ir_instructions` is None. A program is preprocessed once
(`gcc -E`, cached); plans and references compile that text with the same fixed flags, so the
empty plan measures exactly the `Os` reference. Differential execution links objects that
define `main` with gcc and compares exit status and stdout with the -Os build. Every gcc and
program run goes through the sandbox, so an internal compiler error, a crash or a hang becomes a
failed Measurement.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from elftools.common.exceptions import ELFError

from adapters import differential, sandbox
from adapters.cache import Cache, content_key
from adapters.drivers.base import MISCOMPILED, CorpusError, Driver, Measurement, register
from adapters.elf import defines_symbol, executable_bytes
from adapters.plan import Plan, PlanError, reference_plan
from adapters.toolchains import ToolchainUnavailable
from adapters.toolchains import gcc as gcc_toolchain

REFERENCES = ("Os", "Oz")
"""`Os`: gcc -Os, the default and the base of every plan. `Oz`: gcc -Oz (gcc 12 and later)."""

# Debug information off; plain diagnostics (no colour, no caret lines) give one-line reasons.
# Everything else is the installed gcc's default, for plans and references alike.
FIXED_FLAGS = ("-g0", "-fdiagnostics-plain-output")
LINK_FLAGS = ("-lm",)
TOOL_ENV = {"LC_ALL": "C"}
ICE_VERDICT = "crash: internal compiler error"
_ICE_MARKER = b"internal compiler error"


@register("gcc")
class GCCDriver(Driver):
    """The system gcc behind the Driver interface. Construction runs no tool.

    `gcc` overrides the compiler (default: `$OPM_GCC` or `gcc`); `asm_hook` rewrites a plan's
    assembly before it is assembled, for fault-injection tests of the verifier only; `wrapper` runs
    the subprograms of a plan's build (cc1, as) under that command (gcc's `-wrapper`), for crash
    tests only. References and prepared inputs are built without either.
    """

    source_suffixes = (".c",)
    references = REFERENCES

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        gcc: str | None = None,
        tool_limits: sandbox.Limits | None = None,
        run_limits: sandbox.Limits | None = None,
        link_limits: sandbox.Limits | None = None,
        differential: bool = True,
        asm_hook: Callable[[str], str] | None = None,
        wrapper: Sequence[str] = (),
    ) -> None:
        self.cache = Cache(cache_dir)
        self._gcc = gcc
        self.tool_limits = tool_limits or sandbox.Limits()
        self.run_limits = run_limits or sandbox.Limits(time_seconds=10.0, memory_bytes=1024**3)
        self.link_limits = link_limits or sandbox.Limits(time_seconds=60.0)
        self.differential = differential
        self.asm_hook = asm_hook
        self.wrapper = _wrapper(wrapper)
        self._lock = threading.RLock()
        self._memo: dict[str, Any] = {}

    _VARIANT_OPTIONS = frozenset({"tool_limits", "run_limits", "link_limits", "differential", "asm_hook", "wrapper"})

    def measurements_cacheable(self) -> bool:
        return self.asm_hook is None and self.wrapper is None and self.differential

    def variant(self, **changes: Any) -> GCCDriver:
        """A copy (same class) with some constructor options changed, sharing the tool lookups done so
        far; the conformance harness builds its impatient, crashing and faulty drivers this way."""
        unknown = sorted(set(changes) - self._VARIANT_OPTIONS)
        if unknown:
            raise TypeError(f"variant() cannot change {', '.join(unknown)}")
        if "wrapper" in changes:
            changes["wrapper"] = _wrapper(changes["wrapper"])
        clone = copy.copy(self)
        clone.__dict__.update(changes)
        clone._lock = threading.RLock()
        with self._lock:
            clone._memo = dict(self._memo)
        return clone

    # --- identity, tools, catalogue -----------------------------------------------------------

    def _once(self, key: str, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]

    @property
    def gcc(self) -> str:
        return self._once("gcc", lambda: self._gcc or gcc_toolchain.gcc_command())

    def _help(self) -> tuple[list[gcc_toolchain.FlagInfo], tuple[str, ...]]:
        return self._once("help", lambda: gcc_toolchain.parse_optimizers_help(self._report("--help=optimizers")))

    def flags(self) -> dict[str, gcc_toolchain.FlagInfo]:
        """The catalogue by name."""
        return self._once("flags", lambda: {info.name: info for info in self._help()[0]})

    def levels(self) -> tuple[str, ...]:
        """The size levels this gcc has (`Os`, and `Oz` from gcc 12)."""
        return tuple(level for level in REFERENCES if level in self._help()[1])

    def _run(
        self,
        argv: list[str],
        limits: sandbox.Limits | None = None,
        *,
        cwd: Path | None = None,
        reads: Sequence[Path] = (),
        writes: Sequence[Path] = (),
    ) -> sandbox.RunResult:
        """gcc in the sandbox, in the C locale so its messages read the same everywhere; the crash
        tests' wrapper is in the sandbox's view too."""
        wrapper = [Path(part) for part in self.wrapper or () if os.path.isabs(part)]
        return sandbox.run(
            argv,
            limits=limits or self.tool_limits,
            cwd=cwd,
            env={**os.environ, **TOOL_ENV},
            reads=[*reads, *wrapper],
            writes=writes,
        )

    def _report(self, *args: str) -> str:
        """gcc's answer to a question about itself; a failure means gcc is unusable. Default limits:
        a plan run's tight limit must not make the toolchain look broken."""
        done = self._run([self.gcc, *args], sandbox.Limits())
        if not done.ok:
            raise ToolchainUnavailable(f"'{self.gcc} {' '.join(args)}' failed: {done.failure}")
        return done.stdout.decode(errors="replace").strip()

    def version(self) -> str:
        return self._once("version", lambda: self._report("-dumpfullversion"))

    def identity(self) -> str:
        return self._once(
            "identity",
            lambda: content_key(
                "gcc",
                self._report("--version").splitlines()[0],
                self.version(),
                self._report("-dumpmachine"),
                *FIXED_FLAGS,
            ),
        )

    def catalogue(self) -> dict[str, Any]:
        return {"toolchain": "gcc", "version": self.version(), "passes": [info.as_json() for info in self._help()[0]]}

    def check_plan(self, plan: Plan) -> None:
        if plan.toolchain != "gcc":
            raise PlanError(f"toolchain: the gcc driver cannot run a {plan.toolchain!r} plan")
        self._flag_arguments(plan)
        if plan.knobs.get("gcc", {}).get("Oz") and "Oz" not in self.levels():
            raise PlanError(f"knobs.gcc.Oz: this gcc ({self.version()}) has no -Oz")

    def _flag_arguments(self, plan: Plan) -> list[str]:
        """The plan's command-line options after the base level; PlanError names a bad step."""
        flags = self.flags()
        first_set: dict[str, int] = {}
        arguments: list[str] = []
        for index, step in enumerate(plan.passes):
            field = f"passes[{index}]"
            info = flags.get(step.name)
            if info is None:
                hint = ""
                if step.name.startswith("no-") and step.name[3:] in flags:
                    hint = f'; write {{"name": "{step.name[3:]}", "params": {{"enabled": false}}}}'
                raise PlanError(f"{field}.name: unknown gcc flag {step.name!r}{hint}")
            if step.name in first_set:
                raise PlanError(f"{field}.name: flag {step.name!r} is already set by passes[{first_set[step.name]}]")
            first_set[step.name] = index
            arguments.append(_render_flag(info, step.params, f"{field}.params"))
        for name, value in sorted(plan.knobs.get("param", {}).items()):
            arguments.append(f"--param={name}={value}")
        return arguments

    def _compile_command(
        self, plan: Plan, input: Path, output: Path, assembly: bool = False, wrapper: Sequence[str] = ()
    ) -> list[str]:
        level = "-Oz" if plan.knobs.get("gcc", {}).get("Oz") else "-Os"
        mode = "-S" if assembly else "-c"
        wrapped = ["-wrapper", ",".join(wrapper)] if wrapper else []
        return [
            self.gcc,
            *FIXED_FLAGS,
            level,
            *self._flag_arguments(plan),
            *wrapped,
            mode,
            str(input),
            "-o",
            str(output),
        ]

    # --- inputs ---------------------------------------------------------------------------------

    def prepare(self, source: Path) -> Path:
        """The preprocessed program (`gcc -E`), cached by content with the local headers; the
        source is checked to compile first. Raises CorpusError naming the file."""
        source = Path(source)
        if source.suffix != ".c":
            raise CorpusError(f"{source}: not a C (.c) file")
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise CorpusError(f"{source}: cannot read: {exc.strerror or exc}") from None
        headers = [(path.name.encode(), path.read_bytes()) for path in sorted(source.parent.glob("*.h"))]
        key = content_key("c->i", self.identity(), data, *(part for pair in headers for part in pair))
        cached = self.cache.path("gcc-i", key, ".i")
        if cached.is_file():
            return cached
        resolved = str(source.resolve())
        checked = self._run([self.gcc, *FIXED_FLAGS, "-fsyntax-only", resolved], reads=[Path(resolved).parent])
        if not checked.ok:
            message = _first_error(checked).replace(f"{resolved}:", "")
            if not checked.failure.startswith("exit "):
                message = f"{checked.failure}: {message}"
            raise CorpusError(f"{source}: does not compile: {message}")
        with tempfile.TemporaryDirectory(prefix="opm-") as work:
            output = Path(work) / "input.i"
            done = self._run(
                [self.gcc, *FIXED_FLAGS, "-E", resolved, "-o", str(output)],
                reads=[Path(resolved).parent],
                writes=[Path(work)],
            )
            if not done.ok:
                raise CorpusError(f"{source}: does not preprocess: {_first_error(done)}")
            return self.cache.write_bytes("gcc-i", key, output.read_bytes(), ".i")

    # --- running plans ----------------------------------------------------------------------------

    def apply(self, plan: Plan, input: Path, out_object: Path) -> Measurement:
        return self._build(plan, input, out_object, self.asm_hook, self.wrapper)

    def _build(
        self,
        plan: Plan,
        input: Path,
        out_object: Path,
        asm_hook: Callable[[str], str] | None,
        wrapper: Sequence[str] = (),
    ) -> Measurement:
        """One gcc run to an object; with a hook, to assembly, the hook, then the assembler.
        References are built without the hook and the wrapper."""
        self.check_plan(plan)
        name = Path(input).name
        if asm_hook is None:
            done = self._run(
                self._compile_command(plan, input, out_object, wrapper=wrapper),
                writes=[Path(out_object).resolve().parent],
            )
            if not done.ok:
                return _tool_failure(name, "gcc", done)
        else:
            with tempfile.TemporaryDirectory(prefix="opm-") as work:
                assembly = Path(work) / "plan.s"
                done = self._run(
                    self._compile_command(plan, input, assembly, assembly=True, wrapper=wrapper), writes=[Path(work)]
                )
                if not done.ok:
                    return _tool_failure(name, "gcc", done)
                assembly.write_text(asm_hook(assembly.read_text(errors="surrogateescape")), errors="surrogateescape")
                # Run in the work directory on the relative name, so the assembler's messages say `plan.s:LINE`.
                assemble = [self.gcc, "-c", assembly.name, "-o", str(Path(out_object).resolve())]
                done = self._run(
                    assemble, cwd=Path(work), writes=[Path(work), Path(out_object).resolve().parent]
                )
                if not done.ok:
                    return _tool_failure(name, "as", done)
        try:
            size = executable_bytes(out_object)
        except (OSError, ELFError) as exc:
            return Measurement(name, None, None, f"bad object: {exc}")
        return Measurement(name, size, None, "ok")

    def measure(self, plan: Plan, program: Path) -> Measurement:
        program = Path(program)
        name = self.program_name(program)
        prepared = self.prepare(program)
        with tempfile.TemporaryDirectory(prefix="opm-") as work:
            obj = Path(work) / "plan.o"
            result = dataclasses.replace(self.apply(plan, prepared, obj), program=name)
            if not result.ok:
                return result
            failure = self.verify(program, obj)
        if failure is not None:
            return dataclasses.replace(failure, program=name, text_bytes=result.text_bytes)
        return result

    # --- verification -------------------------------------------------------------------------------

    def verify(self, program: Path, out_object: Path) -> Measurement | None:
        """The object must export what the -Os build exports; then differential execution against
        that build, for objects that define `main`. gcc has no IR verifier to run, so a library slice
        gets the export check only."""
        name = self.program_name(Path(program))
        dropped = differential.missing_exports(self._reference_interface(program), Path(out_object))
        if dropped is not None:
            return Measurement.failed(name, MISCOMPILED, dropped)
        if not self.differential or not defines_symbol(Path(out_object), "main"):
            return None
        return differential.compare_with_reference(
            name=name,
            expected=self._reference_run(program),
            out_object=Path(out_object),
            link_and_run=self._link_and_run,
        )

    def _link_and_run(self, obj: Path, work: Path) -> dict[str, Any] | Measurement:
        executable = work / "program"
        linked = self._run([self.gcc, str(obj), *LINK_FLAGS, "-o", str(executable)], self.link_limits, writes=[work])
        if not linked.ok:
            return _tool_failure(obj.name, "link", linked)
        return differential.run_program(executable, self.run_limits, work)

    def _reference_interface(self, program: Path) -> list[str]:
        """The symbols the -Os build exports, cached per program and gcc."""
        prepared = self.prepare(program)
        return differential.reference_interface(
            cache=self.cache,
            key=self._interface_key(prepared),
            program=program,
            label="the Os reference",
            reference=lambda: self.reference(program, "Os"),
            build=lambda obj: self._build(reference_plan("gcc"), prepared, obj, None),
        )

    def _interface_key(self, prepared: Path) -> str:
        return content_key("gcc-interface", self.identity(), prepared.name)

    def _reference_run(self, program: Path) -> dict[str, Any]:
        """The -Os build's behaviour, cached per program and gcc."""
        prepared = self.prepare(program)
        return differential.reference_behaviour(
            cache=self.cache,
            key=content_key("gcc-run", self.identity(), prepared.name),
            program=program,
            label="the Os reference",
            build=lambda obj: self._build(reference_plan("gcc"), prepared, obj, None),
            link_and_run=self._link_and_run,
        )

    # --- references ---------------------------------------------------------------------------------

    def reference(self, program: Path, kind: str | None = None) -> Measurement:
        """`Os` (default) or `Oz`: the program compiled at that level with no flag changed.
        Cached; a failing reference is a CorpusError."""
        kind = kind or REFERENCES[0]
        if kind not in REFERENCES:
            raise ValueError(f"unknown reference {kind!r} (known: {', '.join(REFERENCES)})")
        if kind not in self.levels():
            raise ToolchainUnavailable(f"this gcc ({self.version()}) has no -{kind}; use the Os reference")
        program = Path(program)
        name = self.program_name(program)
        prepared = self.prepare(program)
        key = content_key("gcc-reference", kind, self.identity(), prepared.name)
        cached = self.cache.read_json("reference", key)
        if cached is not None:
            return dataclasses.replace(Measurement.from_json(cached), program=name)
        plan = reference_plan("gcc")
        if kind == "Oz":
            plan = dataclasses.replace(plan, knobs={"gcc": {"Oz": True}})
        with tempfile.TemporaryDirectory(prefix="opm-") as work:
            obj = Path(work) / "reference.o"
            result = self._build(plan, prepared, obj, None)
            if result.ok and kind == "Os":  # the verifier's export check needs the same object: no second build
                differential.record_interface(self.cache, self._interface_key(prepared), obj)
        if not result.ok:
            raise CorpusError(f"{program}: the {kind} reference fails: {result.verdict} ({result.detail})")
        result = dataclasses.replace(result, program=name)
        self.cache.write_json("reference", key, result.as_json())
        return result


# --- helpers -------------------------------------------------------------------------------------------


def _render_flag(info: gcc_toolchain.FlagInfo, params: dict[str, Any], field: str) -> str:
    """`-fNAME`, `-fno-NAME` or `-fNAME=WORD`, after checking the step's parameters."""
    if info.choices:
        unknown = sorted(set(params) - {"value"})
        if unknown:
            raise PlanError(f"{field}.{unknown[0]}: not a parameter of this flag (known: value)")
        value = params.get("value")
        if value not in info.choices:
            raise PlanError(f"{field}.value: expected one of {', '.join(info.choices)}, got {value!r}")
        return f"-f{info.name}={value}"
    unknown = sorted(set(params) - {"enabled"})
    if unknown:
        raise PlanError(f"{field}.{unknown[0]}: not a parameter of this flag (known: enabled)")
    enabled = params.get("enabled", True)
    if not isinstance(enabled, bool):
        raise PlanError(f"{field}.enabled: expected a boolean")
    return f"-f{info.name}" if enabled else f"-fno-{info.name}"


def _wrapper(parts: Sequence[str]) -> tuple[str, ...]:
    """A `-wrapper` command; gcc splits its argument at commas, so no part may hold one."""
    parts = tuple(parts)
    if any("," in part for part in parts):
        raise ValueError(f"wrapper {parts!r}: gcc's -wrapper splits at commas, so no part may contain one")
    return parts


_TOOL_PREFIX = re.compile(r"^(?:[\w./+-]*/)?(?:gcc|cc1|as|ld|collect2)(?:-\d+)?: ")


def _first_error(done: sandbox.RunResult) -> str:
    """The first line mentioning an error (gcc prints context lines around it), tool prefix dropped."""
    text = done.stderr_text()
    for line in text.splitlines():
        if "error" in line.lower():
            return sandbox.first_line(_TOOL_PREFIX.sub("", line.strip()))
    return sandbox.first_line(text)


def _tool_failure(program: str, stage: str, done: sandbox.RunResult) -> Measurement:
    """A failed gcc, assembler or linker run as a Measurement. gcc reports a crash of its compiler
    proper (cc1) as an internal compiler error with exit status 4, not as a signal."""
    verdict = done.failure or "failed"
    if _ICE_MARKER in done.stderr:
        verdict = ICE_VERDICT
    elif verdict.startswith("exit "):
        verdict = f"exit {done.returncode}: {_first_error(done)}"
    return Measurement(program, None, None, verdict, f"{stage}: {_first_error(done)}")


__all__ = ["FIXED_FLAGS", "REFERENCES", "GCCDriver"]
