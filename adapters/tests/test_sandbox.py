"""adapters.sandbox: crashes, hangs and memory hogs in a child never take the caller with them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from adapters import sandbox
from adapters.sandbox import Limits


def python(code: str, **limits: float | int) -> sandbox.RunResult:
    return sandbox.run([sys.executable, "-c", code], limits=Limits(**limits))


def test_a_clean_run_captures_output() -> None:
    result = python("import sys; print('out'); print('err', file=sys.stderr)")
    assert (result.ok, result.returncode, result.failure) == (True, 0, None)
    assert (result.stdout, result.stderr) == (b"out\n", b"err\n")


def test_an_aborting_child_is_a_crash_with_its_signal() -> None:
    result = python("import os; os.abort()")
    assert result.returncode == -6
    assert result.failure == "crash: signal 6 (SIGABRT)"


def test_a_hanging_child_is_killed_at_the_time_limit() -> None:
    started = time.monotonic()
    result = python("import time; time.sleep(60)", time_seconds=0.5)
    assert result.failure == "timeout"
    assert result.returncode is None
    assert time.monotonic() - started < 5


def test_a_timeout_kills_the_whole_process_group() -> None:
    token = f"61.{os.getpid()}{time.monotonic_ns() % 100000}"  # a sleep nobody else runs: found in /proc by it
    code = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen(['sleep', '{token}'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    result = python(code, time_seconds=1.0)
    assert result.failure == "timeout"
    assert result.stdout.split()  # the grandchild was started (its pid is the sandbox's own numbering)
    time.sleep(0.2)
    assert not [status for status in _processes_running(token) if "\nState:\tZ" not in status]


def _processes_running(token: str) -> list[str]:
    """The /proc status of live processes whose command line contains `token` (zombies included)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and token.encode() in (entry / "cmdline").read_bytes():
                found.append((entry / "status").read_text())
        except OSError:
            pass
    return found


def test_a_memory_hog_runs_out_of_memory() -> None:
    result = python("block = bytearray(3 * 1024**3)", memory_bytes=512 * 1024**2)
    assert result.failure == "out of memory"


def test_an_error_exit_reports_the_first_stderr_line() -> None:
    result = python("import sys; sys.stderr.write('\\nboom: bad input\\ndetails\\n'); sys.exit(3)")
    assert result.failure == "exit 3: boom: bad input"


def test_captured_output_is_bounded() -> None:
    result = python("import sys; sys.stdout.write('x' * 5_000_000)", output_bytes=1000)
    assert result.ok and result.stdout == b"x" * 1000


def test_a_missing_executable_is_a_failure_not_an_exception(tmp_path: Path) -> None:
    result = sandbox.run([tmp_path / "no-such-tool"])
    assert result.failure is not None and result.failure.startswith("exit 127: cannot run ")


def test_the_working_directory_and_environment_are_passed(tmp_path: Path) -> None:
    code = "import os; print(os.getcwd(), os.environ.get('OPM_PROBE'))"
    result = sandbox.run([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "OPM_PROBE": "42"})
    assert result.stdout.decode().split() == [str(tmp_path), "42"]


# --- isolation (bubblewrap) ---------------------------------------------------------------------------

needs_bwrap = pytest.mark.skipif(not sandbox.backend().isolated, reason=f"no bubblewrap: {sandbox.backend().detail}")


@needs_bwrap
def test_a_sandboxed_child_cannot_open_a_network_connection() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.5)
        port = server.getsockname()[1]
        code = (
            "import socket, sys\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            "except OSError as exc:\n"
            "    print('refused', type(exc).__name__); sys.exit(0)\n"
            "print('connected')\n"
        )
        result = python(code)
        with pytest.raises(TimeoutError):
            server.accept()
    assert result.ok and result.stdout.startswith(b"refused"), result


