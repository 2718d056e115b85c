"""The market client, key files and the work loop against an in-memory market (`fake_market`, no network)."""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import ipaddress
import json
import math
import os
import signal
import ssl
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import NameOID

from adapters import keyfile
from adapters.cli import main
from adapters.drivers.llvm import LLVMDriver
from adapters.evaluate import corpus_programs
from adapters.ledger.cosignature import Cosignature, WitnessVerifier, verify_cosigned
from adapters.ledger.note import Verifier, split_note
from adapters.plan import Plan
from adapters.privacy import SIGNAL_KEYS, SpendRecord, local_rho_limit_nano, release, rho_nano
from adapters.sdk import ApiError, LogVerificationError, MarketClient, Task
from adapters.tests.fake_market import BASE_URL, WITNESS_NAME, FakeMarket, Fault, problem
from adapters.work import (
    INTERRUPTED,
    LOCAL_BUDGET_EXCEEDED,
    NOISE_BELOW_FLOOR,
    OTHER_PROBLEM,
    WorkLoop,
    WorkOptions,
    corpus_commitment,
)

DATA = Path(__file__).parent / "data"
PROGRAMS = ["checksum.ll", "crc32.c", "sort.c", "tokens.c"]


@pytest.fixture
def market() -> FakeMarket:
    return FakeMarket()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def client_for(market: FakeMarket, sleeps: list[float], *, api_key: str | None = None) -> MarketClient:
    return MarketClient(
        BASE_URL, api_key or market.api_key, transport=market.transport(), sleep=sleeps.append, retries=3
    )


@pytest.fixture
def client(market: FakeMarket, sleeps: list[float]) -> Iterator[MarketClient]:
    with client_for(market, sleeps) as client:
        yield client


@pytest.fixture
def key(tmp_path: Path, market: FakeMarket) -> keyfile.DeploymentKey:
    key = keyfile.generate(tmp_path / "deployment.key")
    key.api_key = market.enrol(key.public_key)
    key.save()
    return key


class HookedDriver(LLVMDriver):
    """The real llvm driver, calling `hook` before each program (to stop or slow an evaluation)."""

    def __init__(self, hook: Callable[[], None], **options) -> None:
        super().__init__(**options)
        self.hook = hook

    def measure(self, plan: Plan, program: Path):
        self.hook()
        return super().measure(plan, program)

    def measurements_cacheable(self) -> bool:
        return False  # a stored measurement would skip the hook


def make_loop(
    client: MarketClient,
    key: keyfile.DeploymentKey,
    adapter_cache: Path,
    *,
    hook: Callable[[], None] | None = None,
    spend: SpendRecord | None = None,
    logs: list[str] | None = None,
    **options,
) -> WorkLoop:
    driver = HookedDriver(hook or (lambda: None), cache_dir=adapter_cache)
    settings = WorkOptions(corpus=DATA, problem="corpus", problem_class="llvm/text-bytes", toolchain="llvm", **options)
    sink = logs if logs is not None else []
    return WorkLoop(client, key, settings, spend=spend, log=sink.append, driver_factory=lambda name: driver)


# --- problem details and retries ------------------------------------------------------------------------------


def test_problem_details_become_api_errors_with_their_code(market: FakeMarket, client: MarketClient) -> None:
    market.queue(1)
    client.lease()
    with pytest.raises(ApiError) as excinfo:
        client.heartbeat(99)
    assert (excinfo.value.code, excinfo.value.status) == ("not_your_task", 404)
    assert str(excinfo.value) == "task 99 is not leased to this deployment (not_your_task, HTTP 404)"
    client.fail(1, "crash")
    with pytest.raises(ApiError) as excinfo:
        client.heartbeat(1)
    error = excinfo.value
    assert (error.code, error.status, error.detail) == ("task_not_leased", 409, "task 1 is failed")


