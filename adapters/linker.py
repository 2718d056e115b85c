"""Static links of test programs without zig's global cache: its runtime copied once, lld run directly.

`zig cc` links a static musl program by first looking up (and, on a new machine, building) musl's libc,
its start files and compiler-rt in zig's global cache, under that cache's file locks. Every differential
run links once, so two evaluating processes took turns on those locks, and the first link on a machine
waited a minute for the libc build. Here the runtime is found once per adapter cache: a probe program is
linked with `zig cc -v`, the linker command zig prints is kept as a template, and the runtime files it
names are copied into the adapter's own cache. Every later link is `zig ld.lld` with that template: the
same command zig runs, touching nothing outside the adapter's cache.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import shlex
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from adapters import sandbox
from adapters.cache import Cache, content_key
from adapters.toolchains import ToolchainUnavailable

RUNTIME_KIND = "runtime"
TEMPLATE = "link.json"
OBJECT_SLOT = "{object}"
OUTPUT_SLOT = "{output}"
RUNTIME_SLOT = "{runtime}"  # the runtime folder, wherever the cache lives
_PROBE = "int main(void) { return 0; }\n"


@dataclasses.dataclass(frozen=True)
class StaticLinker:
    """`zig ld.lld` with the arguments zig itself would pass, the runtime files in `directory`."""

    zig: tuple[str, ...]
    arguments: tuple[str, ...]
    directory: Path

    def command(self, obj: Path, output: Path) -> list[str]:
        """The link command for one object file."""
        slots = {OBJECT_SLOT: str(obj), OUTPUT_SLOT: str(output)}
        resolved = (argument.replace(RUNTIME_SLOT, str(self.directory), 1) for argument in self.arguments)
        return [*self.zig, "ld.lld", *(slots.get(argument, argument) for argument in resolved)]


def zig_global_cache() -> Path:
    """zig's global cache directory, as zig finds it (`$ZIG_GLOBAL_CACHE_DIR`, `$XDG_CACHE_HOME/zig`,
    `~/.cache/zig`), created if missing. The sandbox lets zig write there only where zig builds a C
    runtime for a link (the runtime set-up here, wasm links): rebuilding it per run would take minutes."""
    override = os.environ.get("ZIG_GLOBAL_CACHE_DIR")
    if override:
        directory = Path(override).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME")
        directory = (Path(base).expanduser() if base else Path.home() / ".cache") / "zig"
    directory.mkdir(parents=True, exist_ok=True)
    return directory.resolve()


def static_linker(
    *,
    zig: Sequence[str],
    compile_flags: Sequence[str],
    link_flags: Sequence[str],
    identity: str,
    cache: Cache,
    limits: sandbox.Limits,
    env: Mapping[str, str],
) -> StaticLinker:
    """The linker for static programs built with these flags, set up in `cache` on first use.

    Concurrent processes sharing a cache wait for the first one's set-up (an exclusive file lock) instead
    of repeating it. ToolchainUnavailable if zig cannot link a trivial program.
    """
    key = content_key("static-runtime", identity, *compile_flags, "link", *link_flags)
    directory = cache.path(RUNTIME_KIND, key)
    with _exclusive(directory.with_name(f"{key}.lock")):
        if not (directory / TEMPLATE).is_file():
            _set_up(directory, tuple(zig), tuple(compile_flags), tuple(link_flags), limits, env)
    arguments = json.loads((directory / TEMPLATE).read_text(encoding="utf-8"))["arguments"]
    return StaticLinker(tuple(zig), tuple(arguments), directory)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _set_up(
    directory: Path,
    zig: tuple[str, ...],
    compile_flags: tuple[str, ...],
    link_flags: tuple[str, ...],
    limits: sandbox.Limits,
    env: Mapping[str, str],
) -> None:
    """Link a probe with `zig cc -v`, copy the runtime files its linker command names, keep the template.

    Written into a fresh directory renamed into place at the end, so a reader never sees half of it.
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=".tmp-runtime-"))
    try:
        with tempfile.TemporaryDirectory(prefix="opm-link-probe-") as work:
            source, obj, executable = Path(work) / "probe.c", Path(work) / "probe.o", Path(work) / "probe"
            source.write_text(_PROBE)
            zig_cache = zig_global_cache()
            zig_env = {**env, "ZIG_GLOBAL_CACHE_DIR": str(zig_cache)}
            compiled = sandbox.run(
                [*zig, "cc", *compile_flags, "-c", str(source), "-o", str(obj)],
                limits=limits,
                env=zig_env,
                writes=[Path(work), zig_cache],
            )
            if not compiled.ok:
                raise ToolchainUnavailable(f"zig cc cannot compile a trivial program: {compiled.failure}")
            linked = sandbox.run(
                [*zig, "cc", *link_flags, str(obj), "-o", str(executable), "-v"],
                limits=limits,
                env=zig_env,
                writes=[Path(work), zig_cache],
            )
            if not linked.ok:
                raise ToolchainUnavailable(f"zig cc cannot link a trivial static program: {linked.failure}")
            arguments = _template(linked.stderr_text(), obj, executable, staging)
        (staging / TEMPLATE).write_text(json.dumps({"arguments": arguments}, indent=1) + "\n", encoding="utf-8")
        shutil.rmtree(directory, ignore_errors=True)
        os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _template(verbose: str, obj: Path, executable: Path, runtime: Path) -> list[str]:
    """The arguments of the `ld.lld` line zig printed, with the probe's object and output as slots and every
    other input file copied into `runtime` (named by position, since zig's cache names several `crt1.o`)."""
    # A first link on the machine also prints the links that build the runtime: ours names the probe.
    ours = [
        words
        for line in verbose.splitlines()
        if line.startswith("ld.lld ") and str(obj) in (words := shlex.split(line))
    ]
    if not ours:
        raise ToolchainUnavailable("zig cc -v printed no ld.lld command for the probe; this zig links differently")
    arguments: list[str] = []
    for argument in ours[-1][1:]:
        if argument == str(obj):
            arguments.append(OBJECT_SLOT)
        elif argument == str(executable):
            arguments.append(OUTPUT_SLOT)
        elif argument.startswith("/") and Path(argument).is_file():
            name = f"{len(arguments):03d}-{Path(argument).name}"
            shutil.copyfile(argument, runtime / name)
            arguments.append(f"{RUNTIME_SLOT}/{name}")
        else:
            arguments.append(argument)
    if OUTPUT_SLOT not in arguments:
        raise ToolchainUnavailable("zig's ld.lld command for the probe does not name its output")
    return arguments


__all__ = ["StaticLinker", "static_linker"]
