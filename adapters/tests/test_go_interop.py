"""Interoperability with Go's stock golang.org/x/mod/sumdb/note and sumdb/tlog (docs/design.md §5).

The Go program in adapters/tests/go/ledgercheck rebuilds the tree from our export with
tlog.StoredHashes, opens our checkpoints with note.Open, checks our inclusion and consistency
proofs with tlog.CheckRecord / tlog.CheckTree, and requires them to equal tlog.ProveRecord /
tlog.ProveTree exactly. Needs Debian's golang-go and golang-golang-x-mod-dev (offline build).
"""

import base64
import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from adapters.ledger.cosignature import WitnessVerifier, cosign, cosigned_note, witness_name
from adapters.ledger.merkle import MemoryHashStore, consistency_proof, inclusion_proof
from adapters.ledger.note import Signer, Verifier, generate_signer_key, open_note, sign_note
from adapters.tests.test_export_verify import EARLIER_SIZES, ORIGIN, SIGNER, build_export

GO_DIR = Path(__file__).parent / "go" / "ledgercheck"
SIZE = 300


def _xmod_dir() -> Path:
    match = re.search(r"^replace golang.org/x/mod => (\S+)$", (GO_DIR / "go.mod").read_text(), re.M)
    assert match, "go.mod must replace golang.org/x/mod with a local directory"
    return Path(match.group(1))


