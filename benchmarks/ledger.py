"""Ledger benchmark: append throughput and proof latency on PostgreSQL (docs/design.md §5 targets).

    .venv/bin/python benchmarks/ledger.py [--sizes 10000,100000,1000000] [--appends N] [--quick]

Creates scratch PostgreSQL databases (opm_bench_<pid>*, dropped at the end, also on failure or Ctrl-C):
one migrated template holding one warm-up entry, then a fresh clone of it for each append measurement
(the ledger tables are append-only, so a clone is the only way to start from the same log) and one clone
that is grown to each proof size in turn. Every figure goes through the code the services and the API
use (ledger_append, ledger_append_many, governance.selectors), and every measured log and a sample of
the proofs are checked against roots recomputed independently from the leaves.
"""

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_PG = os.environ.get("OPM_PG_URL_BASE", "postgres://postgres@127.0.0.1:5432")
DEFAULT_OUTPUT = REPO / "benchmarks" / "results" / "ledger.json"
CHECKPOINT_INTERVAL = 1e9
"""OPM_CHECKPOINT_INTERVAL: only the warm-up append signs a checkpoint, so none distorts the rates."""

TARGETS = {
    ("single", 8): 1500.0,  # appends/s, 8 writers, one append per transaction
    ("batched", 8): 3000.0,  # entries/s, 8 writers, ledger_append_many per transaction
}
PROOF_TARGET_P99_MS = 5.0
PROOF_TARGET_SIZE = 1_000_000


# --- Scratch databases --------------------------------------------------------------------------


