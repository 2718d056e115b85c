"""The demo's federation (docs/design.md §8): the site served over TLS on a free local port, and one real
`opm-adapter run` process per participant, each holding its own private corpus and key file.

Everything here is process plumbing; the market logic stays in services and the orchestrator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
from django.conf import settings

from adapters.drivers.synthetic import SUFFIX, SyntheticProblem

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def adapter_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "adapters.cli", *args]


def run_adapter(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    """Run an `opm-adapter` subcommand to completion; its stdout, or RuntimeError with its last stderr line."""
    done = subprocess.run(
        adapter_command(*args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise RuntimeError(f"opm-adapter {args[0]} failed: {last}")
    return done.stdout


@contextlib.contextmanager
def served_site(log_path: Path) -> Iterator[str]:
    """gunicorn with TLS (the certificate from `manage.py tls ensure`) on a free port; yields its URL."""
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "opm_site.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--certfile",
                str(settings.OPM_TLS_CERT),
                "--keyfile",
                str(settings.OPM_TLS_KEY),
                "--workers",
                "2",
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(url, server, log_path)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def _wait_healthy(url: str, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the site did not start; see {log_path}")
        try:
            if httpx.get(f"{url}/api/v1/health", verify=str(settings.OPM_TLS_CERT), timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the site did not answer within 60 s; see {log_path}")


@dataclasses.dataclass
class Member:
    """One participant of the demo: its corpus, its key file, its adapter process."""

    name: str
    corpus: Path
    key_file: Path
    log: Path
    process: subprocess.Popen | None = None
    log_offset: int = 0
    """Where this run's output starts in the (appended) log."""

    def said(self, text: str) -> bool:
        """Whether the adapter wrote `text` to its log during this run."""
        try:
            return text.encode() in self.log.read_bytes()[self.log_offset :]
        except FileNotFoundError:
            return False

    @property
    def problem(self) -> str:
        return f"{self.name}-private"


def start_adapters(
    members: Sequence[Member],
    *,
    url: str,
    problem_class: str,
    release: int,
    enrolment_keys: dict[str, str],
    env: dict[str, str],
) -> None:
    """Start one `opm-adapter run` per member; each enrols itself with its participant's enrolment key the
    first time (the key arrives through the environment, never on a command line)."""
    for member in members:
        member_env = {**env, "OPM_ENROLMENT_KEY": enrolment_keys.get(member.name, "")}
        member.log_offset = member.log.stat().st_size if member.log.exists() else 0
        with member.log.open("a") as log:
            member.process = subprocess.Popen(
                adapter_command(
                    "run",
                    "--server",
                    url,
                    "--ca-bundle",
                    str(settings.OPM_TLS_CERT),
                    "--key-file",
                    str(member.key_file),
                    "--release",
                    str(release),
                    "--corpus",
                    str(member.corpus),
                    "--problem",
                    member.problem,
                    "--problem-class",
                    problem_class,
                    "--spend-file",
                    str(member.key_file.with_suffix(".spend.json")),
                    "--local-epsilon",
                    "1",
                    "--min-noise-multiplier",
                    "10",
                    "--idle-max",
                    "1",
                ),
                cwd=ROOT,
                env=member_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )


def stop_adapters(members: Sequence[Member], timeout: float = 60) -> dict[str, int | None]:
    """SIGTERM each adapter (it finishes or fails its current task, never leaves it leased) and wait."""
    for member in members:
        if member.process is not None and member.process.poll() is None:
            member.process.send_signal(signal.SIGTERM)
    codes: dict[str, int | None] = {}
    for member in members:
        if member.process is None:
            continue
        try:
            codes[member.name] = member.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            member.process.kill()
            codes[member.name] = None
    return codes


def write_synthetic_variants(directory: Path, first: int, count: int) -> Path:
    """A synthetic corpus: variants `first`.. of the default problem (disjoint ranges make disjoint corpora)."""
    problem = SyntheticProblem()
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(first, first + count):
        path = directory / f"variant-{index:04d}{SUFFIX}"
        if not path.exists():
            path.write_text(json.dumps(problem.variant(index).to_json()) + "\n")
    return directory


def adapter_env(cache: Path) -> dict[str, str]:
    return {**os.environ, "OPM_ADAPTER_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
