"""End to end over real HTTP: a real `opm-adapter` process works for the live server.

The operator approves a release and enrols a deployment with a key made by `opm-adapter keygen`; the adapter
registers its corpus (`run --once`), then leases the queued tasks, evaluates each plan with the llvm driver on
the bundled test corpus, and submits Ed25519-signed signals. The server must have verified and ledgered every
one, and the adapter's SDK must prove them in the signed log with the key it pinned on first use.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings

from adapters import keyfile
from adapters.ledger.cosignature import verify_cosigned
from adapters.ledger.note import Verifier
from adapters.privacy import SIGNAL_KEYS
from adapters.sdk import MarketClient
from governance.models import LedgerEntry
from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import checkpoint_issue, policy_activate, policy_create
from orchestration.models import (
    CheckpointCosignature,
    EvaluationTask,
    LocalProblem,
    PerformanceSignal,
    Plan,
    PrivacyCharge,
)
from orchestration.services import deployment_enrol
from registry.services import release_transition
from tests.governance.fixtures import pass_conformance
from tests.orchestration.factories import ParticipantFactory

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "adapters" / "tests" / "data"
PLANS = [
    {"toolchain": "llvm", "passes": [{"name": "default", "params": {"level": "Oz"}}, {"name": pass_name}], "knobs": {}}
    for pass_name in ("gvn", "instcombine", "simplifycfg")
]


def adapter(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run the real command line in its own process, as a participant would."""
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if check:
        assert done.returncode == 0, f"opm-adapter {args[0]} exited {done.returncode}:\n{done.stderr}"
    return done


@pytest.fixture
def approved_release(board, release, adapter_contract):
    policy = policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"], created_by=None)
    policy_activate(policy=policy, proposal=None, actor="test")
    pass_conformance(release, adapter_contract)
    release_transition(release=release, to_state="in_review", actor="test")
    return release_transition(release=release, to_state="approved", actor="test")


@pytest.mark.django_db(transaction=True)
def test_a_real_adapter_process_works_for_the_live_server(live_server, approved_release, tmp_path):
    env = {**os.environ, "OPM_ADAPTER_CACHE": str(tmp_path / "cache")}
    key_path = tmp_path / "acme.key"
    public_hex = adapter("keygen", "--out", str(key_path), env=env).stdout.strip()
    participant = ParticipantFactory(name="acme")
    deployment, api_key = deployment_enrol(
        participant=participant, release=approved_release, public_key=bytes.fromhex(public_hex), label="main"
    )
    adapter("keyfile", "set-api-key", str(key_path), api_key, env=env)
    pinned = checkpoint_issue()  # the adapter pins the log key and this checkpoint on first use, and cosigns it

    run = [
        "run",
        "--server",
        live_server.url,
        "--insecure-http",  # the test server speaks plain HTTP on localhost
        "--key-file",
        str(key_path),
        "--corpus",
        str(CORPUS),
        "--problem",
        "acme-private",
        "--problem-class",
        "llvm/text-bytes",
    ]
    plain = adapter(*[part for part in run if part != "--insecure-http"], "--once", env=env, check=False)
    assert plain.returncode == 2 and "plain HTTP" in plain.stderr  # refused without the flag
    first = adapter(*run, "--once", env=env)  # registers the corpus; nothing is queued yet
    assert "registered problem 'acme-private'" in first.stderr and "no task available" in first.stderr
    # As the participant's witness, it cosigned the checkpoint it pinned; the server verified and serves it.
    assert f"cosigned checkpoint {pinned.size} as witness" in first.stderr, first.stderr
    assert CheckpointCosignature.objects.get(deployment=deployment).checkpoint == pinned
    with MarketClient(live_server.url) as client:
        served = client.cosigned_checkpoint(pinned.size)
        witnesses = client.witness_keys()
        log = Verifier.from_vkey(client.verifier_key())
    assert [c.name for c in verify_cosigned(served, log, witnesses)[1]] == [
        f"{settings.OPM_LOG_ORIGIN}/witness/acme/{deployment.pk}"
    ]
    problem = LocalProblem.objects.get(deployment=deployment, handle="acme-private")
    record = keyfile.load(key_path).problems["acme-private"]
    assert (problem.corpus_size, problem.commitment) == (4, record.commitment)

    # The same deployment holds a second corpus of the same class (its own adapter process would register it):
    # its task, queued first, must never be leased by (nor charged to, nor measured on) this corpus's adapter.
    elsewhere = EvaluationTask.objects.create(
        plan=Plan.objects.create(toolchain="llvm", body={"toolchain": "llvm", "passes": []}, content_hash="ef" * 32),
        local_problem=LocalProblem.objects.create(
            participant=participant,
            deployment=deployment,
            handle="acme-other",
            problem_class="llvm/text-bytes",
            toolchain="llvm",
            corpus_size=40,
            commitment="cd" * 32,
        ),
        noise_multiplier=20.0,
        clip_bound=0.1,
    )
    tasks = [
        EvaluationTask.objects.create(
            plan=Plan.objects.create(
                toolchain="llvm", body=body, content_hash=hashlib.sha256(rfc8785.dumps(body)).hexdigest()
            ),
            local_problem=problem,
            noise_multiplier=20.0,
            clip_bound=0.1,
        )
        for body in PLANS
    ]
    spend = ["--spend-file", str(tmp_path / "spend.json"), "--local-epsilon", "1"]
    second = adapter(*run, "--max-tasks", "3", *spend, env=env)
    assert "market log verified" in second.stderr and second.stderr.count("signal accepted") == 3, second.stderr

    public_key = Ed25519PublicKey.from_public_bytes(bytes(deployment.public_key))
    for task in tasks:
        task.refresh_from_db()
        assert task.state == "done", (task.pk, task.state, task.failure_reason)
        signal = PerformanceSignal.objects.get(task=task)
        public_key.verify(bytes(signal.signature), bytes(signal.body))  # what the server checked on arrival
        assert (signal.corpus_size, signal.parameters["noise_multiplier"]) == (4, 20.0)
    accepted = LedgerEntry.objects.filter(kind="signal.accepted").order_by("index")
    assert [entry.payload["task"] for entry in accepted] == [task.pk for task in tasks]
    for entry, task in zip(accepted, tasks, strict=True):  # each statement names what it measured, all signed
        body = entry.payload["body"]
        assert set(body) == SIGNAL_KEYS and body["problem"] == "acme-private" and body["task"] == task.pk
        assert (body["plan"], body["round"], body["phase"], body["base"]) == (task.plan.content_hash, None, "", None)
    elsewhere.refresh_from_db()
    assert elsewhere.state == "queued" and not PrivacyCharge.objects.filter(task=elsewhere).exists()
    assert (tmp_path / "spend.json").is_file()

    # The adapter's side of the ledger: the pinned key verifies a new checkpoint, consistent with the one it
    # saw, and every accepted signal is included in it.
    checkpoint_issue()
    pin = keyfile.load(key_path).log
    with MarketClient(live_server.url) as client:
        checkpoint, _ = client.verified_checkpoint(pin.vkey)
        for entry in accepted:
            leaf = client.verify_inclusion(entry.index, checkpoint)
            assert leaf["kind"] == "signal.accepted" and leaf["payload"]["task"] == entry.payload["task"]