class Scratch:
    """Scratch databases on the server, all dropped by `drop_all` (WITH FORCE: stray sessions too)."""

    def __init__(self, base_url: str, prefix: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.prefix = prefix
        self.created: list[str] = []

    def _admin(self):
        import psycopg

        return psycopg.connect(f"{self.base_url}/postgres", autocommit=True, connect_timeout=5)

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def create(self, suffix: str = "", template: str | None = None) -> str:
        from psycopg import sql

        name = f"{self.prefix}{suffix}"
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        with self._admin() as conn:
            conn.execute(query)
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        from psycopg import sql

        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> list[str]:
        failures = []
        for name in list(reversed(self.created)):
            try:
                self.drop(name)
            except Exception as exc:  # keep dropping the others; report at the end
                failures.append(f"{name}: {exc}")
        return failures

    def server_facts(self) -> dict[str, Any]:
        with self._admin() as conn:
            facts = {"version": conn.execute("SELECT version()").fetchone()[0]}
            for name in ("shared_buffers", "synchronous_commit", "fsync", "wal_level", "max_connections"):
                facts[name] = conn.execute(f"SHOW {name}").fetchone()[0]
        return facts


def _use_database(name: str) -> None:
    """Point this process's Django connection at another scratch database."""
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = name


# --- Statistics ---------------------------------------------------------------------------------


def _percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _summary_ms(seconds: list[float]) -> dict[str, float]:
    values = sorted(s * 1000 for s in seconds)
    return {
        "n": len(values),
        "p50": round(_percentile(values, 50), 4),
        "p99": round(_percentile(values, 99), 4),
        "mean": round(sum(values) / len(values), 4),
        "max": round(values[-1], 4),
    }


# --- Append throughput --------------------------------------------------------------------------


def _payload(number: int, i: int) -> dict[str, Any]:
    return {"amount_cents": 100 + i, "currency": "EUR", "writer": number, "reason": "benchmark append"}


def _backend_cpu(pid: int | None) -> float | None:
    """CPU seconds used so far by a PostgreSQL backend process, when the server runs on this host."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _writer(url: str, var_dir: str, mode: str, transactions: int, batch: int, number: int, barrier, results) -> None:
    """One writer process: its own django.setup() and connection, then `transactions` timed transactions."""
    try:
        os.environ["DATABASE_URL"] = url
        os.environ["OPM_VAR_DIR"] = var_dir
        os.environ["OPM_CHECKPOINT_INTERVAL"] = str(CHECKPOINT_INTERVAL)
        os.environ["DJANGO_SETTINGS_MODULE"] = "opm_site.settings"
        import django

        django.setup()
        from django.db import connection, transaction

        from governance.services import LedgerRecord, ledger_append, ledger_append_many

        connection.ensure_connection()  # connecting is not part of the measurement
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        barrier.wait(timeout=300)
        latencies = []
        server_cpu0 = _backend_cpu(backend)
        cpu0 = time.process_time()
        start = time.monotonic()
        for t in range(transactions):
            t0 = time.perf_counter()
            if mode == "lockrow":
                # The ceiling of any log that serialises appenders on one row lock held until commit: the
                # lock, one row written, the durable commit; no canonical JSON, no hashing, no tree rows.
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("UPDATE bench_lockrow SET n = n + 1 WHERE id = 1")
                    cursor.execute(
                        "INSERT INTO bench_lockrow_rows (payload) VALUES (%s)", [json.dumps(_payload(number, t))]
                    )
            elif mode == "single":
                with transaction.atomic():
                    ledger_append(
                        kind="bench.single",
                        actor=f"writer-{number}",
                        subject=f"{number}:{t}",
                        payload=_payload(number, t),
                    )
            else:
                records = [
                    LedgerRecord("bench.batched", f"writer-{number}", f"{number}:{t}:{k}", _payload(number, k))
                    for k in range(batch)
                ]
                with transaction.atomic():
                    ledger_append_many(records)
            latencies.append(time.perf_counter() - t0)
        end = time.monotonic()
        client_cpu = time.process_time() - cpu0
        server_cpu1 = _backend_cpu(backend)
        server_cpu = None if server_cpu0 is None or server_cpu1 is None else server_cpu1 - server_cpu0
        connection.close()
        results.put(
            {
                "number": number,
                "start": start,
                "end": end,
                "latencies": latencies,
                "client_cpu": client_cpu,
                "server_cpu": server_cpu,
                "error": None,
            }
        )
    except KeyboardInterrupt:
        pass
    except BaseException as exc:  # reported to the parent, which fails the run
        results.put({"number": number, "error": f"{type(exc).__name__}: {exc}"})


def _run_writers(ctx, url: str, var_dir: str, mode: str, writers: int, entries: int, batch: int) -> dict[str, Any]:
    """Start `writers` processes together (a barrier) and return wall time and per-transaction latencies."""
    per_writer_entries = entries // writers
    per_txn = 1 if mode in ("single", "lockrow") else batch
    transactions = max(1, per_writer_entries // per_txn)
    barrier = ctx.Barrier(writers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(url, var_dir, mode, transactions, batch, n, barrier, results), daemon=True)
        for n in range(writers)
    ]
    for proc in procs:
        proc.start()
    reports = []
    try:
        for _ in procs:
            reports.append(results.get(timeout=3600))
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
    errors = [r["error"] for r in reports if r["error"]]
    if errors:
        raise RuntimeError(f"{mode} x{writers}: writer failed: {errors[0]}")
    wall = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    latencies = [x for r in reports for x in r["latencies"]]
    total = writers * transactions * per_txn
    server_cpus = [r["server_cpu"] for r in reports]
    server_cpu = None if None in server_cpus else sum(server_cpus)
    return {
        "mode": mode,
        "writers": writers,
        "batch_size": per_txn,
        "transactions": writers * transactions,
        "entries": total,
        "wall_s": round(wall, 3),
        "rate": round(total / wall, 1),
        "unit": "appends/s" if mode in ("single", "lockrow") else "entries/s",
        "txn_latency_ms": _summary_ms(latencies),
        "cpu_ms_per_entry": {
            "client": round(sum(r["client_cpu"] for r in reports) / total * 1000, 4),
            "server": None if server_cpu is None else round(server_cpu / total * 1000, 4),
        },
    }


def _check_log(expected: int) -> None:
    """The log is gapless, every subject landed once, and the stored root equals one rebuilt from the leaves."""
    from adapters.ledger.merkle import RootAccumulator
    from governance import selectors
    from governance.models import LedgerEntry

    size = selectors.ledger_size()
    if size != expected:
        raise AssertionError(f"log size {size}, expected {expected}")
    acc = RootAccumulator()
    for index, leaf_hash in (
        LedgerEntry.objects.order_by("index").values_list("index", "leaf_hash").iterator(chunk_size=10_000)
    ):
        if index != acc.size:
            raise AssertionError(f"gap in the log at {acc.size} (next index {index})")
        acc.append(bytes(leaf_hash))
    if acc.size != expected or acc.root() != selectors.ledger_root(expected):
        raise AssertionError("stored Merkle root differs from the root of the leaves")
    subjects = LedgerEntry.objects.values("subject").distinct().count()
    if subjects != expected:
        raise AssertionError(f"{expected - subjects} duplicate subjects: an append landed twice")


# --- Proof latency ------------------------------------------------------------------------------


def _grow(to_size: int, batch: int, quiet: bool) -> float:
    """Append bulk entries with ledger_append_many until the log has `to_size` entries; returns seconds."""
    from django.db import transaction
    from tqdm import tqdm

    from governance import selectors
    from governance.services import LedgerRecord, ledger_append_many

    size = selectors.ledger_size()
    if size > to_size:
        raise SystemExit(f"error: the log already has {size} entries, more than the size {to_size} to measure")
    t0 = time.perf_counter()
    with tqdm(
        total=to_size,
        initial=size,
        desc=f"grow to {to_size:,}",
        unit="entry",
        disable=quiet,
        file=sys.stderr,
        unit_scale=True,
    ) as bar:
        while size < to_size:
            n = min(batch, to_size - size)
            records = [
                LedgerRecord("bench.grow", "bench", f"grow:{size + k}", {"i": size + k, "reason": "benchmark growth"})
                for k in range(n)
            ]
            with transaction.atomic():
                ledger_append_many(records)
            size += n
            bar.update(n)
    return time.perf_counter() - t0


def _independent_roots(wanted: set[int], until: int) -> dict[int, bytes]:
    """Roots of the first t leaves for each wanted t, streamed from the leaf hashes (not the stored nodes)."""
    from adapters.ledger.merkle import RootAccumulator
    from governance.models import LedgerEntry

    acc = RootAccumulator()
    roots = {}
    rows = LedgerEntry.objects.filter(index__lt=until).order_by("index")
    for index, leaf_hash in rows.values_list("index", "leaf_hash").iterator(chunk_size=20_000):
        if index != acc.size:
            raise AssertionError(f"gap in the log at {acc.size}")
        acc.append(bytes(leaf_hash))
        if acc.size in wanted:
            roots[acc.size] = acc.root()
    return roots


def _timed(fn, args: list) -> tuple[list[float], list]:
    times, outputs = [], []
    for arg in args:
        t0 = time.perf_counter()
        out = fn(arg)
        times.append(time.perf_counter() - t0)
        outputs.append(out)
    return times, outputs


def _query_count(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def _explain_read_nodes(index: int, size: int) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of the read_nodes query one inclusion proof issues."""
    from django.db import connection
    from django.db.models import Q

    from adapters.ledger import merkle
    from governance.ledger_store import read_nodes
    from governance.models import LedgerNode

    asked: list = []

    def recording(nodes):
        asked.extend(nodes)
        return read_nodes(nodes)

    merkle.inclusion_proof(index, size, recording)
    wanted = Q()
    for level, ix in asked:
        wanted |= Q(level=level, index=ix)
    sql, params = LedgerNode.objects.filter(wanted).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
    return {"index": index, "tree_size": size, "nodes": len(asked), "plan": plan}


def _measure_proofs(size: int, rng: random.Random, n: int, verify: int, grow_s: float) -> dict[str, Any]:
    from adapters.ledger import merkle
    from governance import selectors

    indexes = [rng.randrange(size) for _ in range(n)]
    olds = [rng.randint(1, size - 1) if size > 1 else 1 for _ in range(n)]
    root_sizes = [rng.randint(1, size) for _ in range(n)]
    sample = list(range(min(verify, n)))
    roots = _independent_roots({olds[i] for i in sample} | {root_sizes[i] for i in sample} | {size}, size)

    # Warm: one of each, so connection set-up and first-query costs are not in the figures.
    selectors.inclusion_proof(index=0, tree_size=size)
    selectors.consistency_proof(first=1, second=size)
    selectors.ledger_root(size)

    inc_t, inc_out = _timed(lambda i: selectors.inclusion_proof(index=i, tree_size=size), indexes)
    con_t, con_out = _timed(lambda m: selectors.consistency_proof(first=m, second=size), olds)
    root_t, root_out = _timed(lambda _: selectors.ledger_root(size), range(n))
    rnd_t, rnd_out = _timed(lambda t: selectors.ledger_root(t), root_sizes)

    root = roots[size]
    if any(r != root for r in root_out):
        raise AssertionError(f"ledger_root({size}) differs from the root rebuilt from the leaves")
    for i in sample:
        entry, tree_size, proof = inc_out[i]
        leaf_hash = merkle.leaf_hash(bytes(entry.leaf))
        if tree_size != size or entry.index != indexes[i] or leaf_hash != bytes(entry.leaf_hash):
            raise AssertionError(f"inclusion proof {indexes[i]}: wrong entry or leaf hash")
        merkle.verify_inclusion(leaf_hash, indexes[i], size, proof, root)
        merkle.verify_consistency(olds[i], size, con_out[i], roots[olds[i]], root)
        if rnd_out[i] != roots[root_sizes[i]]:
            raise AssertionError(f"ledger_root({root_sizes[i]}) differs from the root rebuilt from the leaves")

    return {
        "size": size,
        "grow_s": round(grow_s, 2),
        "inclusion_ms": _summary_ms(inc_t),
        "consistency_ms": _summary_ms(con_t),
        "root_ms": _summary_ms(root_t),
        "root_random_size_ms": _summary_ms(rnd_t),
        "verified": {"inclusion": len(sample), "consistency": len(sample), "root_random_size": len(sample), "root": n},
        "queries": {
            "inclusion": _query_count(lambda: selectors.inclusion_proof(index=indexes[0], tree_size=size)),
            "consistency": _query_count(lambda: selectors.consistency_proof(first=olds[0], second=size)),
            "root": _query_count(lambda: selectors.ledger_root(size)),
        },
    }


# --- Report -------------------------------------------------------------------------------------


def _machine(scratch: Scratch) -> dict[str, Any]:
    import django

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        mem_gib = None
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "memory_gib": mem_gib,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": scratch.server_facts(),
        "git_commit": commit,
        "git_dirty": dirty,
    }


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*headers), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(lines)