@pytest.fixture(scope="module")
def ledgercheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.skip("Go is not installed (apt-get install golang-go golang-golang-x-mod-dev)")
    if not (_xmod_dir() / "sumdb" / "tlog" / "tlog.go").exists():
        pytest.skip(f"golang.org/x/mod sources not found at {_xmod_dir()} (apt-get install golang-golang-x-mod-dev)")
    binary = tmp_path_factory.mktemp("go") / "ledgercheck"
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "GOPROXY": "off", "GOTOOLCHAIN": "local", "GOWORK": "off"}
    if "HOME" not in env and "GOCACHE" not in env:
        env["GOCACHE"] = str(tmp_path_factory.mktemp("gocache"))
    build = subprocess.run(
        [go, "build", "-o", str(binary), "."], cwd=GO_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    assert build.returncode == 0, build.stderr
    return binary


def _run(binary: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=120)


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def _corrupt(proof: list[bytes]) -> list[bytes]:
    return [bytes([proof[0][0] ^ 0x10]) + proof[0][1:], *proof[1:]]


def _proofs(leaves: list[bytes]) -> dict[str, list[dict[str, object]]]:
    """Inclusion and consistency proofs made by adapters.ledger.merkle, and corrupted copies."""
    store = MemoryHashStore()
    store.extend(leaves)
    rng = random.Random(9162)
    pairs = {(m, n) for n in range(1, 41) for m in range(n + 1)}  # every pair in small trees
    pairs |= {(m, n) for n in (64, 65, 127, 128, 129, 255, 256, 299, 300) for m in (0, 1, n // 2, n - 1, n)}
    pairs |= {tuple(sorted(rng.sample(range(SIZE + 1), 2))) for _ in range(200)}
    inclusion, consistency = [], []
    for m, n in sorted(pairs):
        if m < n:  # (leaf index, tree size)
            proof = inclusion_proof(m, n, store.read_hashes)
            inclusion.append({"index": m, "size": n, "proof": _b64(proof), "valid": True})
            if proof:
                inclusion.append({"index": m, "size": n, "proof": _b64(_corrupt(proof)), "valid": False})
        if m >= 1:  # Go's tlog defines consistency proofs for 0 < old <= new
            proof = consistency_proof(m, n, store.read_hashes)
            consistency.append({"old": m, "new": n, "proof": _b64(proof), "valid": True})
            if proof:
                consistency.append({"old": m, "new": n, "proof": _b64(_corrupt(proof)), "valid": False})
    return {"inclusion": inclusion, "consistency": consistency}


def test_go_verifies_our_export_checkpoints_and_proofs(ledgercheck: Path, tmp_path: Path) -> None:
    leaves = build_export(tmp_path / "export", size=SIZE)
    proofs = _proofs(leaves)
    (tmp_path / "proofs.json").write_text(json.dumps(proofs))

    result = _run(ledgercheck, "verify", tmp_path / "export", tmp_path / "proofs.json")

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    checkpoint = open_checkpoint((tmp_path / "export" / "checkpoint").read_bytes(), SIGNER.verifier)
    assert (summary["origin"], summary["size"]) == (ORIGIN, SIZE)
    assert base64.b64decode(summary["root"]) == checkpoint.root
    assert summary["checkpoints_checked"] == len(EARLIER_SIZES)
    valid = [p for p in proofs["inclusion"] if p["valid"]]
    assert summary["inclusion_checked"] == len(valid) > 800
    assert summary["inclusion_rejected"] == len(proofs["inclusion"]) - len(valid)
    valid = [p for p in proofs["consistency"] if p["valid"]]
    assert summary["consistency_checked"] == len(valid) > 800
    assert summary["consistency_rejected"] == len(proofs["consistency"]) - len(valid)


def test_go_rejects_a_tampered_export(ledgercheck: Path, tmp_path: Path) -> None:
    build_export(tmp_path / "export", size=50, earlier_sizes=())
    entries = tmp_path / "export" / "entries.jsonl"
    entries.write_bytes(entries.read_bytes().replace(b"board-member-3", b"board-member-4", 1))
    (tmp_path / "proofs.json").write_text('{"inclusion": [], "consistency": []}')
    result = _run(ledgercheck, "verify", tmp_path / "export", tmp_path / "proofs.json")
    assert result.returncode == 1 and "TreeHash(50)" in result.stderr


@pytest.mark.parametrize(
    "text",
    [
        "ledger.openpassmarket.example\n300\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "Ognuno sta solo sul cuor della terra\n\ned è subito sera.\n",
    ],
)
def test_go_signs_exactly_what_we_sign(ledgercheck: Path, tmp_path: Path, text: str) -> None:
    skey, vkey = generate_signer_key("ledger.openpassmarket.example")
    (tmp_path / "skey").write_text(skey + "\n")
    (tmp_path / "text").write_bytes(text.encode())
    result = _run(ledgercheck, "sign", tmp_path / "skey", tmp_path / "text")
    assert result.returncode == 0, result.stderr
    assert result.stdout.encode() == sign_note(text, Signer.from_skey(skey))
    assert open_note(result.stdout.encode(), Verifier.from_vkey(vkey)).text == text


def test_go_generated_keys_work_here(ledgercheck: Path) -> None:
    result = _run(ledgercheck, "keygen", "witness.example/w1")
    assert result.returncode == 0, result.stderr
    skey, vkey = result.stdout.splitlines()
    signer, verifier = Signer.from_skey(skey), Verifier.from_vkey(vkey)
    assert signer.skey == skey and signer.verifier == verifier and verifier.vkey == vkey
    assert open_note(sign_note("hello\n", signer), [verifier]).text == "hello\n"


def test_go_opens_our_cosigned_checkpoints_and_checks_the_cosignatures(ledgercheck: Path, tmp_path: Path) -> None:
    """Stock note.Open verifies the log's signature and keeps the cosignature lines aside; the Go side then
    checks each line with crypto/ed25519 from the spec's message and layout, not from our code."""
    log = Signer.from_skey(generate_signer_key("market.test/log")[0])
    body = Checkpoint("market.test/log", 300, bytes(range(32))).text
    keys = [Ed25519PrivateKey.generate() for _ in range(2)]
    names = [witness_name("market.test/log", participant, 1 + i) for i, participant in enumerate(["acme", "globex"])]
    cosignatures = [
        cosign(body, name=name, private_key=key, timestamp=1_700_000_000 + i)
        for i, (name, key) in enumerate(zip(names, keys, strict=True))
    ]
    (tmp_path / "log.vkey").write_text(log.verifier.vkey + "\n")
    (tmp_path / "note").write_bytes(
        cosigned_note(sign_checkpoint(Checkpoint("market.test/log", 300, bytes(range(32))), log), cosignatures)
    )
    witnesses = [
        WitnessVerifier.from_public_key(n, k.public_key().public_bytes_raw()).vkey
        for n, k in zip(names, keys, strict=True)
    ]
    (tmp_path / "witnesses").write_text("\n".join(witnesses) + "\n")
    result = _run(ledgercheck, "cosigned", tmp_path / "log.vkey", tmp_path / "note", tmp_path / "witnesses")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"name": names[0], "timestamp": 1_700_000_000},
        {"name": names[1], "timestamp": 1_700_000_001},
    ]
    # A cosignature of another checkpoint under a known witness's name is caught by the Go side too.
    other = cosign(Checkpoint("market.test/log", 299, bytes(32)).text, name=names[0], private_key=keys[0], timestamp=1)
    note = (tmp_path / "note").read_bytes().replace(cosignatures[0].line.encode(), other.line.encode())
    (tmp_path / "note").write_bytes(note)
    result = _run(ledgercheck, "cosigned", tmp_path / "log.vkey", tmp_path / "note", tmp_path / "witnesses")
    assert result.returncode == 1 and "does not verify" in result.stderr
