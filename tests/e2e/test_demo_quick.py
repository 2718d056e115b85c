"""`manage.py demo --quick` as an operator runs it: a fresh database, the site served over TLS, four real
`opm-adapter run` processes, a promoted plan, an exported and backtested ledger, in under a minute."""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_quick_demo_runs_a_federation_end_to_end(tmp_path):
    env = {
        **os.environ,
        "OPM_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    }
    migrated = manage("migrate", "--no-input", env=env, timeout=300)
    assert migrated.returncode == 0, migrated.stderr
    started = time.monotonic()
    demo = manage("demo", "--quick", env=env, timeout=300)
    elapsed = time.monotonic() - started
    assert demo.returncode == 0, demo.stderr[-3000:]
    out = demo.stdout
    assert "Approve release opm-adapter-synthetic" in out and "accepted" in out
    assert out.count("enrolment key issued") == 4
    assert "adapters stopped: {'acme': 0, 'globex': 0, 'initech': 0, 'umbrella': 0}" in out
    assert "v1 from round" in out and "federated marginal gain" in out
    assert "held-back" in out and "reproduced: attestation written" in out and "signature valid" in out
    assert "bash run.sh serve" in out
    assert elapsed < 90, f"demo --quick took {elapsed:.0f} s"
    for name in ("acme", "globex", "initech", "umbrella"):
        log = (tmp_path / "var" / "demo" / "synthetic" / f"{name}.log").read_text()
        assert "enrolled deployment" in log and "signal accepted" in log, log[-2000:]

    # Again on the same database: the adapters keep their keys, the rounds continue from the promoted plan.
    again = manage("demo", "--quick", env=env, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "reproduced: attestation written" in again.stdout and "signature valid" in again.stdout