def _report(result: dict[str, Any]) -> str:
    out = []
    rows = []
    for a in result["appends"]:
        target = TARGETS.get((a["mode"], a["writers"]))
        cpu = a["cpu_ms_per_entry"]
        server = "?" if cpu["server"] is None else f"{cpu['server']:.3f}"
        rows.append(
            [
                f"{a['mode']} ({a['batch_size']}/txn)",
                str(a["writers"]),
                f"{a['entries']:,}",
                f"{a['wall_s']:.2f}",
                f"{a['rate']:,.0f} {a['unit']}",
                f"{a['txn_latency_ms']['p50']:.2f}",
                f"{a['txn_latency_ms']['p99']:.2f}",
                f"{cpu['client']:.3f} + {server}",
                f">= {target:,.0f}" if target else "",
                ("met" if a["rate"] >= target else "MISSED") if target else "",
            ]
        )
    out.append("Append throughput (fresh log per row, clone of a 1-entry template)")
    out.append(
        _table(
            rows,
            [
                "appends",
                "writers",
                "entries",
                "wall s",
                "rate",
                "txn p50 ms",
                "txn p99 ms",
                "CPU ms/entry",
                "target",
                "",
            ],
        )
    )
    out.append("CPU ms/entry: writer processes (Python) + their PostgreSQL backends, summed over writers.")
    rows = []
    for p in result["proofs"]:
        for name, key in (
            ("inclusion", "inclusion_ms"),
            ("consistency", "consistency_ms"),
            ("root", "root_ms"),
            ("root (random size)", "root_random_size_ms"),
        ):
            s = p[key]
            target = p["size"] == PROOF_TARGET_SIZE and key != "root_random_size_ms"
            verdict = ("met" if s["p99"] <= PROOF_TARGET_P99_MS else "MISSED") if target else ""
            rows.append(
                [
                    f"{p['size']:,}",
                    name,
                    str(s["n"]),
                    f"{s['p50']:.3f}",
                    f"{s['p99']:.3f}",
                    f"{s['max']:.3f}",
                    f"<= {PROOF_TARGET_P99_MS:g}" if target else "",
                    verdict,
                ]
            )
    out.append("")
    out.append("Proof latency through governance.selectors (ms per call, DB round trips included)")
    out.append(_table(rows, ["log size", "operation", "n", "p50", "p99", "max", "p99 target", ""]))
    grows = ", ".join(f"{p['size']:,} in {p['grow_s']:.0f} s" for p in result["proofs"])
    out.append(f"\nGrowth with ledger_append_many({result['parameters']['grow_batch']}/txn): {grows}")
    m = result["machine"]
    out.append(
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}, "
        f"{m['postgresql']['version'].split(' on ')[0]}"
    )
    for note in result["notes"]:
        out.append(f"Note: {note}")
    return "\n".join(out)