def test_a_page_that_is_not_a_problem_is_a_bad_response(market: FakeMarket, client: MarketClient, sleeps) -> None:
    market.faults["lease"].append(Fault(status=502))
    with pytest.raises(ApiError) as excinfo:
        client.lease()
    assert (excinfo.value.code, excinfo.value.status) == ("bad_response", 502)
    assert "Bad Gateway" in str(excinfo.value) and sleeps == []  # a lease is not repeated after a 502


def test_a_wrong_key_gets_a_one_line_message_naming_the_fix(market: FakeMarket, sleeps) -> None:
    with client_for(market, sleeps, api_key="opm_000000000000_wrong") as client, pytest.raises(ApiError) as excinfo:
        client.lease()
    error = excinfo.value
    assert (error.code, error.status) == ("invalid_key", 401)
    assert "\n" not in str(error) and "rejected the API key" in str(error) and "keyfile set-api-key" in str(error)
    assert market.attempts["lease"] == 1


def statement(task: Task, value: float = 0.01) -> bytes:
    """A full signed statement (contract opm-adapter 2.0) for a leased plan task, released over four programs."""
    released = release([value] * 4, clip=task.clip_bound, noise_multiplier=task.noise_multiplier)
    fields = {"round": task.round, "problem": task.problem, "phase": task.phase, "plan": task.plan_hash}
    return rfc8785.dumps(released.to_signal_body(task=task.id, base=None, **fields))


def test_signals_are_retried_on_connection_errors_and_lost_answers(market, client, key, sleeps) -> None:
    market.queue(1)
    (task,) = client.lease()
    body = statement(task)
    market.faults["signals"] += [
        Fault(httpx.ConnectError("[Errno 111] Connection refused")),
        Fault(httpx.ReadError("connection reset"), after=True),  # accepted, but the 201 never arrived
    ]
    receipt = client.submit_signal(body, key.signing_key)
    assert market.attempts["signals"] == 3 and market.calls["signals"] == 2 and len(market.signals) == 1
    assert receipt.ledger_index == market.tasks[task.id]["ledger_index"] and not receipt.created  # the replay's 200
    assert sleeps == [0.5, 1.0]


def test_leases_are_never_repeated_once_sent(market: FakeMarket, client: MarketClient, sleeps) -> None:
    market.queue(2)
    market.faults["lease"].append(Fault(httpx.ReadError("connection reset"), after=True))
    with pytest.raises(ApiError) as excinfo:
        client.lease()
    assert excinfo.value.code == "unreachable" and excinfo.value.transient
    assert market.attempts["lease"] == 1 and sleeps == []  # a repeat would lease (and charge) a second task
    assert [t["state"] for t in market.tasks.values()] == ["leased", "queued"]


def test_a_lease_that_never_left_is_retried(market: FakeMarket, client: MarketClient, sleeps) -> None:
    market.queue(1)
    market.faults["lease"].append(Fault(httpx.ConnectError("[Errno 111] Connection refused")))
    assert [task.id for task in client.lease()] == [1]
    assert market.attempts["lease"] == 2 and market.calls["lease"] == 1 and sleeps == [0.5]


def test_an_unreachable_server_gives_up_after_the_retries_with_one_line(market: FakeMarket, client, sleeps) -> None:
    market.faults["ledger"] += [Fault(httpx.ConnectError("[Errno 111] Connection refused")) for _ in range(4)]
    with pytest.raises(ApiError) as excinfo:
        client.verifier_key()
    assert str(excinfo.value) == f"cannot reach {BASE_URL}: [Errno 111] Connection refused"
    assert sleeps == [0.5, 1.0, 2.0] and market.attempts["ledger"] == 4


def test_a_certificate_failure_is_not_retried(market: FakeMarket, client: MarketClient, sleeps) -> None:
    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    cause.verify_message = "self-signed certificate"
    error = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]")
    error.__cause__ = cause
    market.faults["lease"].append(Fault(error))
    with pytest.raises(ApiError) as excinfo:
        client.lease()
    assert excinfo.value.code == "bad_certificate" and sleeps == []
    assert "self-signed certificate" in str(excinfo.value) and "--ca-bundle" in str(excinfo.value)


