"""Run a tool or a test program in a child process: in a bubblewrap sandbox, with resource limits.

LLVM asserts, loops or exhausts memory on some pass orders, and an optimised test program may
crash or hang; each of these must become a failed evaluation with a one-line reason, never a
dead or stuck adapter (docs/design.md §7). A pass may also do what the participant never asked
for (instrumentation writes files, a plugin might phone home), so every child runs under
bubblewrap (`bwrap`): no network, a read-only view of the system and the toolchain plus the files
it was given, a private `/tmp` and the invocation's work directory as the only writable places.
CPU time, address space, file size and process count are limited by `prlimit` inside the
sandbox, before the tool is exec'd, so they bind its whole process tree; the wall-clock limit
is kept outside. Where bubblewrap cannot run (no user namespaces), the child runs with the same
rlimits but without isolation, after one warning line; `OPM_SANDBOX=require` refuses instead.
Output goes to temporary files and only a bounded prefix is kept.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

SANDBOX_ENV = "OPM_SANDBOX"
"""`auto` (default): bubblewrap if it works here, else rlimits only with a warning; `require`: refuse
to run any tool without bubblewrap (SandboxUnavailable)."""
MODES = ("auto", "require")

# Phrases with which LLVM (`LLVM ERROR: out of memory`), C++ (`std::bad_alloc`), Python and libc
# report a failed allocation; under RLIMIT_AS this is how running out of memory shows.
_OUT_OF_MEMORY_MARKERS = (b"out of memory", b"bad_alloc", b"MemoryError", b"Cannot allocate memory")

# The system part of the read-only view: binaries, libraries and the dynamic loader's configuration.
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_SYSTEM_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/passwd",
    "/etc/group",
    "/etc/localtime",
)
# When the adapter runs as root the kernel exempts uid 0 from RLIMIT_NPROC, so the sandboxed tree runs
# as this uid and gid instead, keeping only the right to read and write what the view shows it.
_UNPRIVILEGED_ID = 65534
_KEPT_CAPABILITIES = "+dac_override,+dac_read_search"


class SandboxUnavailable(RuntimeError):
    """The sandbox was required (`OPM_SANDBOX=require`) but bubblewrap cannot run here."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits for one child: wall-clock seconds, CPU seconds (default: twice the wall
    clock, for multi-threaded tools), address space, output kept, file size and process count
    (processes and threads of the whole sandboxed tree)."""

    time_seconds: float = 20.0
    memory_bytes: int = 2 * 1024**3
    output_bytes: int = 4 * 1024**2
    file_bytes: int = 1024**3
    cpu_seconds: int | None = None
    processes: int = 512

    def cpu_limit(self) -> int:
        return self.cpu_seconds if self.cpu_seconds is not None else max(1, math.ceil(2 * self.time_seconds))


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What a sandboxed child did. `failure` is None on exit status 0, else a one-line reason:
    `timeout` (wall clock or CPU time), `out of memory`, `crash: signal 6 (SIGABRT)` or
    `exit 1: <first stderr line>`."""

    argv: tuple[str, ...]
    returncode: int | None
    stdout: bytes
    stderr: bytes
    elapsed: float
    failure: str | None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")


