"""A small in-memory market server for the SDK and work-loop tests, behind `httpx.MockTransport` (no network).

It follows the real server's rules where the adapter depends on them (orchestration/services/work.py):
API-key auth with problem details, leases, heartbeats, failures, Ed25519-signed RFC 8785 signals that are
idempotent by task, and a signed Merkle log with checkpoints and proofs built from `adapters.ledger`.
Faults are injected per route: an exception raised before the request is handled (nothing reached the
server), after it (the answer was lost), or a bare HTTP status.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from collections import Counter, defaultdict
from typing import Any

import httpx
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from adapters.contract import SIGNAL_PAYLOAD_COPIES
from adapters.ledger.checkpoint import Checkpoint, sign_checkpoint
from adapters.ledger.cosignature import Cosignature, CosignatureError, WitnessVerifier, cosigned_note, witness_name
from adapters.ledger.export import encode_leaf
from adapters.ledger.merkle import MemoryHashStore, consistency_proof, inclusion_proof, tree_hash
from adapters.ledger.note import Signer, generate_signer_key, split_note
from adapters.privacy import SIGNAL_KEYS, statistic_for

ORIGIN = "market.test/log"
BASE_URL = "https://market.test"
PARTICIPANT, DEPLOYMENT = "acme", 1
WITNESS_NAME = witness_name(ORIGIN, PARTICIPANT, DEPLOYMENT)
PLAN_BODY = {"toolchain": "llvm", "passes": [{"name": "default", "params": {"level": "Oz"}}, {"name": "gvn"}]}


@dataclasses.dataclass
class Fault:
    """What to do to the next request on a route: raise `error` before or after handling it, or answer `status`."""

    error: Exception | None = None
    after: bool = False
    status: int | None = None


class FakeMarket:
    def __init__(self, api_key: str = "opm_0123456789ab_secret") -> None:
        self.api_key = api_key
        self.public_key: Ed25519PublicKey | None = None
        self.problems: dict[str, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.signals: dict[int, bytes] = {}
        self.failures: dict[int, str] = {}
        self.heartbeats: Counter[int] = Counter()
        self.calls: Counter[str] = Counter()  # handled requests per route
        self.attempts: Counter[str] = Counter()  # every attempt, faulted or not
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.store = MemoryHashStore()
        self.leaves: list[bytes] = []
        skey, self.vkey = generate_signer_key(ORIGIN)
        self.signer = Signer.from_skey(skey)
        self.checkpoints: list[bytes] = []
        self.lease_lost = False  # heartbeats answer lease_expired
        self.lease_requests: list[dict[str, Any]] = []
        self.honour_problem = True  # False: a compromised server leasing tasks of any problem
        self.cosignatures: dict[int, str] = {}  # checkpoint size -> the deployment's cosignature line
        self.cosignature_posts: list[dict[str, Any]] = []  # every cosignature submitted, stored or refused

    # --- setup -----------------------------------------------------------------------------------------------

    def enrol(self, public_key: bytes) -> str:
        self.public_key = Ed25519PublicKey.from_public_bytes(public_key)
        self.append("deployment.enrolled", {"public_key": public_key.hex()})
        return self.api_key

    def queue(
        self,
        count: int = 1,
        *,
        plan: dict[str, Any] | None = None,
        noise_multiplier: float = 20.0,
        base: dict[str, Any] | None = None,
        problem: str = "corpus",
        round: int | None = None,
        phase: str = "",
    ) -> list[int]:
        """Queue tasks for `plan`; with `base` (a portfolio document), tasks asking for its marginal gain."""
        body = plan or PLAN_BODY
        ids = []
        for _ in range(count):
            task_id = len(self.tasks) + 1
            self.tasks[task_id] = {
                "id": task_id,
                "state": "queued",
                "plan": body,
                "plan_hash": hashlib.sha256(rfc8785.dumps(body)).hexdigest(),
                "noise_multiplier": noise_multiplier,
                "clip_bound": 0.1,
                "base": base,
                "base_hash": None if base is None else hashlib.sha256(rfc8785.dumps(base)).hexdigest(),
                "problem": problem,
                "round": round,
                "phase": phase,
            }
            ids.append(task_id)
        return ids

    def append(self, kind: str, payload: dict[str, Any]) -> int:
        index = len(self.leaves)
        entry = {"index": index, "time": "2026-01-01T00:00:00Z", "kind": kind, "actor": "test", "subject": "test"}
        leaf = encode_leaf({**entry, "payload": payload})
        self.leaves.append(leaf)
        self.store.append(leaf)
        return index

    def issue_checkpoint(self) -> bytes:
        size = len(self.leaves)
        note = sign_checkpoint(Checkpoint(ORIGIN, size, tree_hash(size, self.store.read_hashes)), self.signer)
        self.checkpoints.append(note)
        return note

    def fork(self, keep: int) -> None:
        """Rewrite history after entry `keep` (a log that shows this client another past than it showed before),
        still signing with the same log key, then issue a checkpoint of the forked tree."""
        leaves = self.leaves[:keep]
        self.leaves, self.store = [], MemoryHashStore()
        for leaf in leaves:
            self.leaves.append(leaf)
            self.store.append(leaf)
        self.append("contract.approved", {"forked": True})
        self.append("vote.cast", {"forked": True})
        self.issue_checkpoint()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # --- HTTP ------------------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1/")
        route = _route(path)
        self.attempts[route] += 1
        fault = self.faults[route].pop(0) if self.faults[route] else None
        if fault and fault.error is not None and not fault.after:
            raise fault.error
        if fault and fault.status is not None:
            return httpx.Response(fault.status, text="<html>Bad Gateway</html>", headers={"Retry-After": "0"})
        self.calls[route] += 1
        response = self._dispatch(request, path)
        if fault and fault.error is not None and fault.after:
            raise fault.error  # the server acted, the answer is lost
        return response

    def _dispatch(self, request: httpx.Request, path: str) -> httpx.Response:
        authorised = request.headers.get("Authorization") == f"Api-Key {self.api_key}"
        if path in ("ledger/witness", "ledger/cosignatures"):
            if not authorised:
                return problem(401, "invalid_key", "the API key is not valid")
            return self._witness(request, path)
        if path.startswith("ledger/"):
            return self._ledger(request, path.removeprefix("ledger/"))
        if not authorised:
            return problem(401, "invalid_key", "the API key is not valid")
        document = None if path == "signals" else json.loads(request.content or b"{}")
        if path == "problems":
            return self._register(document)
        if path == "tasks/lease":
            return self._lease(document)
        if path == "signals":
            return self._signal(request)
        task_id, action = int(path.split("/")[1]), path.split("/")[2]
        task = self.tasks.get(task_id)
        if task is None:
            return problem(404, "not_your_task", f"task {task_id} is not leased to this deployment")
        if task["state"] != "leased":
            return problem(409, "task_not_leased", f"task {task_id} is {task['state']}")
        if action == "heartbeat":
            if self.lease_lost:
                return problem(409, "lease_expired", f"the lease on task {task_id} expired")
            self.heartbeats[task_id] += 1
            return httpx.Response(200, json={"id": task_id, "lease_expires_at": "2026-01-01T00:20:00Z"})
        task["state"] = "failed"
        self.failures[task_id] = document["reason"]
        return httpx.Response(200, json={"id": task_id, "state": "failed"})

    def _register(self, document: dict[str, Any]) -> httpx.Response:
        if document["handle"] in self.problems:
            return problem(400, "validation_failed", f"handle {document['handle']!r} is already registered")
        self.problems[document["handle"]] = document
        return httpx.Response(201, json={"id": len(self.problems), **document})

    def _lease(self, document: dict[str, Any]) -> httpx.Response:
        leased = []
        self.lease_requests.append(document)
        wanted = document.get("problem")
        for task in self.tasks.values():
            if self.honour_problem and wanted is not None and task["problem"] != wanted:
                continue
            if task["state"] == "queued" and len(leased) < document.get("limit", 1):
                task["state"] = "leased"
                leased.append({k: v for k, v in task.items() if k != "state"})
        for task in leased:
            task["lease_expires_at"] = "2026-01-01T00:10:00Z"
        return httpx.Response(200, json={"tasks": leased})

    def _signal(self, request: httpx.Request) -> httpx.Response:
        body = request.content
        try:
            signature = base64.b64decode(request.headers.get("X-OPM-Signature", ""), validate=True)
            assert self.public_key is not None
            self.public_key.verify(signature, body)
        except (InvalidSignature, ValueError, AssertionError):
            return problem(400, "bad_signature", "the signature does not verify with this deployment's key")
        document = json.loads(body)
        task = self.tasks[document["task"]]
        if set(document) != SIGNAL_KEYS or rfc8785.dumps(document) != body:
            return problem(400, "invalid_signal", "not a canonical full statement")
        expected = {
            "round": task["round"],
            "problem": task["problem"],
            "phase": task["phase"],
            "plan": task["plan_hash"],
            "base": task["base_hash"],
            "statistic": statistic_for(task["base"]),
        }
        differing = sorted(key for key, value in expected.items() if document[key] != value)
        if differing:
            return problem(400, "invalid_signal", f"{', '.join(differing)} differ from the task's", fields=differing)
        if document["task"] in self.signals:
            if self.signals[document["task"]] == body:
                return httpx.Response(200, json={"task": task["id"], "ledger_index": task["ledger_index"]})
            return problem(409, "signal_conflict", "a different signal")
        if task["state"] != "leased":
            return problem(409, "task_not_leased", f"task {task['id']} is {task['state']}")
        task["state"] = "done"
        self.signals[task["id"]] = body
        copies = {field: document[key] for field, key in SIGNAL_PAYLOAD_COPIES.items()}
        task["ledger_index"] = self.append("signal.accepted", {**copies, "body": document})
        return httpx.Response(201, json={"task": task["id"], "ledger_index": task["ledger_index"]})

    def _witness(self, request: httpx.Request, path: str) -> httpx.Response:
        """The deployment's witness identity, and cosignatures checked as orchestration/services/witnesses.py does."""
        assert self.public_key is not None
        verifier = WitnessVerifier.from_public_key(WITNESS_NAME, self.public_key.public_bytes_raw())
        if path == "ledger/witness":
            identity = {"participant": PARTICIPANT, "deployment": DEPLOYMENT, "name": verifier.name}
            cosigned = max(self.cosignatures, default=None)
            return httpx.Response(200, json={**identity, "vkey": verifier.vkey, "cosigned": cosigned})
        document = json.loads(request.content)
        self.cosignature_posts.append(document)
        size, line = document["size"], document["cosignature"]
        notes = [note for note in self.checkpoints if split_note(note)[0].split("\n")[1] == str(size)]
        if not notes:
            return problem(404, "unknown_checkpoint", f"the log issued no checkpoint of size {size}")
        try:
            verifier.verify(split_note(notes[-1])[0], Cosignature.from_line(line))
        except CosignatureError as exc:
            return problem(400, "invalid_cosignature", str(exc))
        if size in self.cosignatures:
            if self.cosignatures[size] == line:
                return httpx.Response(200, json={"size": size})
            return problem(409, "cosignature_conflict", f"checkpoint {size} was cosigned before")
        self.cosignatures[size] = line
        return httpx.Response(201, json={"size": size})

    def _ledger(self, request: httpx.Request, path: str) -> httpx.Response:
        params = request.url.params
        if path == "checkpoint/cosigned":
            last = self.checkpoints[-1]
            line = self.cosignatures.get(int(split_note(last)[0].split("\n")[1]))
            return httpx.Response(200, content=cosigned_note(last, [Cosignature.from_line(line)] if line else []))
        if path == "key":
            return httpx.Response(200, text=self.vkey + "\n")
        if path == "checkpoint":
            if not self.checkpoints:
                return problem(404, "ledger_empty", "no checkpoint has been issued yet")
            return httpx.Response(200, content=self.checkpoints[-1], headers={"Content-Type": "text/plain"})
        if path == "entries":
            start, end = int(params["start"]), int(params["end"])
            entries = [
                {"index": i, "leaf": json.loads(self.leaves[i]), "leaf_b64": base64.b64encode(self.leaves[i]).decode()}
                for i in range(start, min(end, len(self.leaves)))
            ]
            return httpx.Response(200, json={"start": start, "end": end, "entries": entries})
        if path == "proofs/inclusion":
            hashes = inclusion_proof(int(params["index"]), int(params["tree_size"]), self.store.read_hashes)
        else:
            hashes = consistency_proof(int(params["first"]), int(params["second"]), self.store.read_hashes)
        return httpx.Response(200, json={"hashes": [base64.b64encode(h).decode() for h in hashes]})


def _route(path: str) -> str:
    """Fault and call counters are kept per route: lease, heartbeat, failure, problems, signals, ledger."""
    if path == "tasks/lease":
        return "lease"
    if path.startswith("tasks/"):
        return path.rsplit("/", 1)[1]
    return path.split("/")[0]


def problem(status: int, code: str, detail: str, **extra: Any) -> httpx.Response:
    document = {"type": f"https://x/{code}", "title": code, "status": status, "detail": detail, "code": code, **extra}
    return httpx.Response(status, json=document, headers={"Content-Type": "application/problem+json"})
