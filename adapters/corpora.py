"""Realistic corpora for simulated participants: disjoint slices of musl's C sources, as LLVM IR.

A participant's privacy is per program, and a useful epsilon needs hundreds of programs per
participant (DESIGN.md §4), more than the bundled corpus has. The `ziglang` wheel ships musl's
sources (MIT licence); each translation unit of musl's x86_64 libc compiles to one unoptimised
`.ll` module with the llvm driver's front end, so every demo participant can get a disjoint slice
of about a thousand real modules without any third-party code in this repository. The modules
have no `main`: evaluation uses the size objective and the IR verifier only.

Slices: the file list is ordered by the SHA-256 of each path and slice I of N (1-based) takes
every N-th file from position I, so slices are disjoint, cover the list, differ in size by at
most one, and each is a spread over all of musl rather than a few directories.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from adapters.drivers.base import CorpusError
from adapters.drivers.llvm import PREPARE_FLAGS, FrontEnd, LLVMDriver
from adapters.toolchains import ToolchainUnavailable

MANIFEST = "MANIFEST.json"
MANIFEST_FORMAT = 1
NO_FUNCTIONS = "defines no functions (data only)"
REFERENCE_FAILS = "the llvm reference pipeline fails"
_FUNCTION_DEFINITION = re.compile(rb"^define\b", re.MULTILINE)

ARCH = "x86_64"
# musl's own build flags for its sources (its Makefile's CFLAGS_C99FSE, CPPFLAGS and the code
# generation options configure picks), written relative to musl's root: the IR names no local path.
# zig's x86_64-linux-musl headers come after these, for the generated `bits/alltypes.h`.
MUSL_FLAGS = (
    "-std=c99",
    "-ffreestanding",
    "-fexcess-precision=standard",
    "-frounding-math",
    "-fno-strict-aliasing",
    "-fno-stack-protector",
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-D_XOPEN_SOURCE=700",
    f"-Iarch/{ARCH}",
    "-Iarch/generic",
    "-Isrc/include",
    "-Isrc/internal",
    "-Iinclude",
    "-w",
)
SELECTION = (
    "musl's x86_64 libc translation units as its Makefile picks them: src/*/*.c except those a "
    "src/*/x86_64/ file replaces, plus the C files of src/*/x86_64/"
)
SOURCES = ("musl",)
UNSUPPORTED = {
    "wasi-libc": "its sources include the WASI API headers, which only compile for wasm32, and the "
    "wheel's llc (AArch64, ARM, NVPTX, x86) has no WebAssembly back end to measure that IR",
}


@dataclasses.dataclass(frozen=True)
class Codebase:
    """A C code base shipped in a wheel: where it lives and how its files are compiled."""

    name: str
    root: Path
    flags: tuple[str, ...]
    origin: str

    def files(self) -> list[str]:
        """The translation units of musl's x86_64 libc, as musl's Makefile picks them: every
        `src/*/*.c`, except those an `src/*/x86_64/` file (C or assembly) replaces, plus the C
        files of `src/*/x86_64/`. The dynamic linker, start files and other architectures are not
        part of libc.a. Sorted relative paths."""
        base = sorted(self.root.glob("src/*/*.c"))
        arch = sorted(self.root.glob(f"src/*/{ARCH}/*"))
        replaced = {path.parent.parent / path.stem for path in arch if path.suffix in (".c", ".s", ".S")}
        chosen = [path for path in base if path.parent / path.stem not in replaced]
        chosen += [path for path in arch if path.suffix == ".c"]
        return sorted(path.relative_to(self.root).as_posix() for path in chosen)


def codebase(name: str) -> Codebase:
    """The named code base from the installed ziglang wheel; ToolchainUnavailable if it is missing."""
    if name in UNSUPPORTED:
        raise CorpusError(f"source {name!r} is not supported: {UNSUPPORTED[name]}")
    if name not in SOURCES:
        raise CorpusError(f"unknown source {name!r} (known: {', '.join(SOURCES)})")
    zig = Path(FrontEnd.zig().command[0])
    root = zig.parent / "lib" / "libc" / "musl"
    if not (root / "src").is_dir():
        raise ToolchainUnavailable(f"musl sources not found under {root}: install the wheel (pip install ziglang)")
    return Codebase(name, root, MUSL_FLAGS, f"ziglang {importlib.metadata.version('ziglang')} lib/libc/musl")


# --- slices ------------------------------------------------------------------------------------------


def parse_slice(text: str) -> tuple[int, int]:
    """`I/N` -> (I, N), 1 <= I <= N; ValueError with a one-line message otherwise."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if match is None:
        raise ValueError(f"slice {text!r}: expected I/N, e.g. 1/4")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"slice {text!r}: I must be between 1 and N (slices are numbered from 1)")
    return index, count


def slice_files(files: Sequence[str], index: int, count: int) -> list[str]:
    """Slice `index` of `count` (1-based) of `files`: order by SHA-256 of the path, take every
    `count`-th from position `index`, return sorted. Disjoint and covering for index 1..count."""
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"slice {index}/{count}: I must be between 1 and N")
    ordered = sorted(files, key=lambda path: (hashlib.sha256(path.encode()).digest(), path))
    return sorted(ordered[index - 1 :: count])


def module_name(source: str) -> str:
    """`src/stdio/printf.c` -> `stdio.printf.ll`: flat, because a corpus is one directory."""
    return source.removeprefix("src/").removesuffix(".c").replace("/", ".") + ".ll"