@dataclasses.dataclass(frozen=True)
class Backend:
    """How children run on this machine: `bwrap` (isolated) or `rlimits` (limits only), and why."""

    kind: str
    detail: str
    bwrap: str | None = None
    prlimit: str | None = None
    setpriv: str | None = None

    @property
    def isolated(self) -> bool:
        return self.kind == "bwrap"

    def describe(self) -> str:
        """One line for reports: what protects the participant's machine from the tools it runs."""
        if self.isolated:
            return f"bubblewrap: no network, read-only toolchain, private work directory, rlimits ({self.detail})"
        return f"rlimits only, no isolation ({self.detail})"


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    limits: Limits | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    reads: Iterable[str | os.PathLike[str]] = (),
    writes: Iterable[str | os.PathLike[str]] = (),
) -> RunResult:
    """Run `argv` to completion or until the time limit, whichever comes first; never raises for
    anything the child does. An executable that cannot be started is reported as `exit 127`.

    The child sees the system, the toolchain, every existing path named in `argv`, `cwd` and `reads`,
    read-only; `writes` (directories) and a private `/tmp` are the only places it can write.
    SandboxUnavailable when the sandbox is required but bubblewrap cannot run.
    """
    limits = limits or Limits()
    command = tuple(os.fspath(part) for part in argv)
    reads, writes = tuple(reads), tuple(writes)
    used = backend()
    if not used.isolated:
        if mode() == "require":
            raise SandboxUnavailable(f"{SANDBOX_ENV}=require, but {used.detail}")
        _warn_once(used)
    launched = _launch_command(used, command, limits, cwd, env, reads, writes)
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            child = subprocess.Popen(
                launched,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                process_group=0,
            )
        except OSError as exc:
            message = f"cannot run {launched[0]}: {exc.strerror or exc}"
            return RunResult(command, None, b"", message.encode(), 0.0, f"exit 127: {message}")
        timed_out = False
        try:
            if used.prlimit is None:
                _limit(child.pid, limits)  # no prlimit(1) to set them before exec: right after spawning
            timed_out = not _wait(child, limits.time_seconds)
        finally:
            _kill_group(child.pid)  # on timeout the child; otherwise any stragglers it left behind
            child.wait()
        elapsed = time.monotonic() - started
        stdout, stderr = _head(out, limits.output_bytes), _head(err, limits.output_bytes)
    returncode = child.returncode
    if used.isolated and returncode is not None and returncode > 128 and _signal_name(returncode - 128):
        returncode = 128 - returncode  # bwrap reports a child killed by signal N as exit 128 + N
    missing = _missing_executable(used, command, returncode, stderr)
    if missing is not None:
        return RunResult(command, None, b"", missing.encode(), elapsed, f"exit 127: {missing}")
    failure = _failure(returncode, stderr, timed_out)
    return RunResult(command, None if timed_out else returncode, stdout, stderr, elapsed, failure)


# --- choosing the backend ---------------------------------------------------------------------------


def mode() -> str:
    """The sandbox mode asked for in `$OPM_SANDBOX` (`auto` when unset); an unknown value means `require`,
    since a participant who set it wanted more protection, not less."""
    value = os.environ.get(SANDBOX_ENV, "").strip().lower() or "auto"
    return value if value in MODES else "require"