# --- TLS against a real local server (loopback only) ----------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.1 with a certificate of a private CA; yields its URL and the CA's PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "opm test CA")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = tmp_path / "ca.pem"
    cert_pem.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_pem = tmp_path / "key.pem"
    key_pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            body = b"market.test/log+01234567+AQ==\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_pem, key_pem)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert_pem
    server.shutdown()
    server.server_close()


def test_tls_is_verified_by_default_and_a_private_ca_bundle_works(tls_server, sleeps) -> None:
    url, ca = tls_server
    with MarketClient(url, sleep=sleeps.append) as client, pytest.raises(ApiError) as excinfo:
        client.verifier_key()
    assert excinfo.value.code == "bad_certificate" and "--ca-bundle" in str(excinfo.value) and sleeps == []
    with MarketClient(url, verify=ca) as client:
        assert client.verifier_key() == "market.test/log+01234567+AQ=="


def test_a_missing_ca_bundle_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ApiError) as excinfo:
        MarketClient(BASE_URL, verify=tmp_path / "nope.pem")
    assert excinfo.value.code == "bad_ca_bundle" and "nope.pem" in str(excinfo.value)


# --- the public log -------------------------------------------------------------------------------------------


def test_checkpoints_verify_and_a_swapped_log_key_does_not(market: FakeMarket, client: MarketClient) -> None:
    with pytest.raises(ApiError) as excinfo:
        client.checkpoint()
    assert excinfo.value.code == "ledger_empty"
    market.append("contract.approved", {})
    market.issue_checkpoint()
    first, vkey = client.verified_checkpoint()
    assert (first.origin, first.size, vkey) == ("market.test/log", 1, market.vkey)
    for index in range(3):
        market.append("vote.cast", {"n": index})
    market.issue_checkpoint()
    second, _ = client.verified_checkpoint(vkey)
    client.verify_consistency(first, second)
    assert client.verify_inclusion(2, second)["payload"] == {"n": 1}
    impostor = FakeMarket()
    with pytest.raises(LogVerificationError, match="does not verify"):
        client.verified_checkpoint(impostor.vkey)


# --- key files ------------------------------------------------------------------------------------------------


def test_keygen_writes_a_0600_key_file_and_prints_the_public_key(tmp_path: Path, capsys) -> None:
    path = tmp_path / "keys" / "deployment.key"
    assert main(["keygen", "--out", str(path)]) == 0
    out, err = capsys.readouterr()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["deployment.key"]  # no temporary file left behind
    key = keyfile.load(path)
    assert out.strip() == key.public_key_hex and len(bytes.fromhex(out.strip())) == 32
    assert "deployments enrol" in err and key.api_key is None
    assert main(["keygen", "--out", str(path)]) == 1  # never overwrite a key that may be enrolled
    assert "already exists" in capsys.readouterr().err and keyfile.load(path).public_key_hex == key.public_key_hex


