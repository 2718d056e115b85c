"""Signals per second end to end (API-key auth, Ed25519 check, task checks, ledger append) against gunicorn on
PostgreSQL, and in the same run a bare DRF endpoint (`GET /api/v1/health`) on the same server as the floor.

Run: .venv/bin/python benchmarks/api.py [--signals 3000] [--workers 4] [--clients 8]
Writes benchmarks/results/api.json. Client and server share this machine's cores: the ratio to the floor,
measured side by side, is the figure that counts.
"""

import argparse
import base64
import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psycopg
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_database(env: dict, tasks: int) -> tuple[str, list[int], Ed25519PrivateKey]:
    """Migrate, then create an approved release, a privacy policy, a deployment and `tasks` leased tasks."""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.utils import timezone

    from governance.policy_schemas import DEFAULT_DOCUMENTS
    from governance.services import policy_activate, policy_create
    from orchestration.models import EvaluationTask, LocalProblem, Participant, Plan
    from orchestration.services import deployment_enrol, tasks_lease
    from registry.contract_defs import ADAPTER_CONTRACT_SCHEMAS
    from registry.models import PassSpec
    from registry.services import contract_create, contract_mark_approved, release_submit, release_transition

    policy_activate(
        policy=policy_create(
            kind="privacy", document=DEFAULT_DOCUMENTS["privacy"] | {"epsilon": 50.0}, created_by=None
        ),
        proposal=None,
        actor="bench",
    )
    contract_mark_approved(
        contract=contract_create(name="opm-adapter", version="2.0.0", message_schemas=ADAPTER_CONTRACT_SCHEMAS)
    )
    PassSpec.objects.create(
        toolchain="llvm", name="gvn", kind="function", description="d", toolchain_version="22", synced_at=timezone.now()
    )
    manifest = {
        "name": "bench",
        "version": "1.0.0",
        "toolchain": "llvm",
        "toolchain_version": "22.1.8",
        "artifact_digest": "sha256:" + "0" * 64,
        "contracts": ["opm-adapter@2.0.0"],
        "passes": ["gvn"],
    }
    release = release_submit(manifest=manifest, vendor="bench", actor="bench")
    release_transition(release=release, to_state="in_review", actor="bench")
    release_transition(release=release, to_state="approved", actor="bench")
    signing = Ed25519PrivateKey.generate()
    public = signing.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    participant = Participant.objects.create(name="bench", display_name="Bench")
    deployment, key = deployment_enrol(participant=participant, release=release, public_key=public, label="main")
    problem = LocalProblem.objects.create(
        participant=participant,
        deployment=deployment,
        handle="corpus",
        problem_class="llvm/text-bytes",
        toolchain="llvm",
        corpus_size=250,
        commitment="ab" * 32,
    )
    plan = Plan.objects.create(toolchain="llvm", body={"toolchain": "llvm", "passes": []}, content_hash="cd" * 32)
    EvaluationTask.objects.bulk_create(
        [
            EvaluationTask(plan=plan, local_problem=problem, noise_multiplier=1000.0, clip_bound=0.1)
            for _ in range(tasks)
        ]
    )
    leased = []
    while len(leased) < tasks:
        leased += [t.pk for t in tasks_lease(deployment=deployment, limit=50, lease=dt.timedelta(hours=2))]
    return key, leased, signing


def cpu_seconds(server_pid: int, database: str) -> dict[str, float]:
    """CPU seconds used so far by the gunicorn workers, the database's backends and this (client) process,
    from /proc: where a request's cost goes, since all three share the machine's cores."""
    tick = os.sysconf("SC_CLK_TCK")

    def of(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / tick  # utime, stime

    workers = [int(p) for p in Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()]
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        backends = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])]
    usage = os.times()
    return {
        "server": sum(map(of, workers)),
        "database": sum(map(of, backends)),
        "client": usage.user + usage.system,
    }


def cpu_per_request(before: dict, after: dict, requests: int) -> dict[str, float]:
    return {part: round((after[part] - before[part]) / requests * 1000, 2) for part in before}