# --- materializing -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One source file of a slice: its module (and where the cache holds it), or why it was skipped."""

    source: str
    source_sha256: str
    module: str | None = None
    module_sha256: str | None = None
    reason: str | None = None
    ir: Path | None = None

    def as_json(self) -> dict[str, str]:
        if self.module is None:
            return {"source": self.source, "source_sha256": self.source_sha256, "reason": self.reason or ""}
        return {
            "source": self.source,
            "source_sha256": self.source_sha256,
            "module": self.module,
            "module_sha256": self.module_sha256 or "",
        }


def materialize(
    source: str,
    index: int,
    count: int,
    out_dir: Path,
    *,
    jobs: int = 1,
    cache_dir: Path | None = None,
    progress: Callable[[Outcome], None] | None = None,
) -> dict[str, Any]:
    """Compile slice `index`/`count` of `source` into `out_dir` (`.ll` files and MANIFEST.json)
    and return the manifest. Files that do not compile, define no function or fail the llvm
    reference pipeline (which evaluation needs) are listed as skipped with the reason. Rerunning
    gives the same bytes; a directory holding anything but the same slice is refused
    (CorpusError), so slices never mix."""
    base = codebase(source)
    index, count = parse_slice(f"{index}/{count}")
    out_dir = Path(out_dir)
    previous = _previous_modules(out_dir, source, index, count)
    files = base.files()
    driver = LLVMDriver(cache_dir=cache_dir, frontend=FrontEnd.zig())

    def one(path: str) -> Outcome:
        outcome = _compile(driver, base, path)
        if progress is not None:
            progress(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        outcomes = list(pool.map(one, slice_files(files, index, count)))
    manifest = _manifest(base, index, count, len(files), outcomes)
    out_dir.mkdir(parents=True, exist_ok=True)
    for outcome in outcomes:
        if outcome.module is not None and outcome.ir is not None:
            _write_if_changed(out_dir / outcome.module, outcome.ir.read_bytes())
    for stale in previous - {outcome.module for outcome in outcomes}:
        (out_dir / stale).unlink(missing_ok=True)  # only after a toolchain change
    _write_if_changed(out_dir / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
    return manifest


def _compile(driver: LLVMDriver, base: Codebase, path: str) -> Outcome:
    source = base.root / path
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    try:
        ir = driver.compile_c(source, base.flags, root=base.root)
    except CorpusError as exc:
        return Outcome(path, digest, reason=str(exc).removeprefix(f"{source}: "))
    data = ir.read_bytes()
    if _FUNCTION_DEFINITION.search(data) is None:
        return Outcome(path, digest, reason=NO_FUNCTIONS)
    try:  # evaluation needs the reference of every module; it is cached for it here
        driver.reference(ir)
    except CorpusError as exc:
        return Outcome(path, digest, reason=f"{REFERENCE_FAILS}: {str(exc).removeprefix(f'{ir}: ')}")
    return Outcome(path, digest, module_name(path), hashlib.sha256(data).hexdigest(), ir=ir)


def _manifest(base: Codebase, index: int, count: int, total: int, outcomes: list[Outcome]) -> dict[str, Any]:
    """The slice's record: what was compiled from what, how, and what was skipped and why."""
    compiled = [outcome.as_json() for outcome in outcomes if outcome.module is not None]
    skipped = [outcome.as_json() for outcome in outcomes if outcome.module is None]
    reasons: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.module is None:
            kind = next(
                (reason for reason in (NO_FUNCTIONS, REFERENCE_FAILS) if (outcome.reason or "").startswith(reason)),
                "does not compile",
            )
            reasons[kind] = reasons.get(kind, 0) + 1
    return {
        "format": MANIFEST_FORMAT,
        "source": base.name,
        "origin": base.origin,
        "slice": {
            "index": index,
            "count": count,
            "numbering": "1-based",
            "method": "files ordered by SHA-256 of their path; slice I takes every N-th file from position I",
        },
        "selection": SELECTION,
        "compiler": {
            "frontend": list(FrontEnd.zig().compile_flags),
            "prepare": list(PREPARE_FLAGS),
            "codebase": list(base.flags),
        },
        "counts": {
            "source_files": total,
            "slice": len(outcomes),
            "compiled": len(compiled),
            "skipped": dict(sorted(reasons.items())),
        },
        "files": compiled,
        "skipped": skipped,
    }


def _previous_modules(out_dir: Path, source: str, index: int, count: int) -> set[str]:
    """The modules a previous run of the same slice wrote to `out_dir` (empty for a new or empty
    directory); CorpusError if the directory holds anything else."""
    if not out_dir.exists():
        return set()
    if not out_dir.is_dir():
        raise CorpusError(f"{out_dir}: not a directory")
    entries = {path.name for path in out_dir.iterdir()}
    if not entries:
        return set()
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        same = (manifest["source"], manifest["slice"]["index"], manifest["slice"]["count"]) == (source, index, count)
        modules = {entry["module"] for entry in manifest["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        same, modules = False, set()
    if not same or not entries <= modules | {MANIFEST}:
        raise CorpusError(
            f"{out_dir}: not empty and not slice {index}/{count} of {source}; materialize into an empty directory"
        )
    return modules


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write atomically, and not at all when the file already holds `data` (a rerun touches nothing)."""
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    temporary.write_bytes(data)
    os.replace(temporary, path)
