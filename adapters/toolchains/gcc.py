"""The system gcc: locating it and cataloguing its optimisation flags from `gcc --help=optimizers`.

The catalogue is what a gcc plan may name in its `passes` list: gcc's boolean `-f` options, each
set on (`-fNAME`) or off (`-fno-NAME`), and the few options taking a word from a fixed list that
matter for size (`ENUM_FLAGS`: the register allocator's algorithm and regions). Left out are options taking
numbers or free text (`-falign-functions=`, `-fpatchable-function-entry=`, ...): the numeric
limits that matter for size are `--param` knobs (`plan.GCC_KNOBS`) instead. `EXCLUDED_FLAGS`
lists the boolean options left out, each with the reason.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from typing import Any

from adapters import sandbox
from adapters.toolchains import ToolchainUnavailable

GCC_ENV = "OPM_GCC"
"""Environment variable naming the gcc to use (a command on PATH or a path); default `gcc`."""

DEFAULT_TIMEOUT = 60.0
SIZE_LEVELS = ("Os", "Oz")

# Options taking a word from a fixed list that change code size at -Os, written `-fNAME=WORD`.
# (-freorder-blocks-algorithm=stc, say, is ignored when optimising for size.)
ENUM_FLAGS = frozenset({"ira-algorithm", "ira-region"})

_FRONT_END_ONLY = "gcc ignores it for C (a C++, D or Go front-end option)"
EXCLUDED_FLAGS: dict[str, str] = {
    # Extra output: dumps and records next to the object or on stderr, never code.
    "opt-info": "optimisation remarks on stderr only",
    "save-optimization-record": "writes a JSON record file next to the output",
    # Profile feedback: reads .gcda files a corpus does not have.
    "branch-probabilities": "needs profile feedback (.gcda files)",
    "profile-partial-training": "needs profile feedback (.gcda files)",
    "profile-reorder-functions": "needs profile feedback (.gcda files)",
    "vpt": "needs profile feedback (.gcda files)",
    # Debug information only; the driver builds with -g0.
    "var-tracking": "debug information only",
    "var-tracking-assignments": "debug information only",
    "var-tracking-assignments-toggle": "debug information only",
    "var-tracking-uninit": "debug information only",
    # ABI changes: the object would no longer work with the C library it is linked against.
    "pack-struct": "changes the struct layout ABI",
    "short-enums": "changes the enum size ABI",
    "short-wchar": "changes the wchar_t ABI",
    "reg-struct-return": "changes the struct return ABI",
    # Options for other languages.
    "allocation-dce": _FRONT_END_ONLY,
    "devirtualize": _FRONT_END_ONLY,
    "devirtualize-speculatively": _FRONT_END_ONLY,
    "fold-simple-inlines": _FRONT_END_ONLY,
    "handle-exceptions": "a deprecated alias of -fexceptions",
    "keep-gc-roots-live": _FRONT_END_ONLY,
    "lifetime-dse": _FRONT_END_ONLY,
    "nothrow-opt": _FRONT_END_ONLY,
    "rtti": _FRONT_END_ONLY,
    "strict-enums": _FRONT_END_ONLY,
    "threadsafe-statics": _FRONT_END_ONLY,
    "unroll-completely-grow-size": "internal to gcc, rejected for C",
}

# gcc says "This option lacks documentation." for these; the text paraphrases the gcc manual.
CURATED_DESCRIPTIONS: dict[str, str] = {
    "fast-math": (
        "Sets -fno-math-errno, -funsafe-math-optimizations, -ffinite-math-only, -fno-rounding-math, "
        "-fno-signaling-nans, -fcx-limited-range and -fexcess-precision=fast."
    ),
    "limit-function-alignment": (
        "With -falign-functions, never pad a function's start by more bytes than the function is long."
    ),
}


# --- locating and running gcc --------------------------------------------------------------------


def gcc_command() -> str:
    """The gcc to run: `$OPM_GCC` if set, else `gcc`, resolved on PATH."""
    name = os.environ.get(GCC_ENV) or "gcc"
    path = shutil.which(name)
    if path is None:
        raise ToolchainUnavailable(f"gcc not found ({name!r}): install gcc or set {GCC_ENV} to its path")
    return path


def _run_gcc(gcc: str, *args: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Run gcc for a report (no input files), in the sandbox like every tool run, and return its stdout;
    any failure is fatal."""
    done = sandbox.run([gcc, *args], limits=sandbox.Limits(time_seconds=timeout))
    if done.failure == "timeout":
        raise ToolchainUnavailable(f"'{gcc} {' '.join(args)}' did not finish within {timeout:g}s")
    if done.failure is not None and done.returncode is None:
        raise ToolchainUnavailable(f"cannot run {gcc}: {sandbox.first_line(done.stderr)}; install gcc or set {GCC_ENV}")
    if done.failure is not None:
        first_line = sandbox.first_line(done.stderr)
        raise ToolchainUnavailable(f"'{gcc} {' '.join(args)}' exited with {done.returncode} ({first_line})")
    return done.stdout.decode("utf-8", errors="replace")


