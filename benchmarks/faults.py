"""Fault campaign: the market's invariants under crashes, restarts, stale leases and forged signals.

Everything runs for real on this machine: a private PostgreSQL cluster (initdb into a temporary directory, its
own port and socket, run as the `postgres` user, so that it can be killed without touching any other server),
the site under gunicorn with several workers, three participants' `opm-adapter run` processes evaluating plans
with LLVM on small corpora of the bundled programs, and the orchestrator in its own process. Injected:

  worker_kill       kill -9 of gunicorn workers, repeatedly, while clients hammer leases, signed signals and
                    board votes (every one a ledger append); lost answers are retried as an adapter would
  adapter_kill      kill -9 of an adapter (and its compiler children) holding a lease in a running round
  postgres_restart  kill -9 of the whole PostgreSQL cluster while a round waits for signals, then a restart
  expired_leases    a queue of leases left to expire, then requeued by two expiry sweeps at once
  signal_forgery    replayed, tampered, wrongly signed and cross-deployment signals

After each fault: `manage.py ledger verify` passes; the log has no gap and no fork (the checkpoint issued
before the fault is consistent with the one after, checked over the public API with the client's verifier);
every budget equals the sum of its charges in the ledger, never above its limit and never lower than before
(no refund); no vote counted twice (one row and one ledger entry per member and proposal, and every decided
tally equals the votes cast before the decision); one signal at most per task; every round finished or
stopped with its reason; and every write a client saw acknowledged is still there (data lost: the target is
none). Finally the orchestrator runs another round, which must close.

Run: .venv/bin/python benchmarks/faults.py [--hammer-seconds 40] [--workers 3] [--expired 1000]
Writes benchmarks/results/faults.json and prints a summary table (a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import datetime as dt
import json
import os
import platform
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import rfc8785  # noqa: E402

from adapters import privacy  # noqa: E402
from adapters.sdk import ApiError, MarketClient, Task  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "faults.json"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PROBLEM_CLASS = "llvm/text-bytes"
HAMMER_CLASS = "llvm/fault-hammer"  # the load generator's own class, so rounds never dispatch to it
BOARD = ["ada", "barbara", "grace", "frances", "edsger", "alan"]
PARTICIPANTS = {  # three bundled programs each, disjoint, none of them in the public corpus
    "acme": ("gamma", 0),
    "globex": ("gamma", 3),
    "initech": ("delta", 0),
}
PRIVATE_PROGRAMS = 3
PUBLIC_PROGRAMS = 6  # the first six of the bundled `alpha` subset
PRIVACY = {
    "epsilon": 8.0,
    "delta": 1e-6,
    "clip_bound": 0.05,
    "min_noise_multiplier": 5.0,
    "participant_may_tighten": True,
}
ORCHESTRATION = {
    "min_margin": 0.0,
    "min_participants": 2,
    "confidence": 0.95,
    "shortlist_size": 2,
    "public_budget": 8,
    "portfolio_size": 8,
    "pool_budget": 3,
    "pool_strategy": "random",
    "max_noise_multiplier": 40.0,
}
ADAPTER_LEASE_SECONDS = 15
ACCEPTED = re.compile(r"task (\d+): signal accepted(?: \(already accepted earlier\))?, ledger entry (\d+)")
HAMMER_NOISE = 1000.0
HAMMER_N = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- processes ---------------------------------------------------------------------------------------------


class PrivatePostgres:
    """A throw-away PostgreSQL 15 cluster in `root`, run as the `postgres` user in its own process group, so
    that kill -9 reaches the postmaster and every backend at once (a machine crash, as far as the database
    can tell) and nothing else."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.data, self.socket_dir = root / "data", root / "socket"
        self.process: subprocess.Popen | None = None
        self.log_path = root / "postgres.log"

    def init(self) -> None:
        self.socket_dir.mkdir(parents=True)
        shutil.chown(self.root, "postgres", "postgres")
        shutil.chown(self.socket_dir, "postgres", "postgres")
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
            user="postgres",
            group="postgres",
            cwd=self.root,
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        with self.log_path.open("a") as out:
            self.process = subprocess.Popen(
                [
                    str(PG_BIN / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.socket_dir),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "max_connections=60",
                ],
                user="postgres",
                group="postgres",
                process_group=0,
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120  # crash recovery replays the WAL first
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited; see {self.log_path}")
            done = subprocess.run(
                [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-d", "postgres"],
                capture_output=True,
            )
            if done.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"postgres did not accept connections in 120 s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL to the postmaster and all its backends."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        deadline = time.monotonic() + 30  # backends of the group go with it; wait until none is left
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


class Site:
    """gunicorn over plain HTTP on a free local port (TLS adds nothing to these faults)."""

    def __init__(self, env: dict[str, str], workers: int, log_path: Path) -> None:
        self.env, self.workers, self.log_path = env, workers, log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = log_path.with_name("access.log")
        self.process: subprocess.Popen | None = None

    def count_status(self, status: int, since: int = 0) -> int:
        """Answers with this status in the access log (its lines end with the status and the size)."""
        with self.access_log.open("rb") as log_file:
            log_file.seek(since)
            return sum(line.split()[-2:-1] == [str(status).encode()] for line in log_file)

    def start(self) -> None:
        self.access_log.touch()
        with self.log_path.open("a") as out:
            self.process = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("gunicorn")),
                    "opm_site.wsgi",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    str(self.workers),
                    "--timeout",
                    "60",
                    "--access-logfile",
                    str(self.access_log),
                    "--access-logformat",
                    "%(m)s %(U)s %(s)s %(B)s",
                ],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/v1/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except FileNotFoundError:
            return []

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Adapter:
    """One participant's `opm-adapter run` in its own session (kill -9 reaches its compiler children too)."""

    def __init__(self, name: str, corpus: Path, key_file: Path, log_path: Path) -> None:
        self.name, self.corpus, self.key_file, self.log_path = name, corpus, key_file, log_path
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, url: str, release: int, enrolment_key: str, env: dict[str, str]) -> None:
        with self.log_path.open("a") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "adapters.cli",
                    "run",
                    "--server",
                    url,
                    "--insecure-http",
                    "--key-file",
                    str(self.key_file),
                    "--release",
                    str(release),
                    "--corpus",
                    str(self.corpus),
                    "--problem",
                    f"{self.name}-private",
                    "--problem-class",
                    PROBLEM_CLASS,
                    "--lease-seconds",
                    str(ADAPTER_LEASE_SECONDS),
                    "--idle-max",
                    "1",
                ],
                cwd=REPO,
                env={**env, "OPM_ENROLMENT_KEY": enrolment_key},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