def test_set_api_key_stores_it_and_keeps_the_mode(tmp_path: Path, capsys) -> None:
    path = tmp_path / "deployment.key"
    assert main(["keygen", "--out", str(path)]) == 0
    assert main(["keyfile", "set-api-key", str(path), "not a key"]) == 1
    assert main(["keyfile", "set-api-key", str(path), "opm_0123456789ab_s3cret"]) == 0
    assert keyfile.load(path).api_key == "opm_0123456789ab_s3cret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    capsys.readouterr()
    assert main(["keyfile", "show", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "set (0123456789ab)" in shown and "s3cret" not in shown


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    key = keyfile.generate(tmp_path / "deployment.key")
    os.chmod(key.path, 0o644)
    with pytest.raises(keyfile.KeyFileError, match="chmod 600"):
        keyfile.load(key.path)


def test_run_refuses_a_key_file_without_api_key(tmp_path: Path, capsys) -> None:
    key = keyfile.generate(tmp_path / "deployment.key")
    argv = ["run", "--server", BASE_URL, "--key-file", str(key.path), "--corpus", str(DATA)]
    assert main([*argv, "--problem", "c", "--problem-class", "llvm/text-bytes"]) == 2
    assert "has no API key" in capsys.readouterr().err


# --- the work loop --------------------------------------------------------------------------------------------


def test_the_loop_leases_evaluates_signs_and_submits(market, client, key, cache_env, adapter_cache) -> None:
    market.append("contract.approved", {})
    market.issue_checkpoint()
    market.queue(2)
    logs: list[str] = []
    loop = make_loop(client, key, adapter_cache, logs=logs, max_tasks=2)
    assert loop.run() == 0
    public = Ed25519PublicKey.from_public_bytes(key.public_key)
    assert sorted(market.signals) == [1, 2]
    for task_id, body in market.signals.items():
        document = json.loads(body)
        assert set(document) == SIGNAL_KEYS and rfc8785.dumps(document) == body
        assert (document["task"], document["n"], document["mechanism"]) == (task_id, 4, "gaussian")
        assert document["parameters"]["noise_multiplier"] == 20.0 and document["parameters"]["clip_bound"] == 0.1
        task = market.tasks[task_id]  # the statement says what was measured, exactly as the task named it
        assert (document["plan"], document["problem"], document["base"]) == (task["plan_hash"], "corpus", None)
        assert (document["round"], document["phase"], document["statistic"]) == (None, "", "clipped_gain")
        assert not any(name.encode() in body for name in PROGRAMS)  # nothing per program leaves
        entry = json.loads(market.leaves[market.tasks[task_id]["ledger_index"]])
        assert entry["payload"]["body"] == document
    # The server verified every signature on arrival; check one more time with the enrolled key.
    signature = key.signing_key.sign(market.signals[1])
    public.verify(signature, market.signals[1])
    # Registration sent the size and a salted commitment only; the salt stayed in the key file.
    registered = market.problems["corpus"]
    record = keyfile.load(key.path).problems["corpus"]
    programs = corpus_programs(DATA, LLVMDriver(cache_dir=adapter_cache))
    assert registered == {
        "handle": "corpus",
        "problem_class": "llvm/text-bytes",
        "corpus_size": 4,
        "commitment": corpus_commitment(programs, bytes.fromhex(record.salt)),
    }
    assert keyfile.load(key.path).log.vkey == market.vkey  # pinned on first use
    assert market.calls["lease"] == 2 and any("signal accepted" in line for line in logs)


def test_the_log_is_checked_at_exit_including_our_signals(market, client, key, cache_env, adapter_cache) -> None:
    market.append("contract.approved", {})
    market.issue_checkpoint()
    market.queue(1)
    logs: list[str] = []
    loop = make_loop(client, key, adapter_cache, logs=logs, once=True)
    original = market._signal

    def signal_then_checkpoint(request):
        response = original(request)
        market.issue_checkpoint()
        return response

    market._signal = signal_then_checkpoint
    assert loop.run() == 0
    assert any("1 of our signal(s) proven in the signed log" in line for line in logs)
    assert keyfile.load(key.path).log.size == len(market.leaves)


def test_a_rewritten_log_stops_the_adapter(market, client, key, cache_env, adapter_cache) -> None:
    market.append("contract.approved", {})
    market.issue_checkpoint()
    logs: list[str] = []
    assert make_loop(client, key, adapter_cache, logs=logs, once=True).run() == 0
    forged = FakeMarket()  # same origin, another history and another key
    forged.api_key = market.api_key
    forged.append("contract.approved", {"forged": True})
    forged.issue_checkpoint()
    with client_for(forged, []) as other:
        assert make_loop(other, keyfile.load(key.path), adapter_cache, logs=logs, once=True).run() == 1
    assert "does not verify" in logs[-1] and 'remove "log"' in logs[-1]


def _witness(key: keyfile.DeploymentKey) -> WitnessVerifier:
    return WitnessVerifier.from_public_key(WITNESS_NAME, key.public_key)


def test_the_adapter_cosigns_each_checkpoint_it_verified_once(market, client, key, cache_env, adapter_cache) -> None:
    market.append("contract.approved", {})
    first, size = market.issue_checkpoint(), len(market.leaves)
    logs: list[str] = []
    assert make_loop(client, key, adapter_cache, logs=logs, once=True).run() == 0
    assert list(market.cosignatures) == [size]
    cosignature = Cosignature.from_line(market.cosignatures[size])
    _witness(key).verify(split_note(first)[0], cosignature)  # the deployment's key, its witness name, this body
    assert abs(cosignature.timestamp - time.time()) < 60
    assert keyfile.load(key.path).log.cosigned == size
    assert any(f"cosigned checkpoint {size} as witness {WITNESS_NAME}" in line for line in logs)
    # Served with the checkpoint, the cosignature checks out with the log key and the witness key.
    served = client.cosigned_checkpoint()
    assert verify_cosigned(served, Verifier.from_vkey(market.vkey), [_witness(key)])[1] == [cosignature]
    # The same checkpoint again is not cosigned again; a newer, consistent one is.
    submitted = market.calls["ledger"]
    assert make_loop(client, keyfile.load(key.path), adapter_cache, logs=logs, once=True).run() == 0
    assert list(market.cosignatures) == [size] and market.calls["ledger"] < submitted + 4
    market.append("vote.cast", {"n": 1})
    second = market.issue_checkpoint()
    assert make_loop(client, keyfile.load(key.path), adapter_cache, logs=logs, once=True).run() == 0
    assert sorted(market.cosignatures) == [size, size + 1]
    _witness(key).verify(split_note(second)[0], Cosignature.from_line(market.cosignatures[size + 1]))


@pytest.mark.parametrize("keep", [0, 1])
def test_a_witness_refuses_a_forked_log_and_says_why(market, client, key, cache_env, adapter_cache, keep) -> None:
    """The log key still signs, but the history behind the new checkpoint is not the one this adapter saw:
    no consistency proof can join them, so the adapter stops and cosigns nothing."""
    market.append("contract.approved", {})
    market.issue_checkpoint()
    size = len(market.leaves)
    logs: list[str] = []
    assert make_loop(client, key, adapter_cache, logs=logs, once=True).run() == 0
    assert list(market.cosignatures) == [size]
    # Same log key, another past: entries from `keep` on rewritten, two appended; the new tree has the size we
    # pinned (keep = size - 2: the same size, another root) or is larger (keep = size - 1).
    market.fork(keep=size - 2 + keep)
    assert len(market.leaves) == size + keep
    assert make_loop(client, keyfile.load(key.path), adapter_cache, logs=logs, once=True).run() == 1
    assert len(market.cosignature_posts) == 1 and list(market.cosignatures) == [size]  # nothing for the fork
    assert logs[-1].startswith("error: ")
    assert ("forked" if keep == 0 else "not consistent") in logs[-1], logs[-1]
    assert keyfile.load(key.path).log.size == size  # the pin still holds the history we verified


def test_a_failed_cosignature_is_a_warning_and_no_witness_cosigns_nothing(
    market, client, key, cache_env, adapter_cache
) -> None:
    market.append("contract.approved", {})
    market.issue_checkpoint()
    logs: list[str] = []
    refuse = market._witness
    market._witness = lambda request, path: problem(503, "service_unavailable", "try later")
    assert make_loop(client, key, adapter_cache, logs=logs, once=True).run() == 0
    assert not market.cosignatures and any("warning: could not cosign checkpoint" in line for line in logs)
    assert keyfile.load(key.path).log.cosigned is None  # tried again next time
    market._witness = refuse
    assert make_loop(client, keyfile.load(key.path), adapter_cache, once=True, witness=False).run() == 0
    assert not market.cosignatures
    assert make_loop(client, keyfile.load(key.path), adapter_cache, once=True).run() == 0
    assert list(market.cosignatures) == [len(market.leaves)]


def test_a_cosignature_the_server_already_holds_is_recorded_not_repeated(
    market, client, key, cache_env, adapter_cache
) -> None:
    market.append("contract.approved", {})
    market.issue_checkpoint()
    size = len(market.leaves)
    market.cosignatures[size] = "— earlier line"  # cosigned by this deployment in a run whose key file was lost
    logs: list[str] = []
    assert make_loop(client, key, adapter_cache, logs=logs, once=True).run() == 0
    assert market.cosignatures[size] == "— earlier line" and keyfile.load(key.path).log.cosigned == size
    assert any("cosigned by this deployment before" in line for line in logs)


def test_an_already_registered_problem_is_fine_and_no_task_means_exit(market, client, key, cache_env, adapter_cache):
    market.problems["corpus"] = {"handle": "corpus"}
    logs: list[str] = []
    assert make_loop(client, key, adapter_cache, logs=logs, once=True).run() == 0
    assert any("already registered" in line for line in logs) and "no task available" in logs[-2]


def test_a_local_budget_refusal_reports_the_failure_and_stops(market, client, key, cache_env, adapter_cache, tmp_path):
    market.queue(3)
    spend = SpendRecord.load(tmp_path / "spend.json", limit_rho_nano=rho_nano(20.0) - 1)  # not even one release
    logs: list[str] = []
    assert make_loop(client, key, adapter_cache, logs=logs, spend=spend).run() == 1
    assert market.failures == {1: LOCAL_BUDGET_EXCEEDED} and market.signals == {}
    assert market.calls["lease"] == 1  # no further lease: the server would charge each one
    assert "local budget exhausted" in logs[-1]


def test_the_local_record_charges_each_release(market, client, key, cache_env, adapter_cache, tmp_path) -> None:
    market.queue(2)
    spend = SpendRecord.load(tmp_path / "spend.json", local_rho_limit_nano(1.0, 1e-6))
    assert make_loop(client, key, adapter_cache, spend=spend, max_tasks=2).run() == 0
    record = SpendRecord.load(tmp_path / "spend.json", spend.limit_rho_nano)
    assert [charge.task for charge in record.charges] == ["1", "2"]
    assert record.spent_rho_nano == 2 * rho_nano(20.0)


def test_a_stop_during_a_task_reports_it_interrupted(market, client, key, cache_env, adapter_cache) -> None:
    market.queue(2)
    logs: list[str] = []
    loops: list[WorkLoop] = []
    loop = make_loop(client, key, adapter_cache, logs=logs, hook=lambda: loops[0].request_stop("SIGTERM"))
    loops.append(loop)
    started = time.monotonic()
    assert loop.run() == 0
    assert market.failures == {1: INTERRUPTED} and market.signals == {}
    assert market.tasks[2]["state"] == "queued" and market.calls["lease"] == 1
    assert "stopped (SIGTERM) after 1 task(s)" in logs[-1] and time.monotonic() - started < 30


def test_heartbeats_keep_a_long_evaluation_leased(market, client, key, cache_env, adapter_cache) -> None:
    market.queue(1)
    loop = make_loop(client, key, adapter_cache, hook=lambda: time.sleep(0.1), heartbeat_seconds=0.05, once=True)
    assert loop.run() == 0
    assert market.heartbeats[1] >= 2 and 1 in market.signals


def test_a_lost_lease_sends_no_signal(market, client, key, cache_env, adapter_cache) -> None:
    market.queue(1)
    market.lease_lost = True
    logs: list[str] = []
    loop = make_loop(
        client, key, adapter_cache, logs=logs, hook=lambda: time.sleep(0.1), heartbeat_seconds=0.05, once=True
    )
    assert loop.run() == 0
    assert market.signals == {} and any("lease lost (lease_expired)" in line for line in logs)


def test_an_invalid_plan_is_reported_not_evaluated(market, client, key, cache_env, adapter_cache) -> None:
    market.queue(1, plan={"toolchain": "llvm", "passes": [{"name": "no-such-pass"}]})
    assert make_loop(client, key, adapter_cache, once=True).run() == 0
    assert market.failures[1] == "invalid plan" and market.signals == {}  # the detail stays on this machine


def test_a_task_asking_for_too_little_noise_or_another_problem_is_refused(
    market, client, key, cache_env, adapter_cache
):
    market.honour_problem = False  # a compromised server: it leases whatever it likes
    market.queue(1, noise_multiplier=0.01)  # wanting an almost exact mean
    market.queue(1, problem="someone-elses-corpus")
    market.queue(1)
    logs: list[str] = []
    assert make_loop(client, key, adapter_cache, logs=logs, max_tasks=3).run() == 0
    assert market.failures == {1: NOISE_BELOW_FLOOR, 2: OTHER_PROBLEM}
    assert list(market.signals) == [3]  # the loop went on with the next task


def test_a_lease_names_the_problem_the_adapter_evaluates_on(market, client, key, cache_env, adapter_cache) -> None:
    """Two corpora of one class under one deployment: an adapter working on `corpus` asks only for its tasks,
    so the other corpus's tasks are neither leased (nor charged) nor measured on the wrong programs."""
    other = market.queue(1, problem="second-corpus")
    mine = market.queue(1, round=7, phase="selection")
    assert make_loop(client, key, adapter_cache, max_tasks=1).run() == 0
    assert {request.get("problem") for request in market.lease_requests} == {"corpus"}
    assert market.tasks[other[0]]["state"] == "queued" and list(market.signals) == mine
    signed = json.loads(market.signals[mine[0]])
    assert (signed["problem"], signed["round"], signed["phase"]) == ("corpus", 7, "selection")


def test_plain_http_servers_are_refused_unless_asked_for(tmp_path: Path, capsys) -> None:
    key = keyfile.generate(tmp_path / "deployment.key")
    run = ["run", "--server", "http://market.example", "--key-file", str(key.path), "--corpus", str(DATA)]
    assert main([*run, "--problem", "c", "--problem-class", "llvm/text-bytes"]) == 2
    assert "plain HTTP" in capsys.readouterr().err
    sync = ["sync", "--server", "http://market.example", "--problem-class", "llvm/text-bytes"]
    assert main([*sync, "--state", str(tmp_path / "state.json")]) == 2
    assert "plain HTTP" in capsys.readouterr().err


def test_a_revoked_key_stops_the_loop_with_exit_1(market, client, key, cache_env, adapter_cache) -> None:
    market.queue(1)
    market.api_key = "opm_changed00000_x"
    logs: list[str] = []
    assert make_loop(client, key, adapter_cache, logs=logs).run() == 1
    assert "rejected the API key" in logs[-1]


def test_the_signature_header_is_base64_ed25519(market, client, key) -> None:
    seen: list[httpx.Request] = []
    original = market.handle
    market.handle = lambda request: seen.append(request) or original(request)  # type: ignore[method-assign]
    market.queue(1)
    with client_for(market, []) as fresh:
        (task,) = fresh.lease()
        body = statement(task, 0.0)
        assert fresh.submit_signal(body, key.signing_key).created
    request = seen[-1]
    signature = base64.b64decode(request.headers["X-OPM-Signature"])
    Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature, request.content)
    assert request.headers["Content-Type"] == "application/json" and request.content == body


def test_sigterm_to_the_command_line_reports_the_task_interrupted(market, key, cache_env, monkeypatch, capsys) -> None:
    """The real `opm-adapter run` and a real SIGTERM, with the fake market behind the client's transport."""
    market.queue(2)
    real_client = httpx.Client
    monkeypatch.setattr("adapters.sdk.httpx.Client", lambda **kw: real_client(**kw | {"transport": market.transport()}))
    measure = LLVMDriver.measure
    sent: list[int] = []

    def measure_then_terminate(self, plan, program):
        if not sent:
            sent.append(signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)
        return measure(self, plan, program)

    monkeypatch.setattr(LLVMDriver, "measure", measure_then_terminate)
    before = signal.getsignal(signal.SIGTERM)
    argv = ["run", "--server", BASE_URL, "--key-file", str(key.path), "--corpus", str(DATA), "--problem", "corpus"]
    assert main([*argv, "--problem-class", "llvm/text-bytes"]) == 0
    assert market.failures == {1: INTERRUPTED} and market.signals == {} and market.tasks[2]["state"] == "queued"
    assert "stopped (SIGTERM) after 1 task(s)" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) == before
    record = SpendRecord.load(key.path.with_suffix(".spend.json"), 10**18)  # kept by default, beside the key file
    assert [charge.task for charge in record.charges] == ["1"]