# --- Main ---------------------------------------------------------------------------------------


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark ledger appends and proofs on a scratch PostgreSQL.")
    parser.add_argument("--sizes", help="Log sizes for proof latency (default 10000,100000,1000000).")
    parser.add_argument("--appends", type=int, help="Single appends per measurement (default 8000).")
    parser.add_argument("--batched-appends", type=int, help="Entries per batched measurement (default 80000).")
    parser.add_argument("--batch-size", type=int, default=100, help="Records per ledger_append_many (100).")
    parser.add_argument("--writers", default="1,8", help="Writer process counts to measure (1,8).")
    parser.add_argument("--grow-batch", type=int, default=5000, help="Records per transaction when growing (5000).")
    parser.add_argument("--proofs", type=int, help="Timed calls per operation and size (default 1000).")
    parser.add_argument("--verify", type=int, default=100, help="Proofs per operation and size to verify (100).")
    parser.add_argument("--start-method", choices=["spawn", "fork", "forkserver"], default="spawn")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--pg", default=DEFAULT_PG, help=f"PostgreSQL URL without database ({DEFAULT_PG}).")
    parser.add_argument(
        "--output",
        type=Path,
        help=f"JSON output (default {DEFAULT_OUTPUT.relative_to(REPO)}; under --quick a file in the temp directory).",
    )
    parser.add_argument("--skip-appends", action="store_true", help="Only measure proofs.")
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="Also measure the lock-row ceiling: one UPDATE of a lock row, one INSERT and a commit per transaction.",
    )
    parser.add_argument("--skip-proofs", action="store_true", help="Only measure appends.")
    parser.add_argument("--quick", action="store_true", help="Tiny smoke run (2000 appends, sizes 1000,5000).")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    quick = args.quick
    args.sizes = [int(s) for s in (args.sizes or ("1000,5000" if quick else "10000,100000,1000000")).split(",")]
    args.appends = args.appends or (2000 if quick else 8000)
    args.batched_appends = args.batched_appends or (4000 if quick else 80_000)
    args.proofs = args.proofs or (200 if quick else 1000)
    args.writers = [int(w) for w in args.writers.split(",")]
    if args.output is None:
        args.output = Path(tempfile.gettempdir()) / "opm-ledger-bench-quick.json" if quick else DEFAULT_OUTPUT
    if sorted(args.sizes) != args.sizes or args.sizes[0] < 2:
        parser.error("--sizes must be increasing and at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    scratch = Scratch(args.pg, f"opm_bench_{os.getpid()}")
    var_dir = tempfile.mkdtemp(prefix="opm-bench-var-")
    procs_ctx = mp.get_context(args.start_method)

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    try:
        template = scratch.create()
        os.environ["DATABASE_URL"] = scratch.url(template)
        os.environ["OPM_VAR_DIR"] = var_dir
        os.environ["OPM_CHECKPOINT_INTERVAL"] = str(CHECKPOINT_INTERVAL)
        os.environ["DJANGO_SETTINGS_MODULE"] = "opm_site.settings"
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, transaction

        from governance.services import ledger_append

        call_command("migrate", verbosity=0, interactive=False)
        with transaction.atomic():  # creates the head row, the log key and the one checkpoint
            ledger_append(kind="bench.warmup", actor="bench", subject="warmup", payload={})
        _use_database("postgres")  # a template must have no sessions when it is cloned

        result: dict[str, Any] = {
            "benchmark": "ledger",
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "quick": args.quick,
            "parameters": {
                "sizes": args.sizes,
                "single_appends": args.appends,
                "batched_appends": args.batched_appends,
                "batch_size": args.batch_size,
                "writers": args.writers,
                "grow_batch": args.grow_batch,
                "proofs_per_operation": args.proofs,
                "verified_per_operation": args.verify,
                "start_method": args.start_method,
                "seed": args.seed,
                "OPM_CHECKPOINT_INTERVAL": CHECKPOINT_INTERVAL,
                "tasks_backend": "django.tasks.backends.immediate.ImmediateBackend (default)",
            },
            "machine": _machine(scratch),
            "notes": [
                f"OPM_CHECKPOINT_INTERVAL={CHECKPOINT_INTERVAL:g}: only the warm-up append in the template signs a "
                "checkpoint; every later commit still runs checkpoint_if_due (immediate backend), which returns "
                "after reading the latest checkpoint and the head, so that cost is in the append figures.",
                "Each append row runs on a fresh clone of a template holding 1 entry; rate = entries / wall time "
                "from the first writer's start (after a barrier) to the last writer's end; connecting and "
                "django.setup() are outside the timing.",
                "CPU ms/entry sums time.process_time() of the writers and /proc CPU time of their PostgreSQL "
                "backends (server on this host), divided by the entries appended: total CPU / nproc bounds the rate.",
                "Proof sizes are reached by growing one log in turn; each operation is timed per call "
                "(time.perf_counter) including its queries (ledger_size, the entry, read_nodes).",
            ],
            "appends": [],
            "proofs": [],
        }

        if not args.skip_appends:
            plan = [("lockrow", w, args.appends) for w in args.writers if args.ceiling]
            plan += [("single", w, args.appends) for w in args.writers]
            plan += [("batched", w, args.batched_appends) for w in args.writers]
            for mode, writers, entries in plan:
                db = scratch.create(f"_{mode}{writers}", template=template)
                print(f"appends: {mode} x{writers} writers, {entries:,} entries ...", file=sys.stderr, flush=True)
                if mode == "lockrow":
                    _use_database(db)
                    with connection.cursor() as cursor:
                        cursor.execute("CREATE TABLE bench_lockrow (id int PRIMARY KEY, n bigint NOT NULL)")
                        cursor.execute("INSERT INTO bench_lockrow VALUES (1, 0)")
                        cursor.execute("CREATE TABLE bench_lockrow_rows (id bigserial PRIMARY KEY, payload jsonb)")
                    _use_database("postgres")
                figures = _run_writers(procs_ctx, scratch.url(db), var_dir, mode, writers, entries, args.batch_size)
                _use_database(db)
                if mode == "lockrow":
                    figures["checked"] = "ceiling only: no ledger written"
                else:
                    _check_log(1 + figures["entries"])
                    figures["checked"] = "gapless, no duplicate, root == root of the leaves"
                _use_database("postgres")
                scratch.drop(db)
                print(f"  {figures['rate']:,.0f} {figures['unit']} ({figures['wall_s']} s)", file=sys.stderr)
                result["appends"].append(figures)

        if not args.skip_proofs:
            db = scratch.create("_proofs", template=template)
            _use_database(db)
            rng = random.Random(args.seed)
            for size in args.sizes:
                grow_s = _grow(size, args.grow_batch, args.no_progress)
                print(f"proofs at {size:,} entries ...", file=sys.stderr, flush=True)
                figures = _measure_proofs(size, rng, args.proofs, args.verify, grow_s)
                figures["grow_rate_entries_per_s"] = round(size / grow_s, 0) if grow_s else None
                result["proofs"].append(figures)
            largest = args.sizes[-1]
            result["read_nodes_explain"] = _explain_read_nodes(rng.randrange(largest), largest)
            _use_database("postgres")

        targets = []
        for a in result["appends"]:
            if (target := TARGETS.get((a["mode"], a["writers"]))) is not None:
                targets.append(
                    {
                        "name": f"{a['mode']} appends, {a['writers']} writers",
                        "figure": a["rate"],
                        "unit": a["unit"],
                        "target": f">= {target:g}",
                        "met": a["rate"] >= target,
                    }
                )
        for p in result["proofs"]:
            if p["size"] == PROOF_TARGET_SIZE:
                for key in ("inclusion_ms", "consistency_ms", "root_ms"):
                    targets.append(
                        {
                            "name": f"{key[:-3]} p99 at {p['size']:,}",
                            "figure": p[key]["p99"],
                            "unit": "ms",
                            "target": f"<= {PROOF_TARGET_P99_MS:g}",
                            "met": p[key]["p99"] <= PROOF_TARGET_P99_MS,
                        }
                    )
        result["targets"] = targets

        print()
        print(_report(result))
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nwrote {args.output}")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not be set up yet
            pass
        for child in mp.active_children():
            child.terminate()
        failures = scratch.drop_all()
        for failure in failures:
            print(f"warning: could not drop scratch database {failure}", file=sys.stderr)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