# --- the campaign's record ---------------------------------------------------------------------------------


class Record:
    def __init__(self) -> None:
        self.faults: collections.Counter[str] = collections.Counter()
        self.checks: list[dict[str, Any]] = []
        self.lost: list[dict[str, Any]] = []
        self.observations: dict[str, dict[str, Any]] = collections.defaultdict(dict)
        self.started = time.monotonic()

    def check(self, after: str, name: str, passed: bool, detail: str = "") -> None:
        self.checks.append({"after": after, "check": name, "passed": bool(passed), "detail": detail})
        log(f"  {'ok  ' if passed else 'FAIL'} {name}{': ' + detail if detail else ''}")


# --- Django side (setup and checks run in this process, against the private cluster) -----------------------


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def decide(proposer, voters, **target) -> None:
    from governance import services as gs

    proposal = gs.proposal_open(proposer=proposer, **target)
    for voter in voters:
        if proposal.status != "open":
            break
        gs.proposal_vote(proposal=proposal, voter=voter, choice="yes")
    if proposal.status != "accepted":
        raise RuntimeError(f"proposal #{proposal.pk} is {proposal.status}")


def setup_market(passwords: dict[str, str]) -> dict[str, Any]:
    """The board, the genesis governance policy, the approved contract and policies, an approved LLVM release,
    the adapters' participants (enrolment keys) and the load generator's deployment."""
    from django.core.management import call_command
    from django.utils import timezone

    from adapters.contract import build_manifest
    from adapters.drivers import get_driver
    from governance import services as gs
    from governance.policy_schemas import DEFAULT_DOCUMENTS
    from orchestration.services import deployment_enrol, participant_create, participant_key_issue
    from registry.contract_defs import ADAPTER_CONTRACT_NAME, ADAPTER_CONTRACT_SCHEMAS, ADAPTER_CONTRACT_VERSION
    from registry.services import contract_create, release_submit, release_transition

    call_command("passes", "sync", "--toolchain", "llvm", stdout=open(os.devnull, "w"))  # noqa: SIM115
    board = [gs.board_member_ensure(username=name, password=passwords[name])[0] for name in BOARD]
    operator, _ = gs.operator_ensure(username="operator", password=passwords["operator"])
    gs.policy_bootstrap(document=DEFAULT_DOCUMENTS["governance"], operator=operator)
    proposer, voters = board[0], board[1:]
    contract = contract_create(
        name=ADAPTER_CONTRACT_NAME, version=ADAPTER_CONTRACT_VERSION, message_schemas=ADAPTER_CONTRACT_SCHEMAS
    )
    decide(proposer, voters, kind="approve_contract", contract=contract)
    for kind, document in (("privacy", PRIVACY), ("orchestration", ORCHESTRATION)):
        policy = gs.policy_create(kind=kind, document=document, created_by=proposer)
        decide(proposer, voters, kind="activate_policy", policy=policy)
    catalogue = get_driver("llvm").catalogue()
    manifest = build_manifest(
        toolchain="llvm",
        toolchain_version=str(catalogue.get("version", "")),
        passes=[entry["name"] for entry in catalogue.get("passes", [])],
    )
    # The board's approval needs a conformance run (a minute of LLVM work that no fault here concerns): the
    # campaign moves the release through the same ledgered transitions directly.
    release = release_submit(manifest=manifest, vendor="faults", actor="vendor:faults")
    release_transition(release=release, to_state="in_review", actor="faults")
    release_transition(release=release, to_state="approved", actor="faults")

    enrolment = {}
    for name in PARTICIPANTS:
        participant = participant_create(name=name, display_name=name.title())
        enrolment[name] = participant_key_issue(participant=participant, actor="operator")

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    def enrolled(name: str, display_name: str) -> dict[str, Any]:
        signing_key = Ed25519PrivateKey.generate()
        deployment, api_key = deployment_enrol(
            participant=participant_create(name=name, display_name=display_name),
            release=release,
            public_key=signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
            label="main",
        )
        return {"deployment": deployment.pk, "api_key": api_key, "signing_key": signing_key}

    hammer, other = enrolled("loadgen", "Load generator"), enrolled("bystander", "Bystander")
    del timezone
    return {
        "release": release.pk,
        "enrolment": enrolment,
        "board": [u.pk for u in board],
        "hammer": hammer,
        "other": other,
    }


def hammer_tasks(count: int, handle: str) -> list[int]:
    """Queued tasks on the load generator's problem (no round: only the work loop's paths are exercised)."""
    from adapters.plan import reference_plan
    from orchestration.models import EvaluationTask, LocalProblem
    from orchestration.services import plan_row

    problem = LocalProblem.objects.get(handle=handle)
    plan = plan_row(reference_plan("llvm"))
    created = EvaluationTask.objects.bulk_create(
        [
            EvaluationTask(plan=plan, local_problem=problem, noise_multiplier=HAMMER_NOISE, clip_bound=0.05)
            for _ in range(count)
        ]
    )
    return [task.pk for task in created]


def vote_targets(count: int, proposer_pk: int) -> list[int]:
    """Open proposals to approve throw-away contract versions: something for the board to vote on."""
    from django.contrib.auth import get_user_model

    from governance import services as gs
    from registry.contract_defs import ADAPTER_CONTRACT_SCHEMAS
    from registry.services import contract_create

    proposer = get_user_model().objects.get(pk=proposer_pk)
    stamp = int(time.time()) % 100000
    proposals = []
    for index in range(count):
        contract = contract_create(
            name="fault-probe", version=f"{stamp}.{index}.0", message_schemas=ADAPTER_CONTRACT_SCHEMAS
        )
        proposals.append(gs.proposal_open(kind="approve_contract", proposer=proposer, contract=contract).pk)
    return proposals


def db_reconnect() -> None:
    from django.db import connections

    for connection in connections.all():
        with contextlib.suppress(Exception):
            connection.close()


