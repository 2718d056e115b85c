"""The public ledger API: byte-exact checkpoint and key, entries, proofs, RFC 9457 errors for bad ranges."""

import base64
import json

import pytest
from django.db import transaction

from adapters.ledger import merkle
from adapters.ledger.checkpoint import open_checkpoint
from adapters.ledger.note import Verifier
from governance.services import checkpoint_issue, ledger_append

pytestmark = pytest.mark.django_db

API = "/api/v1/ledger/"


@pytest.fixture
def log():
    with transaction.atomic():
        for i in range(10):
            ledger_append(kind="test.appended", actor="ada", subject=f"s:{i}", payload={"i": i})
    return checkpoint_issue()


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_checkpoint_and_key_verify_together(client, log):
    note = client.get(API + "checkpoint")
    key = client.get(API + "key")
    assert note["Content-Type"].startswith("text/plain") and key["Content-Type"].startswith("text/plain")
    assert note.content == log.note.encode()
    checkpoint = open_checkpoint(note.content, Verifier.from_vkey(key.content.decode().strip()))
    assert checkpoint.size == 10 and checkpoint.root == bytes(log.root_hash)


def test_checkpoint_before_any_is_a_problem(client):
    response = client.get(API + "checkpoint")
    assert response.status_code == 404 and response.json()["code"] == "ledger_empty"


def test_entries_carry_exact_leaf_bytes(client, log):
    body = client.get(API + "entries", {"start": 2, "end": 5}).json()
    assert [e["index"] for e in body["entries"]] == [2, 3, 4]
    for entry in body["entries"]:
        leaf = b64(entry["leaf_b64"])
        assert json.loads(leaf) == entry["leaf"]
    default = client.get(API + "entries").json()
    assert len(default["entries"]) == 10


def test_inclusion_and_consistency_proofs_verify_against_checkpoints(client, log):
    root10 = bytes(log.root_hash)
    for index in range(10):
        proof = client.get(API + "proofs/inclusion", {"index": index, "tree_size": 10}).json()
        merkle.verify_inclusion(b64(proof["leaf_hash"]), index, 10, [b64(h) for h in proof["hashes"]], root10)
    leaves = [b64(e["leaf_b64"]) for e in client.get(API + "entries").json()["entries"]]
    root4 = merkle.root_from_leaves([merkle.leaf_hash(leaf) for leaf in leaves[:4]])
    consistency = client.get(API + "proofs/consistency", {"first": 4, "second": 10}).json()
    merkle.verify_consistency(4, 10, [b64(h) for h in consistency["hashes"]], root4, root10)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("entries", {"start": -1, "end": 2}),
        ("entries", {"start": 0, "end": 11}),
        ("entries", {"start": 5, "end": 2}),
        ("entries", {"start": "x"}),
        ("proofs/inclusion", {"index": 10, "tree_size": 10}),
        ("proofs/inclusion", {"index": -1}),
        ("proofs/inclusion", {"index": 0, "tree_size": 11}),
        ("proofs/inclusion", {}),
        ("proofs/inclusion", {"index": "1e3"}),
        ("proofs/consistency", {"first": 5, "second": 3}),
        ("proofs/consistency", {"first": 0, "second": 3}),
        ("proofs/consistency", {"first": 3, "second": 11}),
        ("proofs/consistency", {"first": 99999999999999999999999, "second": 3}),
    ],
)
def test_bad_ranges_are_400_problem_details(client, log, path, params):
    response = client.get(API + path, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_range" and body["status"] == 400 and body["detail"]
    assert body["type"].endswith("/invalid_range")


def test_ledger_api_is_read_only(client, log):
    response = client.post(API + "entries", {})
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_unknown_api_path_is_a_problem(client):
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_every_checkpoint_stays_public_and_append_only(client):
    from django.db import DatabaseError

    from governance.models import Checkpoint

    for number in range(3):
        ledger_append(kind="test.entry", actor="t", subject="s", payload={"n": number})
        checkpoint_issue()
    listed = client.get("/api/v1/ledger/checkpoints").json()
    sizes = [item["size"] for item in listed["results"]]
    assert listed["count"] == 3 and sizes == sorted(sizes)
    one = client.get("/api/v1/ledger/checkpoints", {"size": sizes[1]}).json()["results"]
    assert [item["size"] for item in one] == [sizes[1]] and one[0]["note"].startswith(one[0]["origin"])
    assert client.get("/api/v1/ledger/checkpoints", {"size": "x"}).json()["code"] == "invalid_range"
    for change in (
        lambda: Checkpoint.objects.filter(size=sizes[0]).update(note="forged"),
        lambda: Checkpoint.objects.filter(size=sizes[0]).delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            change()
    assert Checkpoint.objects.count() == 3
