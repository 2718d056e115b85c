"""The LLVM driver: C -> IR with `zig cc` (or a system clang), plans through `opt` and `llc`.

Size objective: bytes of the allocated executable sections (SHF_ALLOC + SHF_EXECINSTR) of the
object file. Second observation: the number of IR instructions after `opt`, counted in its output.

A plan's object is built exactly like reference (a), `default<Oz>` through the same `opt` and
`llc`, so a plan equal to the reference measures equal. `llc` runs at -O2, the code generation
level clang uses for -Oz (size comes from the `minsize` attributes; -O1/-O2/-O3 give identical
objects on the corpus), with the static relocation model and small code model of the reference
build. Reference (b) is the compiler's own `-Oz` object: identical on 40 of 42 corpus programs;
the rest differ because clang's -Oz also runs the SLP and loop vectorizers, which opt's
`default<Oz>` leaves off. Every tool run goes through the sandbox, so a crashing or hanging pass
order becomes a failed Measurement.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from elftools.common.exceptions import ELFError

from adapters import differential, linker, sandbox
from adapters.cache import Cache, content_key
from adapters.drivers.base import MISCOMPILED, CorpusError, Driver, Measurement, register
from adapters.elf import executable_bytes
from adapters.plan import Plan, PlanError, reference_plan
from adapters.toolchains import ToolchainUnavailable
from adapters.toolchains import llvm as llvm_toolchain

REFERENCES = ("Oz", "cc-Oz")
"""`Oz`: `default<Oz>` through this driver's opt and llc (a). `cc-Oz`: the C compiler's own -Oz (b)."""

LLC_OPT_LEVEL = "-O2"
# The reference build's code generation settings; sizes are only comparable if they match.
LLC_FLAGS = ("-filetype=obj", "-relocation-model=static", "-code-model=small")
# Textual IR between opt and llc, with use-list order kept: codegen depends on it, and without
# it 9 of 42 corpus programs came out up to 1.7% off the compiler's own in-memory -Oz build.
TEXT_IR = ("-S", "-preserve-ll-uselistorder")
# C -> unoptimised IR: the front end's module as clang's own pipeline would receive it.
PREPARE_FLAGS = ("-Xclang", "-disable-llvm-passes", "-Xclang", "-emit-llvm-uselists", "-S", "-emit-llvm")
TOOL_ENV = {"LLVM_DISABLE_SYMBOLIZATION": "1"}  # a crash report must not wait for a symbolizer

_MAIN_DEFINITION = re.compile(rb"^define\b[^\n]*@main\(", re.MULTILINE)
_ASM_USELISTORDER = re.compile(r"^[ \t]*uselistorder ptr asm [^\n]*\n", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class FrontEnd:
    """How C becomes IR and objects become executables, and the target llc must then match."""

    command: tuple[str, ...]
    compile_flags: tuple[str, ...]
    link_flags: tuple[str, ...]
    llc_triple: str
    llc_cpu: str
    zig_runtime: bool = False
    """Link with zig's musl runtime copied into the adapter's cache (`adapters.linker`), not `command`."""

    @classmethod
    def zig(cls) -> FrontEnd:
        """`zig cc` from the ziglang wheel, targeting static x86_64 musl. zig cc's `-Oz` alone means
        clang -Os and keeps frame pointers and UBSan; the extra flags give real -Oz attributes."""
        target = ("-target", "x86_64-linux-musl", "-mcpu=baseline")
        return cls(
            command=(*_zig_command(), "cc"),
            compile_flags=(
                *target,
                *("-Oz", "-Xclang", "-Oz", "-fomit-frame-pointer", "-fno-sanitize=undefined", "-g0"),
            ),
            link_flags=("-target", "x86_64-linux-musl", "-static"),
            llc_triple="x86_64-linux-musl",
            llc_cpu="x86-64",  # what zig's `baseline` means for x86_64
            zig_runtime=True,
        )

    @classmethod
    def system_clang(cls, path: str = "clang", triple: str = "x86_64-linux-gnu") -> FrontEnd:
        """A system clang for the host (no PIE, so the static relocation model of llc matches)."""
        return cls(
            command=(path,),
            compile_flags=(f"--target={triple}", "-march=x86-64", "-Oz", "-fomit-frame-pointer", "-g0", "-fno-pic"),
            link_flags=(f"--target={triple}", "-no-pie"),
            llc_triple=triple,
            llc_cpu="x86-64",
        )

    @classmethod
    def from_environment(cls) -> FrontEnd:
        """`$OPM_ADAPTER_CC` names a system clang to use instead of zig cc."""
        clang = os.environ.get("OPM_ADAPTER_CC")
        return cls.system_clang(clang) if clang else cls.zig()


def _zig_command() -> tuple[str, ...]:
    spec = importlib.util.find_spec("ziglang")
    for location in (spec.submodule_search_locations or []) if spec else []:
        executable = Path(location) / ("zig.exe" if sys.platform == "win32" else "zig")
        if executable.is_file() and os.access(executable, os.X_OK):
            return (str(executable),)
    if spec is not None:
        return (sys.executable, "-m", "ziglang")
    raise ToolchainUnavailable("zig not found: install the wheel (pip install 'ziglang==0.17.1') or set OPM_ADAPTER_CC")


@register("llvm")
class LLVMDriver(Driver):
    """The LLVM toolchain behind the Driver interface. Construction runs no tool.

    `extra_passes` extends the catalogue (tests use LLVM's `trigger-crash-module`); `ir_hook`
    rewrites the IR between opt and llc, for fault-injection tests of the verifier only.
    """

    source_suffixes = (".c", ".ll")
    references = REFERENCES

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        frontend: FrontEnd | None = None,
        tool_limits: sandbox.Limits | None = None,
        run_limits: sandbox.Limits | None = None,
        link_limits: sandbox.Limits | None = None,
        differential: bool = True,
        extra_passes: Iterable[llvm_toolchain.PassInfo] = (),
        ir_hook: Callable[[str], str] | None = None,
    ) -> None:
        self.cache = Cache(cache_dir)
        self._frontend = frontend
        self.tool_limits = tool_limits or sandbox.Limits()
        self.run_limits = run_limits or sandbox.Limits(time_seconds=10.0, memory_bytes=1024**3)
        # The first static link with a new cache may build zig's musl libc (~1 min), then copies it.
        self.link_limits = link_limits or sandbox.Limits(time_seconds=300.0)
        self.differential = differential
        self.extra_passes = tuple(extra_passes)
        self.ir_hook = ir_hook
        self._lock = threading.RLock()
        self._memo: dict[str, Any] = {}

    _VARIANT_OPTIONS = frozenset(
        {"tool_limits", "run_limits", "link_limits", "differential", "extra_passes", "ir_hook"}
    )

    def variant(self, **changes: Any) -> LLVMDriver:
        """A copy (same class) with some constructor options changed, sharing the tool lookups done so
        far; the conformance harness builds its impatient, crashing and faulty drivers this way."""
        unknown = sorted(set(changes) - self._VARIANT_OPTIONS)
        if unknown:
            raise TypeError(f"variant() cannot change {', '.join(unknown)}")
        clone = copy.copy(self)
        if "extra_passes" in changes:
            changes["extra_passes"] = tuple(changes["extra_passes"])
        clone.__dict__.update(changes)
        clone._lock = threading.RLock()
        with self._lock:  # the catalogue includes the extra passes; everything else stays valid
            clone._memo = {key: value for key, value in self._memo.items() if key != "catalogue"}
        return clone

    # --- identity, tools, catalogue -----------------------------------------------------------

    def _once(self, key: str, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]

    @property
    def frontend(self) -> FrontEnd:
        return self._once("frontend", lambda: self._frontend or FrontEnd.from_environment())

    def _tool(self, name: str) -> str:
        return self._once(f"tool:{name}", lambda: str(llvm_toolchain.tool_path(name)))

    def _llvm_version(self) -> str:
        return self._once("llvm-version", llvm_toolchain.llvm_version)

    def _env(self) -> dict[str, str]:
        return {**os.environ, **TOOL_ENV}

    def _frontend_identity(self) -> str:
        def compute() -> str:
            done = sandbox.run([*self.frontend.command, "--version"], limits=self.tool_limits, env=self._env())
            if not done.ok:
                raise ToolchainUnavailable(f"'{' '.join(self.frontend.command)} --version' failed: {done.failure}")
            return f"{self.frontend!r} {done.stdout.decode(errors='replace').strip()}"

        return self._once("frontend-identity", compute)

    def identity(self) -> str:
        return self._once(
            "identity",
            lambda: content_key(
                self._llvm_version(),
                self._frontend_identity(),
                *TEXT_IR,
                LLC_OPT_LEVEL,
                *LLC_FLAGS,
                self.frontend.llc_triple,
                self.frontend.llc_cpu,
            ),
        )

    def _catalogue_entries(self) -> tuple[llvm_toolchain.PassInfo, ...]:
        return self._once("catalogue", lambda: (*llvm_toolchain.pass_catalogue(), *self.extra_passes))

    def catalogue(self) -> dict[str, Any]:
        return {
            "toolchain": "llvm",
            "version": llvm_toolchain.llvm_version(),
            "passes": [info.as_json() for info in llvm_toolchain.pass_catalogue()],
        }

    def measurements_cacheable(self) -> bool:
        return self.ir_hook is None and self.differential

    def check_plan(self, plan: Plan) -> None:
        if plan.toolchain != "llvm":
            raise PlanError(f"toolchain: the llvm driver cannot run a {plan.toolchain!r} plan")
        plan.to_pipeline(self._catalogue_entries())

    # --- inputs ---------------------------------------------------------------------------------

    def prepare(self, source: Path) -> Path:
        """Unoptimised IR for `source` (`.c` compiled with -Xclang -disable-llvm-passes, `.ll`
        checked by the IR verifier), cached by content. Raises CorpusError naming the file."""
        source = Path(source)
        data = _read_source(source)
        if source.suffix == ".c":
            return self._prepare_c(source, data)
        if source.suffix == ".ll":
            return self._prepare_ll(source, data)
        raise CorpusError(f"{source}: not a C (.c) or LLVM IR (.ll) file")

    def _prepare_c(self, source: Path, data: bytes) -> Path:
        return self.compile_c(source, data=data)

    def compile_c(
        self, source: Path, extra_flags: Sequence[str] = (), *, root: Path | None = None, data: bytes | None = None
    ) -> Path:
        """Unoptimised IR for one C file, cached by content. `extra_flags` (a foreign codebase's
        include paths and defines) follow the front end's own; with `root` the compiler runs in
        that directory on the relative path, so the IR names no path of this machine. Headers
        outside the source's directory are not in the key: pass them in a versioned install."""
        source = Path(source)
        data = _read_source(source) if data is None else data
        # Local headers are part of the input: the key covers those next to the source.
        headers = [(path.name.encode(), path.read_bytes()) for path in sorted(source.parent.glob("*.h"))]
        where = str(source.resolve() if root is None else source.resolve().relative_to(Path(root).resolve()))
        extra = ("root", where, *extra_flags) if root is not None or extra_flags else ()
        local = (part for pair in headers for part in pair)
        key = content_key("c->ll", self._frontend_identity(), *PREPARE_FLAGS, data, *local, *extra)
        cached = self.cache.path("ir", key, ".ll")
        if cached.is_file():
            return cached
        with tempfile.TemporaryDirectory(prefix="opm-") as work:
            output = Path(work) / "input.ll"
            command = [
                *self.frontend.command,
                *self.frontend.compile_flags,
                *PREPARE_FLAGS,
                *extra_flags,
                where,
                "-o",
                str(output),
            ]
            reads = [source.resolve().parent, *_include_paths(extra_flags, Path(root) if root is not None else None)]
            done = sandbox.run(command, limits=self.tool_limits, cwd=root, env=self._env(), reads=reads, writes=[work])
            if not done.ok:
                message = _first_error(done).replace(f"{where}:", "")
                if not done.failure.startswith("exit "):
                    message = f"{done.failure}: {message}"
                raise CorpusError(f"{source}: does not compile: {message}")
            return self.cache.write_bytes("ir", key, output.read_bytes(), ".ll")

    def _prepare_ll(self, source: Path, data: bytes) -> Path:
        key = content_key("ll", self._llvm_version(), data)
        cached = self.cache.path("ir", key, ".ll")
        if cached.is_file():
            return cached
        done = sandbox.run(
            [self._tool("opt"), "-passes=verify", "-disable-output", str(source)],
            limits=self.tool_limits,
            env=self._env(),
        )
        if not done.ok:
            message = _first_error(done).replace(f"{self._tool('opt')}: ", "")
            raise CorpusError(f"{source}: not valid LLVM IR: {message}")
        return self.cache.write_bytes("ir", key, data, ".ll")

    def has_main(self, program: Path) -> bool:
        """Whether the prepared IR defines `main`: only such programs get differential execution."""
        return _MAIN_DEFINITION.search(self.prepare(program).read_bytes()) is not None

    # --- running plans ----------------------------------------------------------------------------

    def apply(self, plan: Plan, input: Path, out_object: Path) -> Measurement:
        return self._build(plan, input, out_object, self.ir_hook)

    def _build(self, plan: Plan, input: Path, out_object: Path, ir_hook: Callable[[str], str] | None) -> Measurement:
        """opt, the optional IR hook, llc. References are built without the hook."""
        self.check_plan(plan)
        pipeline = plan.to_pipeline(self._catalogue_entries())
        name = Path(input).name
        with tempfile.TemporaryDirectory(prefix="opm-") as work:
            optimised = Path(work) / "plan.ll"
            opt = [self._tool("opt"), f"-passes={pipeline}", *plan.tool_flags("opt"), str(input), *TEXT_IR, "-o"]
            done = sandbox.run([*opt, str(optimised)], limits=self.tool_limits, env=self._env(), writes=[work])
            if not done.ok:
                return _tool_failure(name, "opt", done)
            text = optimised.read_text(encoding="utf-8", errors="surrogateescape")
            if _ASM_USELISTORDER.search(text):
                # opt 22 writes use-list orders for inline asm that its own parser rejects ("invalid
                # type for inline asm constraint string"); without them llc builds what clang does.
                text = _ASM_USELISTORDER.sub("", text)
                optimised.write_text(text, encoding="utf-8", errors="surrogateescape")
            if ir_hook is not None:
                text = ir_hook(text)
                optimised.write_text(text, encoding="utf-8", errors="surrogateescape")
                check = [self._tool("opt"), "-passes=verify", "-disable-output", str(optimised)]
                done = sandbox.run(check, limits=self.tool_limits, env=self._env())
                if not done.ok:
                    return Measurement.failed(name, f"invalid IR: {_first_error(done)}", "verify: after the IR hook")
            instructions = count_ir_instructions(text)
            done = sandbox.run(
                [*self._llc_command(plan), str(optimised), "-o", str(out_object)],
                limits=self.tool_limits,
                env=self._env(),
                writes=[Path(out_object).resolve().parent],
            )
            if not done.ok:
                return _tool_failure(name, "llc", done, instructions)
        try:
            size = executable_bytes(out_object)
        except (OSError, ELFError) as exc:
            return Measurement(name, None, instructions, f"bad object: {exc}")
        return Measurement(name, size, instructions, "ok")

    def _llc_command(self, plan: Plan) -> list[str]:
        front = self.frontend
        return [
            self._tool("llc"),
            LLC_OPT_LEVEL,
            *LLC_FLAGS,
            f"-mtriple={front.llc_triple}",
            f"-mcpu={front.llc_cpu}",
            *plan.tool_flags("llc"),
        ]

    def measure(self, plan: Plan, program: Path) -> Measurement:
        program = Path(program)
        name = self.program_name(program)
        ir = self.prepare(program)
        with tempfile.TemporaryDirectory(prefix="opm-") as work:
            obj = Path(work) / "plan.o"
            result = dataclasses.replace(self.apply(plan, ir, obj), program=name)
            if not result.ok:
                return result
            failure = self.verify(program, obj)
        if failure is not None:
            return dataclasses.replace(
                failure, program=name, text_bytes=result.text_bytes, ir_instructions=result.ir_instructions
            )
        return result

    # --- verification -------------------------------------------------------------------------------

    def verify(self, program: Path, out_object: Path) -> Measurement | None:
        """The object must export what the reference exports; then differential execution: link
        it, run it, compare exit status and stdout with the reference build. The IR verifier already
        ran inside opt (it checks its output) and llc (its input). Programs without `main` (library
        slices) get the IR verifier and the export check only."""
        name = self.program_name(Path(program))
        dropped = differential.missing_exports(self._reference_interface(program), Path(out_object))
        if dropped is not None:
            return Measurement.failed(name, MISCOMPILED, dropped)
        if not self.differential or not self.has_main(program):
            return None
        return differential.compare_with_reference(
            name=name,
            expected=self._reference_run(program),
            out_object=Path(out_object),
            link_and_run=self._link_and_run,
        )

    def _link_and_run(self, obj: Path, work: Path) -> dict[str, Any] | Measurement:
        """Link and run one object: the observed behaviour, or a Measurement if it does not link."""
        executable = work / "program"
        static = self._static_linker()
        if static is not None:
            command = static.command(obj, executable)
        else:
            command = [*self.frontend.command, *self.frontend.link_flags, str(obj), "-o", str(executable)]
        linked = sandbox.run(command, limits=self.link_limits, env=self._env(), writes=[work])
        if not linked.ok:
            return _tool_failure(obj.name, "link", linked)
        return differential.run_program(executable, self.run_limits, work)

    def _static_linker(self) -> linker.StaticLinker | None:
        """zig's runtime in this driver's cache (set up by the first link), or None for a system compiler."""
        front = self.frontend
        if not front.zig_runtime:
            return None
        return self._once(
            "static-linker",
            lambda: linker.static_linker(
                zig=front.command[:-1],
                compile_flags=front.compile_flags,
                link_flags=front.link_flags,
                identity=self._frontend_identity(),
                cache=self.cache,
                limits=self.link_limits,
                env=self._env(),
            ),
        )

    def _interface_key(self, ir: Path) -> str:
        return content_key("interface", self.identity(), ir.name)

    def _reference_interface(self, program: Path) -> list[str]:
        """The symbols the `Oz` reference exports, cached per program and tool versions."""
        ir = self.prepare(program)
        return differential.reference_interface(
            cache=self.cache,
            key=self._interface_key(ir),
            program=program,
            label="the reference build",
            reference=lambda: self.reference(program, "Oz"),
            build=lambda obj: self._build(reference_plan("llvm"), ir, obj, None),
        )

    def _reference_run(self, program: Path) -> dict[str, Any]:
        """The reference build's behaviour, cached per program and tool versions."""
        ir = self.prepare(program)
        return differential.reference_behaviour(
            cache=self.cache,
            key=content_key("run", self.identity(), ir.name),
            program=program,
            label="the reference build",
            build=lambda obj: self._build(reference_plan("llvm"), ir, obj, None),
            link_and_run=self._link_and_run,
        )

    # --- references ---------------------------------------------------------------------------------

    def reference(self, program: Path, kind: str | None = None) -> Measurement:
        """Reference (a) `Oz`: default<Oz> through opt and llc; (b) `cc-Oz`: the C compiler's own
        -Oz object (IR instructions not observed). Cached; a failing reference is a CorpusError."""
        kind = kind or REFERENCES[0]
        if kind not in REFERENCES:
            raise ValueError(f"unknown reference {kind!r} (known: {', '.join(REFERENCES)})")
        program = Path(program)
        name = self.program_name(program)
        ir = self.prepare(program)
        key = content_key("reference", kind, self.identity(), ir.name)
        cached = self.cache.read_json("reference", key)
        if cached is not None:
            return dataclasses.replace(Measurement.from_json(cached), program=name)
        with tempfile.TemporaryDirectory(prefix="opm-") as work:
            obj = Path(work) / "reference.o"
            if kind == "Oz":
                result = self._build(reference_plan("llvm"), ir, obj, None)
                if result.ok:  # the verifier's export check needs the same object: no second build
                    differential.record_interface(self.cache, self._interface_key(ir), obj)
            else:
                result = self._compiler_object(program, ir, obj)
        if not result.ok:
            raise CorpusError(f"{program}: the {kind} reference fails: {result.verdict} ({result.detail})")
        result = dataclasses.replace(result, program=name)
        self.cache.write_json("reference", key, result.as_json())
        return result

    def _compiler_object(self, program: Path, ir: Path, obj: Path) -> Measurement:
        # The compiler optimises for itself here: no -disable-llvm-passes. `.ll` programs go in as IR.
        source = program.resolve() if program.suffix == ".c" else ir
        done = sandbox.run(
            [*self.frontend.command, *self.frontend.compile_flags, "-c", str(source), "-o", str(obj)],
            limits=self.tool_limits,
            env=self._env(),
            reads=[source.parent],
            writes=[Path(obj).resolve().parent],
        )
        if not done.ok:
            return _tool_failure(program.name, "cc", done)
        return Measurement(program.name, executable_bytes(obj), None, "ok")


# --- observations ---------------------------------------------------------------------------------------


_LABEL = re.compile(r'^(?:[-\w.$]+|"[^"]*"):')


def count_ir_instructions(text: str) -> int:
    """Count the instructions in textual IR, as `opt -passes=instcount` does: one per line of a
    function body, except labels, comments, `uselistorder` directives and the case lines of a
    multi-line `switch [...]`.
    Counted from the text opt writes anyway, so it costs no extra tool run and no stats build."""
    count, in_body, in_list = 0, False, False
    for raw in text.splitlines():
        line = raw.strip()
        if not in_body:
            in_body = raw.startswith("define ") and line.endswith("{")
            continue
        if raw.startswith("}"):
            in_body = False
            continue
        if in_list:
            in_list = not line.startswith("]")
            continue
        if not line or line.startswith((";", "uselistorder")) or _LABEL.match(line):
            continue
        count += 1
        in_list = line.endswith("[")
    return count


# --- helpers -------------------------------------------------------------------------------------------


_INCLUDE_FLAGS = ("-I", "-isystem", "-iquote", "-idirafter", "-include")


def _include_paths(flags: Sequence[str], root: Path | None) -> list[Path]:
    """The directories and files a compiler's include flags name (`-Ia`, `-I a`, `-isystem a`, ...),
    resolved against `root`: the sandbox must show them, wherever they are."""
    paths: list[Path] = []
    pending = False
    for flag in flags:
        if pending:
            paths.append(Path(flag))
            pending = False
            continue
        for prefix in _INCLUDE_FLAGS:
            if flag == prefix:
                pending = True
                break
            if flag.startswith(prefix):
                paths.append(Path(flag[len(prefix) :]))
                break
    base = root if root is not None else Path.cwd()
    return [(base / path).resolve() for path in paths]


def _read_source(source: Path) -> bytes:
    try:
        return source.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{source}: cannot read: {exc.strerror or exc}") from None


def _first_error(done: sandbox.RunResult) -> str:
    """The first line mentioning an error (compilers print context and notes around it)."""
    text = done.stderr_text()
    for line in text.splitlines():
        if "error" in line.lower():
            return sandbox.first_line(_strip_tool_prefix(line))
    return sandbox.first_line(text)


_ASSERTION = re.compile(r"([\w.-]+\.(?:cpp|h|inc):\d+):.*?(Assertion .*)")
_RUNNING_PASS = re.compile(r'Running pass "([^"]{1,80})[^"]*"')


def _diagnosis(done: sandbox.RunResult) -> str:
    """The most telling line of a tool failure: a failed assertion, an LLVM ERROR or error line,
    else the pass LLVM's crash handler says was running, else the first line."""
    lines = [_strip_tool_prefix(line.strip()) for line in done.stderr_text().splitlines() if line.strip()]
    for line in lines:
        if match := _ASSERTION.search(line):
            return sandbox.first_line(f"{match.group(1)}: {match.group(2)}")
    for marker in ("LLVM ERROR", "error"):
        for line in lines:
            if marker in line:
                return sandbox.first_line(line)
    for line in lines:
        if match := _RUNNING_PASS.search(line):
            return f"crashed in pass {match.group(1)}"
    return sandbox.first_line("\n".join(lines))


def _strip_tool_prefix(line: str) -> str:
    """`/path/to/opt: opt: message` -> `message`."""
    while (match := re.match(r"[\w./+-]*\b(?:opt|llc|clang|zig|ld\.lld)(?:\.exe)?: ", line)) is not None:
        line = line[match.end() :]
    return line


def _tool_failure(program: str, stage: str, done: sandbox.RunResult, instructions: int | None = None) -> Measurement:
    """A failed tool run as a Measurement. A module broken by a pass is caught by opt's verifier
    ("Broken module found") and reported as `invalid IR: <the verifier's first complaint>`."""
    verdict = done.failure or "failed"
    if b"Broken module found" in done.stderr:
        verdict = f"invalid IR: {sandbox.first_line(done.stderr)}"
    elif verdict.startswith("exit "):
        verdict = f"exit {done.returncode}: {_first_error(done)}"
    return Measurement(program, None, instructions, verdict, f"{stage}: {_diagnosis(done)}")