def invariant_checks(record: Record, after: str, site: Site, state: dict[str, Any], *, rounds_closed: bool) -> None:
    """Everything the issue asks to hold after a fault, from the database, the ledger and the public API."""
    from django.db.models import Count, Sum

    from governance.models import LedgerEntry, Proposal, Vote
    from governance.services import checkpoint_issue
    from orchestration.models import PerformanceSignal, PrivacyBudget, PrivacyCharge, SearchRound

    db_reconnect()
    log(f"checks after {after}")
    done = subprocess.run(
        [sys.executable, "manage.py", "ledger", "verify", "--no-progress"],
        cwd=REPO,
        env=state["env"],
        capture_output=True,
        text=True,
    )
    tail = (done.stdout.strip().splitlines() or [""])[-1] if done.returncode == 0 else done.stderr.strip()[-300:]
    record.check(after, "ledger verify", done.returncode == 0, tail)

    size = LedgerEntry.objects.count()
    top = LedgerEntry.objects.order_by("-index").values_list("index", flat=True).first()
    record.check(after, "no gap", size == (top + 1 if top is not None else 0), f"{size} entries, last index {top}")

    checkpoint_issue()
    with MarketClient(site.url, retries=3) as client:
        current, vkey = client.verified_checkpoint(state.get("vkey"))
        state["vkey"] = vkey
        previous = state.get("checkpoint")
        try:
            if previous is not None:
                if current.size < previous.size:
                    raise ValueError(f"the log shrank from {previous.size} to {current.size}")
                client.verify_consistency(previous, current)
            record.check(
                after,
                "no fork (checkpoints consistent)",
                True,
                f"{previous.size if previous else 0} -> {current.size} entries",
            )
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            record.check(after, "no fork (checkpoints consistent)", False, str(exc))
        state["checkpoint"] = current

    # Budgets: the row, its charges and the ledger's budget.charged entries agree; never above the limit;
    # never lower than at the previous check (a refund).
    by_ledger: dict[str, int] = collections.defaultdict(int)
    chain_ok, chain_detail = True, ""
    running: dict[str, int] = collections.defaultdict(int)
    for payload in (
        LedgerEntry.objects.filter(kind="budget.charged").order_by("index").values_list("payload", flat=True)
    ):
        name = payload["participant"]
        by_ledger[name] += payload["rho_nano"]
        running[name] += payload["rho_nano"]
        if payload["spent_after_nano"] != running[name] or payload["spent_after_nano"] > payload["limit_nano"]:
            chain_ok, chain_detail = False, f"{name}: spent_after {payload['spent_after_nano']} vs {running[name]}"
    problems = []
    previous_spent = state.setdefault("spent", {})
    for budget in PrivacyBudget.objects.select_related("participant"):
        name = budget.participant.name
        charges = PrivacyCharge.objects.filter(budget=budget).aggregate(total=Sum("rho_nano"))["total"] or 0
        if not budget.rho_spent_nano == charges == by_ledger.get(name, 0):
            problems.append(f"{name}: row {budget.rho_spent_nano}, charges {charges}, ledger {by_ledger.get(name, 0)}")
        if budget.rho_spent_nano > budget.rho_limit_nano:
            problems.append(f"{name}: overspent {budget.rho_spent_nano} > {budget.rho_limit_nano}")
        if budget.rho_spent_nano < previous_spent.get(name, 0):
            problems.append(f"{name}: refunded {previous_spent[name]} -> {budget.rho_spent_nano}")
        previous_spent[name] = budget.rho_spent_nano
    charged_twice = PrivacyCharge.objects.values("task").annotate(n=Count("id")).filter(n__gt=1).count()
    if charged_twice:
        problems.append(f"{charged_twice} task(s) charged twice")
    if not chain_ok:
        problems.append(chain_detail)
    record.check(
        after,
        "budgets: row = charges = ledger, within limit, no refund",
        not problems,
        "; ".join(problems) or f"{PrivacyCharge.objects.count()} charges",
    )

    # Votes: one per member and proposal in rows and in the ledger; decided tallies count each vote once.
    vote_entries = collections.Counter(
        (payload["proposal"], actor)
        for payload, actor in LedgerEntry.objects.filter(kind="vote.cast").values_list("payload", "actor")
    )
    twice = [key for key, n in vote_entries.items() if n > 1]
    rows = Vote.objects.count()
    bad_tallies = []
    for index, payload in LedgerEntry.objects.filter(kind="proposal.decided").values_list("index", "payload"):
        counted = sum(payload["tally"].get(k, 0) for k in ("yes", "no", "abstain"))
        cast = LedgerEntry.objects.filter(
            kind="vote.cast", subject=f"proposal:{payload['proposal']}", index__lt=index
        ).count()
        if counted != cast:
            bad_tallies.append(f"#{payload['proposal']}: tally {counted}, votes before the decision {cast}")
    decided = Proposal.objects.exclude(status="open").count()
    record.check(
        after,
        "no vote counted twice",
        not twice and rows == sum(vote_entries.values()) and not bad_tallies,
        f"{rows} votes, {sum(vote_entries.values())} vote entries, {decided} decided"
        + (f"; twice: {twice[:3]}" if twice else "")
        + (f"; {bad_tallies[:3]}" if bad_tallies else ""),
    )

    # Signals: one per task, one ledger entry each, pointing back at its row.
    per_task = collections.Counter(LedgerEntry.objects.filter(kind="signal.accepted").values_list("subject", flat=True))
    signal_rows = PerformanceSignal.objects.count()
    twice = [subject for subject, n in per_task.items() if n > 1]
    record.check(
        after,
        "one signal per task",
        not twice and signal_rows == sum(per_task.values()),
        f"{signal_rows} signals, {sum(per_task.values())} signal entries" + (f"; twice: {twice[:3]}" if twice else ""),
    )

    if rounds_closed:
        open_rounds = list(SearchRound.objects.filter(state="running").values_list("pk", flat=True))
        unexplained = list(
            SearchRound.objects.exclude(state="running").filter(stop_reason="").values_list("pk", flat=True)
        )
        finished_entries = set(LedgerEntry.objects.filter(kind="round.finished").values_list("subject", flat=True))
        missing = [
            pk
            for pk in SearchRound.objects.exclude(state="running").values_list("pk", flat=True)
            if not any(s.endswith(f":{pk}") for s in finished_entries)
        ]
        rounds = {r.pk: f"{r.state}: {r.stop_reason}" for r in SearchRound.objects.order_by("pk")}
        record.check(
            after,
            "rounds finished or stopped with a reason",
            not open_rounds and not unexplained and not missing,
            f"{rounds}"
            + (f"; still running {open_rounds}" if open_rounds else "")
            + (f"; no round.finished for {missing}" if missing else ""),
        )
    wasted = PrivacyCharge.objects.filter(task__state__in=["expired", "failed"]).count()
    record.observations[after]["charged_tasks_without_signal"] = wasted - state.get("wasted", 0)
    state["wasted"] = wasted
    lost = acknowledged_missing(state)
    record.lost.extend({"after": after, **item} for item in lost)
    record.check(after, "no acknowledged write lost", not lost, f"{len(lost)} lost" if lost else "")