@functools.cache
def backend() -> Backend:
    """The backend for this process, found once: bubblewrap if a probe run in the full sandbox works."""
    prlimit = shutil.which("prlimit")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Backend("rlimits", "bubblewrap (bwrap) is not installed", prlimit=prlimit)
    if prlimit is None:
        return Backend("rlimits", "prlimit (util-linux) is not installed", prlimit=prlimit)
    setpriv = None
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            return Backend("rlimits", "running as root and setpriv (util-linux) is not installed", prlimit=prlimit)
    version = _bwrap_version(bwrap)
    candidate = Backend("bwrap", version, bwrap=bwrap, prlimit=prlimit, setpriv=setpriv)
    true = shutil.which("true") or "/bin/true"
    with tempfile.TemporaryDirectory(prefix="opm-sandbox-probe-") as work:
        probe = _launch_command(candidate, (true,), Limits(), work, None, (), (work,))
        try:
            done = subprocess.run(probe, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Backend("rlimits", f"bubblewrap does not start: {exc}", prlimit=prlimit)
    if done.returncode != 0:
        reason = first_line(done.stderr) if done.stderr.strip() else f"exit {done.returncode}"
        return Backend("rlimits", f"bubblewrap cannot run here: {reason}", prlimit=prlimit)
    return candidate


def describe() -> str:
    """The backend's one-line description, for conformance output and evaluation reports."""
    return backend().describe()


_warned = threading.Event()


def _warn_once(used: Backend) -> None:
    if not _warned.is_set():
        _warned.set()
        print(
            f"opm-adapter: warning: tools run without a sandbox (rlimits only): {used.detail}; "
            f"install bubblewrap or set {SANDBOX_ENV}=require to refuse",
            file=sys.stderr,
            flush=True,
        )


def _bwrap_version(bwrap: str) -> str:
    try:
        done = subprocess.run([bwrap, "--version"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "bubblewrap"
    return first_line(done.stdout) if done.returncode == 0 and done.stdout.strip() else "bubblewrap"


# --- the command line -----------------------------------------------------------------------------


def _launch_command(
    used: Backend,
    command: tuple[str, ...],
    limits: Limits,
    cwd: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None,
    reads: Iterable[str | os.PathLike[str]],
    writes: Iterable[str | os.PathLike[str]],
) -> tuple[str, ...]:
    """`command` behind prlimit (rlimits set before exec) and, when isolated, behind bwrap (and, as root,
    setpriv to an unprivileged uid, so that the process count limit applies)."""
    if used.prlimit is None:
        return command
    cpu = limits.cpu_limit()
    rlimits = (
        used.prlimit,
        f"--cpu={cpu}:{cpu + 1}",  # SIGXCPU at the soft limit, SIGKILL a second later
        f"--as={limits.memory_bytes}",
        f"--fsize={limits.file_bytes}",
        "--core=0",  # a crash must not spend seconds writing a core
    )
    if not used.isolated:
        # RLIMIT_NPROC counts every process of the user outside a user namespace: no process limit here.
        return (*rlimits, "--", *command)
    rlimits = (*rlimits, f"--nproc={limits.processes}")
    inner: tuple[str, ...] = (*rlimits, "--", *command)
    if used.setpriv is not None:
        ids = str(_UNPRIVILEGED_ID)
        inner = (
            used.setpriv,
            f"--reuid={ids}",
            f"--regid={ids}",
            "--clear-groups",
            f"--inh-caps=-all,{_KEPT_CAPABILITIES}",
            f"--ambient-caps={_KEPT_CAPABILITIES}",
            f"--bounding-set=-all,{_KEPT_CAPABILITIES}",
            "--",
            *inner,
        )
    return (used.bwrap, *_bwrap_options(used, command, cwd, env, reads, writes), "--", *inner)


def _bwrap_options(
    used: Backend,
    command: tuple[str, ...],
    cwd: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None,
    reads: Iterable[str | os.PathLike[str]],
    writes: Iterable[str | os.PathLike[str]],
) -> list[str]:
    options = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    options += ["--die-with-parent", "--new-session"]
    if used.setpriv is None:
        options.append("--unshare-user")
    else:  # as root: no user namespace; keep just what setpriv needs to become the unprivileged uid
        for capability in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH"):
            options += ["--cap-add", capability]
    for directory in _SYSTEM_DIRS:
        if os.path.islink(directory):
            options += ["--symlink", os.readlink(directory), directory]
        elif os.path.isdir(directory):
            options += ["--ro-bind", directory, directory]
    for path in _SYSTEM_FILES:
        options += ["--ro-bind-try", path, path]
    options += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    writable = {os.path.abspath(os.fspath(path)) for path in writes}
    readable = set(_toolchain_paths(command, env))
    readable.update(os.path.abspath(os.fspath(path)) for path in reads)
    readable.update(_named_paths(command, cwd))
    if cwd is not None:
        readable.add(os.path.abspath(os.fspath(cwd)))
    for path in _outermost(path for path in readable - writable if os.path.exists(path)):
        options += ["--ro-bind", path, path]
    for path in sorted(writable, key=lambda path: (path.count(os.sep), path)):  # parents first
        options += ["--bind", path, path]
    # Always a directory of the view: else bwrap falls back to $HOME, and zig then names its cache by
    # relative paths (`.cache/zig/...`) in what it prints.
    first_writable = next((os.path.abspath(os.fspath(path)) for path in writes), None)
    options += ["--chdir", os.path.abspath(os.fspath(cwd)) if cwd is not None else first_writable or "/tmp"]
    return options


def _outermost(paths: Iterable[str]) -> list[str]:
    """The paths not inside another of them: a read-only bind already shows what lies below it."""
    kept: list[str] = []
    for path in sorted(set(paths), key=lambda path: (path.count(os.sep), path)):
        if not any(path == parent or path.startswith(parent.rstrip(os.sep) + os.sep) for parent in kept):
            kept.append(path)
    return kept


def _toolchain_paths(command: tuple[str, ...], env: Mapping[str, str] | None) -> list[str]:
    """The toolchain's part of the view: this Python (the cranelift worker, `python -m ziglang`) with its
    site-packages (the LLVM and zig wheels), the adapter package, and the install prefix of the tool."""
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).resolve().parent)]
    paths.append(str(Path(os.path.realpath(sys.executable)).parent.parent))
    adapter_root = str(Path(__file__).resolve().parent.parent)
    pythonpath = (env if env is not None else os.environ).get("PYTHONPATH", "")
    paths += [entry for entry in pythonpath.split(os.pathsep) if entry and os.path.abspath(entry) != adapter_root]
    executable = shutil.which(command[0]) if command else None
    if executable is not None:
        real = Path(os.path.realpath(executable))
        paths += [str(Path(executable).parent), str(real.parent.parent if real.parent.name == "bin" else real.parent)]
    return [os.path.abspath(path) for path in paths if path]


