"""adapters.sandbox: crashes, hangs and memory hogs in a child never take the caller with them."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

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
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    result = python(code, time_seconds=1.0)
    assert result.failure == "timeout"
    grandchild = int(result.stdout.split()[0])
    time.sleep(0.2)
    status = Path(f"/proc/{grandchild}/status")
    assert not status.exists() or "\nState:\tZ" in status.read_text()  # gone, or a zombie awaiting init


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
