"""The backtest binds every signal to what it measures: an operator holding the log key who rewrites an export
(a payload that says something its signed statement does not, a statement cited twice, a signing key swapped
in without the old key's signature) gets a divergence naming the entry, never "reproduced" or a traceback."""

import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.management import call_command

from adapters.contract import rotation_statement
from adapters.ledger.checkpoint import Checkpoint, sign_checkpoint
from adapters.ledger.export import CHECKPOINT_FILE, CHECKPOINTS_DIR, ENTRIES_FILE, encode_leaf
from adapters.ledger.merkle import leaf_hash, root_from_leaves
from governance.log_key import log_signer
from orchestration import backtest, orchestrator
from orchestration.services import deployment_key_rotate

from .federation import Federation

pytestmark = pytest.mark.django_db


def raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def entries(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / ENTRIES_FILE).read_bytes().splitlines()]


def resealed(source: Path, target: Path, rows: list[dict]) -> Path:
    """A copy of the export holding `rows` instead, with a fresh checkpoint signed by the log's own key: what an
    operator who rewrote history before publishing it could hand out. It verifies as an export."""
    shutil.copytree(source, target)
    shutil.rmtree(target / CHECKPOINTS_DIR, ignore_errors=True)  # earlier checkpoints would betray the rewrite
    leaves = [encode_leaf({**row, "index": index}) for index, row in enumerate(rows)]
    (target / ENTRIES_FILE).write_bytes(b"".join(leaf + b"\n" for leaf in leaves))
    root = root_from_leaves([leaf_hash(leaf) for leaf in leaves])
    signer = log_signer()
    (target / CHECKPOINT_FILE).write_bytes(sign_checkpoint(Checkpoint(signer.name, len(leaves), root), signer))
    return target


def test_a_rewritten_signal_or_key_history_diverges_and_the_honest_one_reproduces(
    tmp_path, monkeypatch, adapter_contract
):
    federation = Federation(tmp_path)
    monkeypatch.setattr(orchestrator, "_wait", federation.wait)
    rotating = federation.members[0]
    new_key = Ed25519PrivateKey.generate()
    statement = rotation_statement(
        deployment=rotating.deployment.pk, old_public_key=raw(rotating.key), new_public_key=raw(new_key)
    )
    rotating.deployment, _ = deployment_key_rotate(
        deployment=rotating.deployment,
        public_key=raw(new_key),
        old_key_signature=rotating.key.sign(statement),
        actor="test",
    )
    rotating.key = new_key  # its signals from now on verify only through the ledgered rotation
    orchestrator.run_round(federation.settings(seed=5))
    directory = tmp_path / "export"
    call_command("ledger", "checkpoint")
    call_command("ledger", "export", str(directory), "--no-progress")
    rows = entries(directory)
    signals = [i for i, row in enumerate(rows) if row["kind"] == "signal.accepted"]
    rotation = next(i for i, row in enumerate(rows) if row["kind"] == "deployment.key_rotated")
    first = rows[signals[0]]
    other = next(rows[i] for i in signals if rows[i]["payload"]["plan_hash"] != first["payload"]["plan_hash"])

    def verdict(name: str, changed: list[dict]) -> backtest.Replay:
        return backtest.replay(resealed(directory, tmp_path / name, changed))

    assert backtest.replay(directory).verdict == "reproduced"
    assert verdict("honest", rows).verdict == "reproduced"  # resealing alone changes nothing

    def with_payload(index: int, **changes) -> list[dict]:
        edited = json.loads(json.dumps(rows))
        edited[index]["payload"].update(changes)
        return edited

    # The same signed statement cited as evidence for another plan, phase, problem, task or participant.
    for field, value in [
        ("plan_hash", other["payload"]["plan_hash"]),
        ("phase", "confirmation" if first["payload"]["phase"] == "selection" else "selection"),
        ("problem", "someone-else"),
        ("participant", federation.members[-1].participant.name),
        ("round", first["payload"]["round"] + 1),
    ]:
        replay = verdict(f"payload-{field}", with_payload(signals[0], **{field: value}))
        assert replay.verdict == "diverged", field
        assert replay.divergence.startswith(f"entry {signals[0]}:"), replay.divergence
        assert field in replay.divergence and "differ from what was signed" in replay.divergence, replay.divergence
    extra = verdict("payload-extra", with_payload(signals[0], note="unsigned"))
    assert "not a full signed statement" in extra.divergence

    # The statement itself rewritten (another plan): its signature no longer holds.
    body = {**first["payload"]["body"], "plan": other["payload"]["body"]["plan"]}
    resigned = verdict("body", with_payload(signals[0], body=body, plan_hash=body["plan"]))
    assert "does not verify" in resigned.divergence

    # A signal cited twice: its entry again, later in the log.
    twice = verdict("twice", [*rows, json.loads(json.dumps(first))])
    assert twice.verdict == "diverged" and f"already cited by entry {signals[0]}" in twice.divergence
    assert twice.divergence.startswith(f"entry {len(rows)}:")

    # A signing key swapped in by the operator, who then signs "signals" of its own.
    forged_key = Ed25519PrivateKey.generate()
    swapped = with_payload(rotation, public_key=raw(forged_key).hex())
    replay = verdict("rotation", swapped)
    assert replay.verdict == "diverged" and "not signed over by the key it replaces" in replay.divergence
    no_proof = json.loads(json.dumps(rows))
    del no_proof[rotation]["payload"]["old_key_signature"]
    assert "not signed over" in verdict("rotation-unproven", no_proof).divergence