def run_clients(url: str, requests: list, clients: int) -> tuple[float, int]:
    """Send the prepared requests over `clients` keep-alive connections; returns (seconds, failures)."""
    failures = [0]
    lock = threading.Lock()
    chunks = [requests[i::clients] for i in range(clients)]

    def worker(chunk):
        with httpx.Client(base_url=url, timeout=30) as client:
            for method, path, headers, body in chunk:
                response = client.request(method, path, headers=headers, content=body)
                if response.status_code >= 300:
                    with lock:
                        failures[0] += 1

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, failures[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client connections")
    args = parser.parse_args()

    name = f"opm_bench_api_{os.getpid()}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    var = tempfile.mkdtemp()
    env = {
        **os.environ,
        "DATABASE_URL": f"{PG}/{name}",
        "OPM_VAR_DIR": var,
        "DJANGO_SETTINGS_MODULE": "opm_site.settings",
        "OPM_THROTTLE_DEPLOYMENT": "1000000/minute",
        "OPM_THROTTLE_PUBLIC": "1000000/minute",
        "OPM_CHECKPOINT_INTERVAL": "60",
    }
    server = None
    try:
        key, task_ids, signing = setup_database(env, args.signals)
        port = free_port()
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "opm_site.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(url + "/api/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        signals = []
        for task in task_ids:
            sensitivity = 2 * 0.1 / 250
            body = rfc8785.dumps(  # the full signed statement of contract opm-adapter 2.0
                {
                    "task": task,
                    "round": None,
                    "problem": "corpus",
                    "phase": "",
                    "plan": "cd" * 32,
                    "base": None,
                    "statistic": "clipped_gain",
                    "n": 250,
                    "mechanism": "gaussian",
                    "parameters": {
                        "noise_multiplier": 1000.0,
                        "clip_bound": 0.1,
                        "std": 1000.0 * sensitivity,
                        "sensitivity": sensitivity,
                    },
                    "value": 0.01,
                }
            )
            headers = {
                "Authorization": f"Api-Key {key}",
                "Content-Type": "application/json",
                "X-OPM-Signature": base64.b64encode(signing.sign(body)).decode(),
            }
            signals.append(("POST", "/api/v1/signals", headers, body))
        floor_requests = [("GET", "/api/v1/health", {}, None)] * args.signals
        run_clients(url, floor_requests[:200], args.clients)  # warm-up
        run_clients(url, signals[:1], 1)  # opens the workers' database connections before counting
        signals = signals[1:]
        cpu = [cpu_seconds(server.pid, name)]
        floor_s, floor_fail = run_clients(url, floor_requests, args.clients)
        cpu.append(cpu_seconds(server.pid, name))
        signal_s, signal_fail = run_clients(url, signals, args.clients)
        cpu.append(cpu_seconds(server.pid, name))
        floor_cpu = cpu_per_request(cpu[0], cpu[1], len(floor_requests))
        signal_cpu = cpu_per_request(cpu[1], cpu[2], len(signals))
        floor_rate, signal_rate = len(floor_requests) / floor_s, len(signals) / signal_s
        ratio = signal_rate / floor_rate
        print(f"bare DRF endpoint (floor): {floor_rate:8.0f} requests/s  ({floor_fail} failures)")
        print(f"signals end to end:        {signal_rate:8.0f} signals/s   ({signal_fail} failures)")
        print(f"CPU ms per request (floor):  {floor_cpu}")
        print(f"CPU ms per request (signal): {signal_cpu}")
        print(f"ratio: {ratio:.0%} of the floor (target >= 40%): {'met' if ratio >= 0.4 else 'MISSED'}")
        out = REPO / "benchmarks" / "results" / "api.json"
        out.write_text(
            json.dumps(
                {
                    "benchmark": "api",
                    "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                    "parameters": vars(args),
                    "floor_requests_per_s": round(floor_rate, 1),
                    "signals_per_s": round(signal_rate, 1),
                    "ratio": round(ratio, 3),
                    "failures": {"floor": floor_fail, "signals": signal_fail},
                    "cpu_ms_per_request": {"floor": floor_cpu, "signal": signal_cpu},
                    "target_met": ratio >= 0.4 and signal_fail == 0,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"wrote {out.relative_to(REPO)}")
    finally:
        if server:
            server.terminate()
            server.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