def acknowledged_missing(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Every write a client was told succeeded, looked up again: what is missing is data lost."""
    from django.contrib.auth import get_user_model

    from governance.models import LedgerEntry, Vote
    from orchestration.models import EvaluationTask, PerformanceSignal, PrivacyCharge

    missing = []
    acked = state["acked"]
    for task_id, index in acked["signals"]:
        signal_row = PerformanceSignal.objects.filter(task_id=task_id, ledger_index=index).first()
        entry = LedgerEntry.objects.filter(index=index, kind="signal.accepted", subject=f"task:{task_id}").first()
        if signal_row is None or entry is None:
            missing.append({"kind": "signal", "task": task_id, "ledger_index": index})
    for task_id in acked["leases"]:
        task = EvaluationTask.objects.filter(pk=task_id, deployment_id=state["market"]["hammer"]["deployment"]).first()
        charge = PrivacyCharge.objects.filter(task_id=task_id, ledger_index__isnull=False).first()
        if task is None or task.state == "queued" or charge is None:
            missing.append({"kind": "lease", "task": task_id})
    users = {u.username: u.pk for u in get_user_model().objects.filter(username__in=BOARD)}
    for voter, proposal in acked["votes"]:
        row = Vote.objects.filter(proposal_id=proposal, voter_id=users[voter]).first()
        entry = LedgerEntry.objects.filter(kind="vote.cast", subject=f"proposal:{proposal}", actor__contains=voter)
        if row is None or not entry.exists():
            missing.append({"kind": "vote", "voter": voter, "proposal": proposal})
    return missing


# --- fault 1: kill -9 of gunicorn workers under load ---------------------------------------------------------


def signal_body(task: Task, value: float = 0.0) -> bytes:
    """The load generator's signal for a task, built and noised exactly as the adapter's work loop does."""
    released = privacy.release(
        [value] * HAMMER_N,
        clip=task.clip_bound,
        noise_multiplier=task.noise_multiplier,
        statistic=privacy.statistic_for(task.base_hash),
    )
    return task.signal_statement(released)


class Hammer:
    """Clients that lease, sign and vote as fast as they can; every answer is classified as acknowledged,
    refused (a 4xx the client understands) or unknown (the connection died with the worker)."""

    def __init__(self, site: Site, state: dict[str, Any], passwords: dict[str, str], proposals: list[int]) -> None:
        self.site, self.state, self.passwords, self.proposals = site, state, passwords, proposals
        self.stop = threading.Event()
        self.leased: queue.Queue[Task] = queue.Queue()
        self.unknown_signals: list[Task] = []
        self.bodies: dict[int, bytes] = {}  # a signal once drawn is resent byte for byte, as the adapter does
        self.counts: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        hammer = state["market"]["hammer"]
        self.api_key, self.signing_key = hammer["api_key"], hammer["signing_key"]

    def count(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1

    def leaser(self) -> None:
        with MarketClient(self.site.url, self.api_key, retries=0, timeout=20) as client:
            while not self.stop.is_set():
                try:
                    tasks = client.lease(limit=3, lease_seconds=600)
                except ApiError as exc:
                    self.count("lease unknown" if exc.status == 0 else f"lease refused {exc.status} {exc.code}")
                    time.sleep(0.05)
                    continue
                self.count("lease acknowledged")
                with self.lock:
                    self.state["acked"]["leases"].extend(task.id for task in tasks)
                for task in tasks:
                    self.leased.put(task)
                if not tasks:
                    time.sleep(0.2)

    def signaller(self) -> None:
        with MarketClient(self.site.url, self.api_key, retries=0, timeout=20) as client:
            while not self.stop.is_set():
                try:
                    task = self.leased.get(timeout=0.2)
                except queue.Empty:
                    continue
                self.submit(client, task)

    def submit(self, client: MarketClient, task: Task) -> bool:
        with self.lock:
            body = self.bodies.setdefault(task.id, signal_body(task))
        try:
            receipt = client.submit_signal(body, self.signing_key)
        except ApiError as exc:
            if exc.status == 0 or exc.status >= 500:
                self.count("signal unknown")
                with self.lock:
                    self.unknown_signals.append(task)
                return False
            self.count(f"signal refused {exc.status} {exc.code}")
            return True
        self.count("signal acknowledged" if receipt.created else "signal acknowledged again")
        with self.lock:
            self.state["acked"]["signals"].append((task.id, receipt.ledger_index))
        return True

    def voter(self, name: str) -> None:
        proposals = list(self.proposals)
        random.Random(name).shuffle(proposals)
        client = None
        while proposals and not self.stop.is_set():
            if client is None:
                client = self.login(name)
                if client is None:
                    time.sleep(0.2)
                    continue
            proposal = proposals[0]
            choice = random.choice(["yes", "yes", "no", "abstain"])
            try:
                response = client.post(
                    f"/admin/governance/proposal/{proposal}/vote/",
                    data={"choice": choice, "csrfmiddlewaretoken": client.cookies.get("csrftoken", "")},
                )
            except httpx.HTTPError:
                self.count("vote unknown")
                client.close()
                client = None
                continue  # the same vote again: recorded once or refused as a double vote
            proposals.pop(0)
            if "is recorded in the ledger" in response.text:
                self.count("vote acknowledged")
                with self.lock:
                    self.state["acked"]["votes"].append((name, proposal))
            elif "already voted" in response.text:
                self.count("vote refused (already voted)")
            elif "already" in response.text or "deadline" in response.text:
                self.count("vote refused (proposal closed)")
            else:
                self.count(f"vote other {response.status_code}")
        if client is not None:
            client.close()

    def login(self, name: str) -> httpx.Client | None:
        client = httpx.Client(base_url=self.site.url, follow_redirects=True, timeout=20)
        try:
            client.get("/admin/login/")
            response = client.post(
                "/admin/login/?next=/admin/",
                data={
                    "username": name,
                    "password": self.passwords[name],
                    "csrfmiddlewaretoken": client.cookies.get("csrftoken", ""),
                    "next": "/admin/",
                },
            )
            if response.status_code == 200 and "/admin/login/" not in str(response.url):
                self.count("logins")
                return client
            self.count(f"login refused {response.status_code}")
        except httpx.HTTPError:
            self.count("login unknown")
        client.close()
        return None

    def killer(self, interval: tuple[float, float]) -> None:
        rng = random.Random(16)
        while not self.stop.wait(rng.uniform(*interval)):
            workers = self.site.worker_pids()
            if workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(rng.choice(workers), signal.SIGKILL)
                    self.count("workers killed")


def fault_worker_kill(record: Record, site: Site, state: dict[str, Any], args, passwords) -> None:
    from orchestration.models import LocalProblem

    log(f"fault worker_kill: {args.hammer_seconds:g} s of leases, signals and votes while workers are killed")
    if not LocalProblem.objects.filter(handle="hammer").exists():
        with MarketClient(site.url, state["market"]["hammer"]["api_key"]) as client:
            client.register_problem(
                handle="hammer", problem_class=HAMMER_CLASS, corpus_size=HAMMER_N, commitment="ab" * 32
            )
    hammer_tasks(args.hammer_tasks, "hammer")
    proposals = vote_targets(args.proposals, state["market"]["board"][0])
    hammer = Hammer(site, state, passwords, proposals)
    site_offset = site.access_log.stat().st_size
    threads = [threading.Thread(target=hammer.leaser) for _ in range(2)]
    threads += [threading.Thread(target=hammer.signaller) for _ in range(3)]
    threads += [threading.Thread(target=hammer.voter, args=(name,)) for name in BOARD[1:]]
    killer = threading.Thread(target=hammer.killer, args=(tuple(args.kill_every),))
    started = time.monotonic()
    for thread in [*threads, killer]:
        thread.start()
    time.sleep(args.hammer_seconds)
    hammer.stop.set()
    for thread in [*threads, killer]:
        thread.join()
    seconds = time.monotonic() - started
    record.faults["worker_kill"] += hammer.counts["workers killed"]

    # Recovery, as an adapter would: the unknown signals again (idempotent), then every task still leased to
    # us but never seen (a lease whose answer died with its worker) signalled too.
    time.sleep(2)  # let the master respawn the last killed worker
    recovered = collections.Counter()
    with MarketClient(site.url, state["market"]["hammer"]["api_key"], retries=4) as client:
        for task in list(hammer.unknown_signals):
            recovered["unknown signal resent"] += 1
            hammer.submit(client, task)
        while not hammer.leased.empty():
            recovered["leased, not yet signalled"] += 1
            hammer.submit(client, hammer.leased.get())
        orphans = client._json(
            client._request("GET", "tasks", idempotent=True, params={"state": "leased", "limit": 500})
        )
        for item in orphans.get("results", []):
            recovered["orphaned lease found and signalled"] += 1
            listed = Task(
                id=item["id"],
                problem=item["problem"],
                plan={},
                plan_hash=item["plan_hash"],
                noise_multiplier=item["noise_multiplier"],
                clip_bound=item["clip_bound"],
                lease_expires_at=item["lease_expires_at"],
                base_hash=item["base_hash"],
            )
            hammer.submit(client, listed)
    counts = dict(sorted(hammer.counts.items()))
    log(f"  {seconds:.0f} s: {counts}; recovery {dict(recovered)}")
    record.observations["worker_kill"] = {
        "seconds": round(seconds, 1),
        "requests": counts,
        "recovery": dict(recovered),
        "unknown_answers": sum(v for k, v in counts.items() if "unknown" in k),
        "http_503_answers": site.count_status(503, since=site_offset),
    }
    errors = site.count_status(500, since=site_offset)
    record.check("worker_kill", "no 500 answer", errors == 0, f"{errors} answers with status 500")
    invariant_checks(record, "worker_kill", site, state, rounds_closed=True)


# --- faults 2 and 3: an adapter killed mid-task, PostgreSQL restarted mid-round -----------------------------


def start_orchestrator(env: dict[str, str], seed: int, log_path: Path, wait: float) -> subprocess.Popen:
    out = log_path.open("a")
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--orchestrate", "--seed", str(seed), "--wait", str(wait)],
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def orchestrate_child(args) -> int:
    """The orchestrator's process: one portfolio round on the public programs, as `manage.py orchestrate`."""
    import django

    django.setup()
    from adapters.corpus import programs
    from orchestration.orchestrator import RoundSettings, run_portfolio_round

    corpus = [program.path for program in programs(("alpha",))][:PUBLIC_PROGRAMS]
    outcome = run_portfolio_round(
        RoundSettings(PROBLEM_CLASS, "greedy", corpus, args.seed, wait_seconds=args.wait, poll_seconds=0.5),
        progress=lambda line: print(line, flush=True),
    )
    print(f"round {outcome.round.pk}: {outcome.round.state}: {outcome.round.stop_reason}", flush=True)
    return 0


def wait_for(predicate, timeout: float, what: str, poll: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db_reconnect_if_broken()
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def db_reconnect_if_broken() -> None:
    from django.db import close_old_connections

    close_old_connections()


def next_round(after_pk: int):
    from orchestration.models import SearchRound

    return SearchRound.objects.filter(pk__gt=after_pk).order_by("pk").first()


def latest_round_pk() -> int:
    from orchestration.models import SearchRound

    return SearchRound.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def ensure_adapters(
    adapters: dict[str, Adapter], site: Site, state: dict[str, Any], record: Record, after: str
) -> None:
    dead = [name for name, adapter in adapters.items() if not adapter.alive()]
    if dead and after:
        record.observations[after]["adapters_exited"] = {
            name: adapters[name].process.returncode for name in dead if adapters[name].process is not None
        }
        log(f"  adapters that exited by themselves: {dead} (restarted)")
    for name in dead:
        adapters[name].start(
            site.url, state["market"]["release"], state["market"]["enrolment"][name], state["adapter_env"]
        )


def fault_round(
    record: Record,
    kind: str,
    site: Site,
    pg: PrivatePostgres,
    state: dict[str, Any],
    adapters: dict[str, Adapter],
    args,
) -> None:
    from orchestration.models import EvaluationTask

    seed = state["seed"] + state.setdefault("rounds_started", 0)  # a new pool each round
    state["rounds_started"] += 1
    before = latest_round_pk()
    started = time.monotonic()
    offsets = {name: adapter.log_path.stat().st_size for name, adapter in adapters.items()}
    site_offset = site.access_log.stat().st_size
    orchestrator = start_orchestrator(state["env"], seed, state["work"] / f"orchestrator-{kind}.log", args.wait)
    log(f"fault {kind}: orchestrator started (pid {orchestrator.pid})")
    search_round = wait_for(lambda: next_round(before), 600, "the round to start")
    observation = record.observations[kind]
    observation["round"] = search_round.pk
    if kind == "adapter_kill":
        task = wait_for(
            lambda: (
                EvaluationTask.objects.filter(round=search_round, state="leased")
                .select_related("deployment__participant")
                .first()
            ),
            600,
            "an adapter to lease a task of the round",
            poll=0.05,
        )
        name = task.deployment.participant.name
        adapters[name].kill()  # at once: with a warm cache an evaluation takes a second or two
        held = list(
            EvaluationTask.objects.filter(deployment=task.deployment, state="leased").values_list("pk", flat=True)
        )
        record.faults["adapter_kill"] += 1
        log(f"  kill -9 {name}'s adapter, which held task(s) {held}; restarting it in 2 s")
        observation.update({"killed": name, "leased_at_kill": held, "task_seen_leased": task.pk})
        time.sleep(2)
        adapters[name].start(
            site.url, state["market"]["release"], state["market"]["enrolment"][name], state["adapter_env"]
        )
        if held:
            wait_for(
                lambda: not EvaluationTask.objects.filter(pk__in=held, state="leased").exists(),
                ADAPTER_LEASE_SECONDS + 120,
                "the dead adapter's leases to expire",
            )
        after = {t.pk: t.state for t in EvaluationTask.objects.filter(pk__in=held)}
        requeued = dict(EvaluationTask.objects.filter(requeued_from__in=held).values_list("requeued_from_id", "pk"))
        observation.update({"states_after": after, "requeued_as": requeued})
        record.check(
            kind,
            "the dead adapter's leases expired and were requeued once",
            bool(held) and all(after[pk] == "expired" and pk in requeued for pk in held),
            f"held {held}: {after}, requeued as {requeued}" if held else "it held no lease when it died",
        )
    else:
        wait_for(  # the round has dispatched and waits: kill at once, as adapters take a second or two
            lambda: EvaluationTask.objects.filter(round=search_round).exists(),
            600,
            "the round to dispatch its tasks",
            poll=0.05,
        )
        open_tasks = EvaluationTask.objects.filter(round=search_round, state__in=["queued", "leased"]).count()
        db_reconnect()
        down = time.monotonic()
        pg.kill()
        record.faults["postgres_restart"] += 1
        log(f"  kill -9 PostgreSQL with {open_tasks} task(s) of round {search_round.pk} open; restart in 3 s")
        time.sleep(3)
        pg.start()
        observation.update({"open_tasks_at_kill": open_tasks, "downtime_s": round(time.monotonic() - down, 1)})
        log(f"  PostgreSQL back after {time.monotonic() - down:.1f} s")
        db_reconnect()
    try:
        code = orchestrator.wait(timeout=args.wait * 2 + 300)
    except subprocess.TimeoutExpired:
        orchestrator.kill()
        code = None
    db_reconnect()
    search_round.refresh_from_db()
    observation.update(
        {
            "orchestrator_exit": code,
            "round_state": search_round.state,
            "round_reason": search_round.stop_reason,
            "round_seconds": round(time.monotonic() - started, 1),
        }
    )
    log(f"  orchestrator exited {code}; round {search_round.pk}: {search_round.state}: {search_round.stop_reason}")
    said: collections.Counter[str] = collections.Counter()
    for name, adapter in adapters.items():
        text = adapter.log_path.read_bytes()[offsets[name] :].decode(errors="replace")
        for phrase in ("signal accepted", "signal not delivered", "lease failed, will try again", "reporting failure"):
            said[phrase] += text.count(phrase)
        said["adapter exited with an error"] += text.count("] error: ")
        for task_id, index in ACCEPTED.findall(text):  # what the adapters were told is kept: checked for loss
            state["acked"]["signals"].append((int(task_id), int(index)))
    observation["adapters_said"] = dict(said)
    orchestrator_log = (state["work"] / f"orchestrator-{kind}.log").read_text(errors="replace")
    observation["orchestrator_polls_without_database"] = orchestrator_log.count("database unavailable, waiting")
    observation["http_503_answers"] = site.count_status(503, since=site_offset)
    errors = site.count_status(500, since=site_offset)
    record.check(kind, "no 500 answer", errors == 0, f"{errors} answers with status 500")
    record.check(
        kind, "orchestrator exited cleanly", code == 0, f"exit {code}; see {state['work'] / f'orchestrator-{kind}.log'}"
    )
    ensure_adapters(adapters, site, state, record, kind)
    invariant_checks(record, kind, site, state, rounds_closed=True)


# --- fault 4: a queue full of expired leases -----------------------------------------------------------------


def fault_expired_leases(record: Record, site: Site, state: dict[str, Any], args) -> None:
    from django.db import connections

    from orchestration.models import EvaluationTask, PrivacyBudget
    from orchestration.services import tasks_expire

    log(f"fault expired_leases: {args.expired} leases of 10 s left to expire")
    hammer = state["market"]["hammer"]
    queued = EvaluationTask.objects.filter(local_problem__handle="hammer", state="queued").count()
    hammer_tasks(max(0, args.expired - queued), "hammer")  # the load generator's queue, topped up
    leased: list[Task] = []
    with MarketClient(site.url, hammer["api_key"], retries=0) as client:
        while len(leased) < args.expired and (
            batch := client.lease(limit=min(50, args.expired - len(leased)), lease_seconds=10)
        ):
            leased.extend(batch)
            state["acked"]["leases"].extend(task.id for task in batch)
    ids = {task.id for task in leased}
    spent_before = PrivacyBudget.objects.get(participant__name="loadgen").rho_spent_nano
    record.faults["expired_leases"] += len(leased)
    time.sleep(11)
    results: list[list] = [[], []]
    timings = [0.0, 0.0]

    def sweep(slot: int) -> None:
        begin = time.perf_counter()
        try:
            results[slot] = tasks_expire()
        finally:
            timings[slot] = time.perf_counter() - begin
            connections.close_all()

    threads = [threading.Thread(target=sweep, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    requeued = [task.requeued_from_id for result in results for task in result]
    expired = EvaluationTask.objects.filter(pk__in=ids, state="expired").count()
    record.check(
        "expired_leases",
        "every expired lease requeued exactly once by concurrent sweeps",
        len(requeued) == len(set(requeued)) == expired == len(leased),
        f"{len(leased)} leased, {expired} expired, {len(requeued)} requeued ({len(results[0])} + {len(results[1])}), "
        f"sweeps {timings[0]:.2f} s and {timings[1]:.2f} s",
    )
    spent_after = PrivacyBudget.objects.get(participant__name="loadgen").rho_spent_nano
    record.check(
        "expired_leases", "expiry refunds nothing", spent_after == spent_before, f"{spent_before} -> {spent_after}"
    )
    refused = collections.Counter()
    late = leased[: min(20, len(leased))]
    accepted = 0
    with MarketClient(site.url, hammer["api_key"], retries=0) as client:
        for task in late:  # a signal for an expired lease
            try:
                client.submit_signal(signal_body(task), hammer["signing_key"])
            except ApiError as exc:
                refused[exc.code] += 1
        new = client.lease(limit=20, lease_seconds=600)  # the requeued work leases and signals normally
        for task in new:
            receipt = client.submit_signal(signal_body(task), hammer["signing_key"])
            state["acked"]["signals"].append((task.id, receipt.ledger_index))
            state["acked"]["leases"].append(task.id)
            accepted += receipt.created
    record.check(
        "expired_leases",
        "late signals for expired leases refused; requeued tasks work",
        sum(refused.values()) == len(late) and accepted == len(new) > 0,
        f"late: {dict(refused)}; requeued: {accepted} of {len(new)} signalled",
    )
    record.observations["expired_leases"] = {
        "leases": len(leased),
        "requeued": len(requeued),
        "sweep_seconds": [round(t, 3) for t in timings],
    }
    invariant_checks(record, "expired_leases", site, state, rounds_closed=True)


# --- fault 5: replayed and forged signals --------------------------------------------------------------------


def fault_signal_forgery(record: Record, site: Site, state: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from governance.models import LedgerEntry

    log("fault signal_forgery: replays, tampered bodies, wrong keys, another deployment's key")
    hammer, other = state["market"]["hammer"], state["market"]["other"]
    outcomes: dict[str, str] = {}

    def post(api_key: str, body: bytes, signature: bytes) -> tuple[int, str]:
        response = httpx.post(
            site.url + "/api/v1/signals",
            content=body,
            headers={
                "Authorization": f"Api-Key {api_key}",
                "Content-Type": "application/json",
                "X-OPM-Signature": base64.b64encode(signature).decode(),
            },
            timeout=20,
        )
        code = response.json().get("code", "") if response.status_code >= 400 else ""
        return response.status_code, code

    with MarketClient(site.url, hammer["api_key"], retries=2) as client:
        first, second = client.lease(limit=2, lease_seconds=600)
    state["acked"]["leases"].extend([first.id, second.id])
    body = signal_body(first)
    signature = hammer["signing_key"].sign(body)
    status, _ = post(hammer["api_key"], body, signature)
    entries_before = LedgerEntry.objects.count()
    index = (
        LedgerEntry.objects.filter(kind="signal.accepted", subject=f"task:{first.id}")
        .values_list("index", flat=True)
        .first()
    )
    state["acked"]["signals"].append((first.id, index))
    cases = []
    status, code = post(hammer["api_key"], body, signature)
    cases.append(("replay of an accepted signal", status == 200, f"{status} (idempotent answer, no new entry)"))
    tampered = rfc8785.dumps({**json.loads(body), "value": 0.04})
    status, code = post(hammer["api_key"], tampered, signature)
    cases.append(("tampered value, original signature", status >= 400 and code == "bad_signature", f"{status} {code}"))
    moved = rfc8785.dumps({**json.loads(body), "task": second.id})
    status, code = post(hammer["api_key"], moved, signature)
    cases.append(("accepted body moved to another task", status >= 400 and code == "bad_signature", f"{status} {code}"))
    forged = rfc8785.dumps({**json.loads(body), "task": second.id})
    status, code = post(hammer["api_key"], forged, Ed25519PrivateKey.generate().sign(forged))
    cases.append(("signed with a stranger's key", status >= 400 and code == "bad_signature", f"{status} {code}"))
    status, code = post(hammer["api_key"], forged, other["signing_key"].sign(forged))
    cases.append(
        ("signed with another deployment's key", status >= 400 and code == "bad_signature", f"{status} {code}")
    )
    status, code = post(other["api_key"], body, other["signing_key"].sign(body))
    cases.append(("another deployment submits our task", status >= 400, f"{status} {code}"))
    status, code = post(other["api_key"], body, signature)
    cases.append(("another deployment replays our signal", status >= 400, f"{status} {code}"))
    conflict = rfc8785.dumps({**json.loads(body), "value": 0.01})
    status, code = post(hammer["api_key"], conflict, hammer["signing_key"].sign(conflict))
    cases.append(
        (
            "a second, different signal for a finished task",
            status == 409 and code == "signal_conflict",
            f"{status} {code}",
        )
    )
    entries_after = LedgerEntry.objects.count()
    for name, passed, detail in cases:
        outcomes[name] = detail
        record.faults["signal_forgery"] += 1
        record.check("signal_forgery", f"refused: {name}" if "replay of an" not in name else name, passed, detail)
    record.check(
        "signal_forgery",
        "forgeries and replays left no ledger entry",
        entries_after == entries_before,
        f"{entries_before} -> {entries_after}",
    )
    # the second task's lease is still ours: the genuine signal goes through
    with MarketClient(site.url, hammer["api_key"], retries=2) as client:
        receipt = client.submit_signal(signal_body(second), hammer["signing_key"])
    state["acked"]["signals"].append((second.id, receipt.ledger_index))
    record.check(
        "signal_forgery", "the genuine signal is then accepted", receipt.created, f"ledger entry {receipt.ledger_index}"
    )
    record.observations["signal_forgery"] = outcomes
    invariant_checks(record, "signal_forgery", site, state, rounds_closed=True)


# --- the campaign ------------------------------------------------------------------------------------------


def prepare_corpora(work: Path) -> dict[str, Path]:
    from adapters.corpus import programs

    corpora = {}
    for name, (subset, first) in PARTICIPANTS.items():
        target = work / "corpora" / name
        target.mkdir(parents=True, exist_ok=True)
        for program in programs((subset,))[first : first + PRIVATE_PROGRAMS]:
            shutil.copy(program.path, target / program.path.name)
        corpora[name] = target
    return corpora


def summary(record: Record, runtime: float) -> dict[str, Any]:
    table: dict[str, dict[str, int]] = collections.defaultdict(lambda: {"passed": 0, "failed": 0})
    for check in record.checks:
        table[check["after"]]["passed" if check["passed"] else "failed"] += 1
    print()
    print(f"{'fault':18} {'injected':>9} {'checks passed':>14} {'failed':>7}")
    for fault in ("worker_kill", "adapter_kill", "postgres_restart", "expired_leases", "signal_forgery", "resume"):
        row = table.get(fault, {"passed": 0, "failed": 0})
        print(f"{fault:18} {record.faults.get(fault, 0):>9} {row['passed']:>14} {row['failed']:>7}")
    failed = [c for c in record.checks if not c["passed"]]
    print(f"data lost: {len(record.lost)} acknowledged write(s); runtime {runtime:.0f} s")
    for check in failed:
        print(f"  FAILED after {check['after']}: {check['check']}: {check['detail']}")
    return {k: dict(v) for k, v in table.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hammer-seconds", type=float, default=40.0)
    parser.add_argument("--hammer-tasks", type=int, default=3000, help="queued tasks for the lease/signal clients")
    parser.add_argument("--proposals", type=int, default=30, help="open proposals for the voting clients")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument(
        "--kill-every", type=float, nargs=2, default=(1.5, 3.0), metavar=("MIN", "MAX"), help="seconds between kills"
    )
    parser.add_argument("--expired", type=int, default=1000, help="leases left to expire")
    parser.add_argument("--wait", type=float, default=240.0, help="seconds a round waits for each phase's signals")
    parser.add_argument("--port", type=int, default=5499, help="the private PostgreSQL cluster's port")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, cluster) afterwards")
    parser.add_argument("--orchestrate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=2026, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.orchestrate:
        return orchestrate_child(args)

    record = Record()
    work = Path(tempfile.mkdtemp(prefix="opm-faults-"))
    os.chmod(work, 0o755)
    pg = PrivatePostgres(work / "pg", args.port)
    var = work / "var"
    # Measurements (the adapters' and the orchestrator's pool search) are kept across runs, as in the demo.
    cache = Path(os.environ.get("OPM_VAR_DIR", str(REPO / "var"))) / "adapter-cache"
    cache.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": pg.url("opm_faults"),
        "OPM_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "opm_site.settings",
        "OPM_THROTTLE_DEPLOYMENT": "1000000/minute",
        "OPM_THROTTLE_PUBLIC": "1000000/minute",
        "OPM_CHECKPOINT_INTERVAL": "5",
        "PYTHONUNBUFFERED": "1",
    }
    passwords = {name: f"pw-{name}-{random.randrange(10**9)}" for name in [*BOARD, "operator"]}
    site = Site(env, args.workers, work / "gunicorn.log")
    adapters: dict[str, Adapter] = {}
    state: dict[str, Any] = {
        "env": env,
        "work": work,
        "seed": args.seed,
        "acked": {"signals": [], "leases": [], "votes": []},
    }
    try:
        log(f"private PostgreSQL on port {args.port} in {pg.root}")
        pg.init()
        pg.start()
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(args.port), "-U", "postgres", "opm_faults"],
            check=True,
        )
        var.mkdir()
        (var / "adapter-cache").symlink_to(cache)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
        django_setup(env)
        state["market"] = setup_market(passwords)
        site.start()
        log(f"site {site.url} with {args.workers} gunicorn workers; log {site.log_path}")
        invariant_checks(record, "setup", site, state, rounds_closed=True)

        fault_worker_kill(record, site, state, args, passwords)

        corpora = prepare_corpora(work)
        state["adapter_env"] = {**env, "OPM_ADAPTER_CACHE": str(cache)}
        for name, corpus in corpora.items():
            key_file = work / "keys" / f"{name}.key"
            key_file.parent.mkdir(exist_ok=True)
            subprocess.run(
                [sys.executable, "-m", "adapters.cli", "keygen", "--out", str(key_file)],
                cwd=REPO,
                check=True,
                capture_output=True,
            )
            adapters[name] = Adapter(name, corpus, key_file, work / f"adapter-{name}.log")
            adapters[name].start(
                site.url, state["market"]["release"], state["market"]["enrolment"][name], state["adapter_env"]
            )
        fault_round(record, "adapter_kill", site, pg, state, adapters, args)
        fault_round(record, "postgres_restart", site, pg, state, adapters, args)
        fault_expired_leases(record, site, state, args)
        fault_signal_forgery(record, site, state)

        log("resume: one more round with no fault")
        before = latest_round_pk()
        orchestrator = start_orchestrator(
            env, args.seed + state.get("rounds_started", 0), work / "orchestrator-resume.log", args.wait
        )
        code = orchestrator.wait(timeout=args.wait * 2 + 300)
        db_reconnect()
        for adapter in adapters.values():
            text = adapter.log_path.read_text(errors="replace")
            state["acked"]["signals"].extend((int(t), int(i)) for t, i in ACCEPTED.findall(text))
        later = next_round(before)
        record.check(
            "resume",
            "a later round runs and closes",
            code == 0 and later is not None and later.state != "running",
            f"exit {code}; round {later.pk if later else None}: {later.state if later else '-'}: "
            f"{later.stop_reason if later else ''}",
        )
        if later is not None:
            record.observations["resume"] = {"round": later.pk, "state": later.state, "reason": later.stop_reason}
        invariant_checks(record, "resume", site, state, rounds_closed=True)
    finally:
        for adapter in adapters.values():
            adapter.stop()
        site.stop()
        db_reconnect()
        pg.stop()
        runtime = time.monotonic() - record.started
        table = summary(record, runtime)
        RESULTS.write_text(
            json.dumps(
                {
                    "benchmark": "faults",
                    "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "machine": {
                        "cpus": os.cpu_count(),
                        "python": platform.python_version(),
                        "load_after": os.getloadavg(),
                    },
                    "parameters": {k: v for k, v in vars(args).items() if k not in ("orchestrate", "seed")},
                    "runtime_s": round(runtime, 1),
                    "faults_injected": dict(record.faults),
                    "checks": table,
                    "checks_failed": [c for c in record.checks if not c["passed"]],
                    "data_lost": record.lost,
                    "observations": record.observations,
                    "all_checks": record.checks,
                },
                indent=2,
                default=str,
            )
            + "\n"
        )
        print(f"wrote {RESULTS.relative_to(REPO)}")
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if all(c["passed"] for c in record.checks) and not record.lost else 1


if __name__ == "__main__":
    raise SystemExit(main())
