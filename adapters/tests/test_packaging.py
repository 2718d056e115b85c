"""The wheel: built with `python -m build`, installed in a fresh venv, it runs `opm-adapter conformance`
without the repository (the bundled corpus and everything else conformance reads ship in it).

Slow (about a minute: a build, a venv, the dependencies from pip's cache), so marked `packaging`; it runs
in CI with the rest. The venv is made afresh at one fixed path under the temporary directory, since zig
keys its cached C runtime by where the ziglang wheel lives: a new path each run would rebuild musl.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV = Path(tempfile.gettempdir()) / "opm-packaging-test-venv"

pytestmark = pytest.mark.packaging


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """One packaging test at a time per machine: they share the venv's path."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would put the repository on the installed adapter's path."""
    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    return {**env, **extra}


def test_the_wheel_runs_conformance_without_the_repository(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)], env=_clean_env())
    [wheel] = dist.glob("openpassmarket-*.whl")
    with _exclusive(Path(tempfile.gettempdir()) / "opm-packaging-test.lock"):
        shutil.rmtree(VENV, ignore_errors=True)
        _run([sys.executable, "-m", "venv", "--without-pip", str(VENV)])
        python = VENV / "bin" / "python"
        _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(wheel)], env=_clean_env())

        outside = tmp_path / "elsewhere"
        outside.mkdir()
        env = _clean_env(OPM_ADAPTER_CACHE=str(tmp_path / "adapter-cache"))
        where = _run(
            [str(python), "-c", "import adapters, sys; print(adapters.__file__); print(sys.path)"], cwd=outside, env=env
        )
        module_file, search_path = where.stdout.splitlines()
        assert Path(module_file).is_relative_to(VENV)
        assert str(REPO) not in search_path

        done = _run([str(VENV / "bin" / "opm-adapter"), "conformance", "--toolchain", "llvm"], cwd=outside, env=env)
    assert done.stdout.splitlines()[-1].endswith("llvm: passed"), done.stdout
    assert done.stdout.startswith("sandbox: ")
