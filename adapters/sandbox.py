"""Run a tool or a test program in a child process with a wall-clock and a memory limit.

LLVM asserts, loops or exhausts memory on some pass orders, and an optimised test program may
crash or hang; each of these must become a failed evaluation with a one-line reason, never a
dead or stuck adapter (docs/design.md §7). The child gets its own process group, so a timeout kills
everything it started; output goes to temporary files and only a bounded prefix is kept.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence

# Phrases with which LLVM (`LLVM ERROR: out of memory`), C++ (`std::bad_alloc`), Python and libc
# report a failed allocation; under RLIMIT_AS this is how running out of memory shows.
_OUT_OF_MEMORY_MARKERS = (b"out of memory", b"bad_alloc", b"MemoryError", b"Cannot allocate memory")


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits for one child: wall-clock seconds, address space, and output kept."""

    time_seconds: float = 20.0
    memory_bytes: int = 2 * 1024**3
    output_bytes: int = 4 * 1024**2
    file_bytes: int = 1024**3


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What a sandboxed child did. `failure` is None on exit status 0, else a one-line reason:
    `timeout`, `out of memory`, `crash: signal 6 (SIGABRT)` or `exit 1: <first stderr line>`."""

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


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    limits: Limits | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> RunResult:
    """Run `argv` to completion or until the time limit, whichever comes first; never raises for
    anything the child does. An executable that cannot be started is reported as `exit 127`."""
    limits = limits or Limits()
    command = tuple(os.fspath(part) for part in argv)
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            child = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                process_group=0,
            )
        except OSError as exc:
            message = f"cannot run {command[0]}: {exc.strerror or exc}"
            return RunResult(command, None, b"", message.encode(), 0.0, f"exit 127: {message}")
        timed_out = False
        try:
            _limit(child.pid, limits)
            timed_out = not _wait(child, limits.time_seconds)
        finally:
            _kill_group(child.pid)  # on timeout the child; otherwise any stragglers it left behind
            child.wait()
        elapsed = time.monotonic() - started
        stdout, stderr = _head(out, limits.output_bytes), _head(err, limits.output_bytes)
    failure = _failure(child.returncode, stderr, timed_out)
    return RunResult(command, None if timed_out else child.returncode, stdout, stderr, elapsed, failure)


def _limit(pid: int, limits: Limits) -> None:
    """Set the child's limits from outside with prlimit(2), right after it was spawned.

    A `preexec_fn` would do it before exec, but it forces CPython to fork (copying the page tables of
    the evaluator) instead of vfork, which cost about 25% of every opt/llc run; the child is only just
    exec'ing when its limits land. A child that already exited is fine: there is nothing left to limit.
    """
    memory, file_bytes = limits.memory_bytes, limits.file_bytes
    try:
        resource.prlimit(pid, resource.RLIMIT_AS, (memory, memory))
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
        resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))  # a crash must not spend seconds writing a core
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


def _failure(returncode: int, stderr: bytes, timed_out: bool) -> str | None:
    if timed_out:
        return "timeout"
    if returncode == 0:
        return None
    if any(marker in stderr for marker in _OUT_OF_MEMORY_MARKERS):
        return "out of memory"
    if returncode < 0:
        number = -returncode
        try:
            name = signal.Signals(number).name
        except ValueError:
            return f"crash: signal {number}"
        return f"crash: signal {number} ({name})"
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


__all__ = ["Limits", "RunResult", "first_line", "run"]