@needs_bwrap
def test_a_sandboxed_child_writes_only_in_its_work_directory(tmp_path: Path) -> None:
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    code = (
        "import sys\n"
        "open(sys.argv[1] + '/made', 'w').write('inside')\n"
        "for target in (sys.argv[2] + '/escaped', sys.argv[3] + '/escaped'):\n"
        "    try:\n"
        "        open(target, 'w').write('outside')\n"
        "        print('wrote', target)\n"
        "    except OSError as exc:\n"
        "        print('refused', type(exc).__name__)\n"
    )
    repo_adapters = Path(sandbox.__file__).parent  # in the read-only toolchain view
    result = sandbox.run(
        [sys.executable, "-c", code, str(work), str(outside), str(repo_adapters)], reads=[outside], writes=[work]
    )
    assert result.ok, result
    assert (work / "made").read_text() == "inside"
    assert not (outside / "escaped").exists() and not (repo_adapters / "escaped").exists()
    assert result.stdout.decode().split("\n")[:2] == ["refused OSError", "refused OSError"]


@needs_bwrap
def test_a_sandboxed_child_cannot_read_outside_its_view(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the participant's private code")
    code = (
        "import sys\n"
        "try:\n"
        "    print(open(sys.argv[1]).read())\n"
        "except OSError as exc:\n"
        "    print('refused', type(exc).__name__)\n"
    )
    named_elsewhere = sandbox.run([sys.executable, "-c", code.replace("sys.argv[1]", repr(str(secret)))])
    assert named_elsewhere.stdout.strip() == b"refused FileNotFoundError"
    shown = sandbox.run([sys.executable, "-c", code, str(secret)])  # a file named on the command line is readable
    assert shown.stdout.strip() == b"the participant's private code"


@needs_bwrap
def test_a_spinning_child_is_killed_by_its_cpu_time_limit() -> None:
    started = time.monotonic()
    result = python("while True: pass", time_seconds=60.0, cpu_seconds=1)
    assert (result.failure, result.returncode) == ("timeout", -signal.SIGXCPU)
    assert time.monotonic() - started < 30


@needs_bwrap
def test_a_sandboxed_memory_hog_runs_out_of_memory() -> None:
    result = python("block = bytearray(3 * 1024**3)", memory_bytes=512 * 1024**2)
    assert result.failure == "out of memory"


@needs_bwrap
def test_a_fork_bomb_stops_at_the_process_limit() -> None:
    code = (
        "import os, sys, time\n"
        "children = 0\n"
        "try:\n"
        "    for _ in range(64):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(5); os._exit(0)\n"
        "        children += 1\n"
        "except OSError as exc:\n"
        "    print('fork refused after', children, type(exc).__name__, flush=True); sys.exit(3)\n"
        "print('forked', children)\n"
    )
    result = python(code, processes=8)
    assert result.failure is not None and result.failure.startswith("exit 3"), result
    refused_after = int(result.stdout.split()[3])
    assert refused_after < 8


def test_without_bubblewrap_the_fallback_warns_once_and_keeps_the_limits(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    fallback = sandbox.Backend("rlimits", "bubblewrap cannot run here: test", prlimit=shutil.which("prlimit"))
    monkeypatch.setattr(sandbox, "backend", lambda: fallback)
    monkeypatch.setattr(sandbox, "_warned", threading.Event())
    monkeypatch.delenv(sandbox.SANDBOX_ENV, raising=False)
    assert python("print('one')").ok
    hog = python("block = bytearray(3 * 1024**3)", memory_bytes=512 * 1024**2)
    spin = python("while True: pass", time_seconds=60.0, cpu_seconds=1)
    warnings = [line for line in capfd.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "without a sandbox" in warnings[0] and "test" in warnings[0]
    assert hog.failure == "out of memory" and spin.failure == "timeout"
    assert fallback.describe().startswith("rlimits only, no isolation (bubblewrap cannot run here")


def test_a_required_sandbox_refuses_to_run_without_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    fallback = sandbox.Backend("rlimits", "bubblewrap (bwrap) is not installed", prlimit=shutil.which("prlimit"))
    monkeypatch.setattr(sandbox, "backend", lambda: fallback)
    monkeypatch.setenv(sandbox.SANDBOX_ENV, "require")
    with pytest.raises(sandbox.SandboxUnavailable, match="not installed"):
        python("print('never')")