def gcc_version(gcc: str | None = None) -> str:
    """The release of the located gcc (e.g. "12.2.0")."""
    return _run_gcc(gcc or gcc_command(), "-dumpfullversion").strip()


# --- the flag catalogue ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FlagInfo:
    """One gcc option as a plan step: `name` is the option without `-f`; `choices` are the words
    of a `-fNAME=WORD` option (empty for an on/off flag)."""

    name: str
    description: str
    choices: tuple[str, ...] = ()
    kind: str = "flag"

    @property
    def parameters(self) -> str | None:
        """gcc's own syntax for the value, e.g. `[simple|stc]`; None for an on/off flag."""
        return f"[{'|'.join(self.choices)}]" if self.choices else None

    def parameter_schema(self) -> dict[str, Any]:
        """On/off flags take an optional boolean `enabled`; choice options a required `value`."""
        if self.choices:
            return {
                "type": "object",
                "properties": {"value": {"type": "string", "enum": list(self.choices)}},
                "required": ["value"],
                "additionalProperties": False,
            }
        enabled = {
            "type": "boolean",
            "description": f"true or omitted writes `-f{self.name}`, false `-fno-{self.name}`",
        }
        return {"type": "object", "properties": {"enabled": enabled}, "additionalProperties": False}

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "parameters": self.parameters,
            "parameter_schema": self.parameter_schema(),
            "description": self.description,
        }


_ENTRY = re.compile(r"  (-\S+)\s*(.*)")
_BOOLEAN = re.compile(r"-f(?:no-)?([a-z0-9][a-z0-9-]*)")
_CHOICE = re.compile(r"-f([a-z0-9][a-z0-9-]*)=\[([^\]]+)\]")
_LEVEL = re.compile(r"-(O[0-9a-z]+)")
_UNDOCUMENTED = "This option lacks documentation."


def _entries(text: str) -> list[tuple[str, str]]:
    """(option, description) pairs of `gcc --help=...` output; descriptions span several lines."""
    entries: list[tuple[str, str]] = []
    for line in text.splitlines():
        if match := _ENTRY.fullmatch(line.rstrip()):
            entries.append((match.group(1), match.group(2).strip()))
        elif entries and line.startswith("   ") and line.strip():
            option, description = entries[-1]
            entries[-1] = (option, f"{description} {line.strip()}".strip())
    return entries


def parse_optimizers_help(text: str) -> tuple[list[FlagInfo], tuple[str, ...]]:
    """The catalogue (sorted by name) and the optimisation levels listed (`Os`, `Oz`, ...) in
    `gcc --help=optimizers` output. Raises ValueError for text that is not such output."""
    if "-O" not in text or "-f" not in text:
        raise ValueError("not `gcc --help=optimizers` output: no -O or -f options")
    flags: dict[str, FlagInfo] = {}
    levels: list[str] = []
    for option, description in _entries(text):
        if match := _LEVEL.fullmatch(option):
            levels.append(match.group(1))
            continue
        if match := _BOOLEAN.fullmatch(option):
            name, choices = match.group(1), ()
        elif (match := _CHOICE.fullmatch(option)) and match.group(1) in ENUM_FLAGS:
            name, choices = match.group(1), tuple(match.group(2).split("|"))
        else:
            continue
        if name in EXCLUDED_FLAGS or name in flags:
            continue
        if not description or description == _UNDOCUMENTED:
            description = CURATED_DESCRIPTIONS.get(name, f"gcc option -f{name} (undocumented by gcc).")
        flags[name] = FlagInfo(name, description, choices)
    return sorted(flags.values(), key=lambda info: info.name), tuple(levels)


def flag_catalogue(gcc: str | None = None) -> list[FlagInfo]:
    """The flags the located gcc offers, sorted by name."""
    return parse_optimizers_help(_run_gcc(gcc or gcc_command(), "--help=optimizers"))[0]


def size_levels(gcc: str | None = None) -> tuple[str, ...]:
    """Which of -Os and -Oz the located gcc has (-Oz arrived in gcc 12)."""
    levels = parse_optimizers_help(_run_gcc(gcc or gcc_command(), "--help=optimizers"))[1]
    return tuple(level for level in SIZE_LEVELS if level in levels)


def catalogue_document(gcc: str | None = None) -> dict[str, Any]:
    """The catalogue document `opm-adapter passes --toolchain gcc` prints."""
    gcc = gcc or gcc_command()
    return {
        "toolchain": "gcc",
        "version": gcc_version(gcc),
        "passes": [info.as_json() for info in flag_catalogue(gcc)],
    }


__all__ = [
    "ENUM_FLAGS",
    "EXCLUDED_FLAGS",
    "GCC_ENV",
    "FlagInfo",
    "catalogue_document",
    "flag_catalogue",
    "gcc_command",
    "gcc_version",
    "parse_optimizers_help",
    "size_levels",
]