def _named_paths(command: tuple[str, ...], cwd: str | os.PathLike[str] | None) -> list[str]:
    """The existing files and directories named by absolute path on the command line: what the tool was
    asked to read. (Relative names resolve under `cwd`, which is in the view.)"""
    return [os.path.abspath(part) for part in command if part.startswith(os.sep) and os.path.exists(part)]


def _missing_executable(used: Backend, command: tuple[str, ...], returncode: int | None, stderr: bytes) -> str | None:
    """prlimit reports an executable it cannot exec as exit 126/127 with `failed to execute`: the same
    `exit 127: cannot run ...` a direct spawn would give."""
    if used.prlimit is None or returncode not in (126, 127) or b"failed to execute" not in stderr:
        return None
    return f"cannot run {command[0]}: {first_line(stderr).rpartition(': ')[2]}"


# --- limits, waiting and reporting ----------------------------------------------------------------


def _limit(pid: int, limits: Limits) -> None:
    """Set the child's limits from outside with prlimit(2), right after it was spawned: only where
    prlimit(1) is missing, so they could not be set before exec (the child is only just exec'ing)."""
    memory, file_bytes, cpu = limits.memory_bytes, limits.file_bytes, limits.cpu_limit()
    try:
        resource.prlimit(pid, resource.RLIMIT_AS, (memory, memory))
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
        resource.prlimit(pid, resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))
    except ProcessLookupError:
        pass


def _wait(child: subprocess.Popen, timeout: float) -> bool:
    """Wait for the child to exit within `timeout` seconds; False on timeout.

    `Popen.wait(timeout=...)` polls with sleeps of up to 50 ms, about 25 ms lost per run; a pidfd
    becomes readable the moment the child exits (Linux 5.3+; elsewhere, the polling wait).
    """
    try:
        descriptor = os.pidfd_open(child.pid)
    except (AttributeError, OSError):
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        ready, _, _ = select.select([descriptor], [], [], timeout)
    finally:
        os.close(descriptor)
    return bool(ready)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _head(stream, limit: int) -> bytes:
    stream.seek(0)
    return stream.read(limit)


def _signal_name(number: int) -> str | None:
    try:
        return signal.Signals(number).name
    except ValueError:
        return None


def _failure(returncode: int, stderr: bytes, timed_out: bool) -> str | None:
    if timed_out:
        return "timeout"
    if returncode == 0:
        return None
    if returncode == -signal.SIGXCPU:
        return "timeout"  # the CPU-time limit: a hang that spins rather than sleeps
    if any(marker in stderr for marker in _OUT_OF_MEMORY_MARKERS):
        return "out of memory"
    if returncode < 0:
        number = -returncode
        name = _signal_name(number)
        return f"crash: signal {number} ({name})" if name else f"crash: signal {number}"
    return f"exit {returncode}: {first_line(stderr)}"


def first_line(text: bytes | str, limit: int = 200) -> str:
    """The first non-blank line of a tool's message, shortened: what a one-line report shows."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 3] + "..."
    return "no output"


__all__ = [
    "MODES",
    "SANDBOX_ENV",
    "Backend",
    "Limits",
    "RunResult",
    "SandboxUnavailable",
    "backend",
    "describe",
    "first_line",
    "mode",
    "run",
]