def test_a_portfolio_task_releases_the_candidates_marginal_gain(market, client, key, cache_env, adapter_cache) -> None:
    oz = {"toolchain": "llvm", "passes": [{"name": "default", "params": {"level": "Oz"}}]}
    ipra = {**oz, "knobs": {"llc": {"enable-ipra": True}}}
    basic = {**oz, "knobs": {"llc": {"regalloc": "basic"}}}
    base = {"toolchain": "llvm", "members": [basic]}
    market.queue(1, plan=ipra, base=base)
    market.queue(1, plan=basic, base=base)  # already a member: it adds nothing anywhere
    logs: list[str] = []
    assert make_loop(client, key, adapter_cache, logs=logs, max_tasks=2).run() == 0, logs
    first, second = (json.loads(market.signals[task]) for task in (1, 2))
    for document in (first, second):
        assert document["statistic"] == "marginal_log_gain" and document["base"] == market.tasks[1]["base_hash"]
        assert document["parameters"]["sensitivity"] == pytest.approx(0.1 / 4)  # c / n: gains lie in [0, c]
    # Both are noised (m = 20 gives a std of 0.5 here), so only the shape is checked, not the values.
    assert math.isfinite(first["value"]) and math.isfinite(second["value"])


def test_the_marginal_gain_per_program_is_log_size_s_minus_log_size_s_plus_q() -> None:
    from adapters.evaluate import ProgramResult
    from adapters.sdk import Task
    from adapters.work import _gain

    task = Task(1, "p", {}, "a" * 64, 20.0, 0.1, "", base={"toolchain": "llvm", "members": [{}]}, base_hash="b" * 64)

    def result(*candidates: int | None) -> ProgramResult:
        return ProgramResult(
            "m.ll", candidates[0], min(c for c in candidates if c), None, None, "ok", candidate_bytes=candidates
        )

    assert _gain(result(100, 90, 85), task, "marginal_log_gain", 2) == pytest.approx(math.log(90 / 85))
    assert _gain(result(100, 90, 50), task, "marginal_log_gain", 2) == 0.1  # clipped at c
    assert _gain(result(100, 90, None), task, "marginal_log_gain", 2) == 0.0  # the candidate failed
    assert _gain(result(100, 90, 95), task, "marginal_log_gain", 2) == 0.0  # not smaller than S's best
    assert _gain(result(100, 120, 95), task, "marginal_log_gain", 2) == pytest.approx(math.log(100 / 95))
    assert _gain(result(100, 90), task, "marginal_log_gain", 1) == 0.0  # q was already in S
