"""A small client for the market's adapter API (docs/design.md §6), on `httpx`.

Every error is one `ApiError(code, status, detail)`: the server's RFC 9457 problem details carry the
stable `code`; failures that never got an answer use client-side codes with status 0 (`unreachable`,
`timeout`, `bad_certificate`). TLS certificates are verified by default (optionally against a private CA
bundle). Retries follow what is safe to repeat: a request that never left (connection refused, TLS or
connect timeout) is always retried; one that may have reached the server is retried only if repeating it
cannot do harm. A lease is not such a call (each lease charges the privacy budget, so a blind retry could
pay twice); a signal is (the server answers the same body again with the same 200).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from adapters.contract import rotation_statement
from adapters.ledger.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from adapters.ledger.cosignature import CosignatureError, WitnessVerifier
from adapters.ledger.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from adapters.ledger.note import NoteError, Verifier
from adapters.privacy import Release

API_PREFIX = "/api/v1/"
USER_AGENT = "opm-adapter/0.1"
SIGNATURE_HEADER = "X-OPM-Signature"
PROBLEM_CONTENT_TYPE = "application/problem+json"

# Client-side error codes (status 0: the server never answered). Stable, like the server's codes.
UNREACHABLE = "unreachable"
TIMEOUT = "timeout"
BAD_CERTIFICATE = "bad_certificate"
BAD_CA_BUNDLE = "bad_ca_bundle"
BAD_RESPONSE = "bad_response"
# Server codes the client gives its own messages.
INVALID_KEY = "invalid_key"
NOT_AUTHENTICATED = "not_authenticated"
LEDGER_EMPTY = "ledger_empty"

# Public plan endpoints (docs/design.md §8, delta-sync), relative to API_PREFIX.
PLAN_PATH = "plans/{ref}"
PLAN_DELTAS_PATH = "plans/deltas"
PORTFOLIO_DELTAS_PATH = "portfolios/deltas"
_CONTENT_HASH = re.compile(r"[0-9a-f]{64}")

RETRY_STATUSES = frozenset({502, 503, 504})
"""Answers from a gateway or an overloaded server: the request may or may not have been processed."""
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_DETAIL = 300


class ApiError(Exception):
    """A failed call: the problem's stable `code`, the HTTP `status` (0 if none came back) and `detail`."""

    def __init__(
        self, code: str, status: int, detail: str, *, extra: Mapping[str, Any] | None = None, server: str = ""
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.status = status
        self.detail = detail
        self.extra = dict(extra or {})
        self.server = server

    @property
    def transient(self) -> bool:
        """Worth trying again later (server down, overloaded or throttling), as opposed to a refusal."""
        return self.code in (UNREACHABLE, TIMEOUT) or self.status == 429 or self.status in RETRY_STATUSES

    @property
    def already_registered(self) -> bool:
        """The server already knows this problem handle (registering is not idempotent on its side)."""
        return self.status in (400, 409) and "already registered" in self.detail

    def __str__(self) -> str:
        """One line an operator can act on."""
        where = self.server or "the server"
        if self.code == INVALID_KEY:
            return (
                f"{where} rejected the API key (invalid_key): store the key `manage.py deployments enrol` printed "
                "with `opm-adapter keyfile set-api-key KEYFILE KEY`"
            )
        if self.code == NOT_AUTHENTICATED:
            return f"{where} needs a deployment's API key (not_authenticated): {self.detail}"
        if self.code == UNREACHABLE:
            return f"cannot reach {where}: {self.detail}"
        if self.code == TIMEOUT:
            return f"{where} did not answer in time: {self.detail}"
        if self.code == BAD_CERTIFICATE:
            return (
                f"the TLS certificate of {where} does not verify ({self.detail}); if it uses a private CA, "
                "pass that CA's certificate with --ca-bundle PEM"
            )
        if self.status:
            errors = f": {json.dumps(self.extra['errors'], sort_keys=True)}" if "errors" in self.extra else ""
            return f"{self.detail}{errors} ({self.code}, HTTP {self.status})"
        return f"{self.detail} ({self.code})"


class LogVerificationError(Exception):
    """The log's checkpoint, key or proofs do not verify: the server's history cannot be trusted."""


@dataclasses.dataclass(frozen=True)
class Task:
    """A leased evaluation task as the server describes it: the plan and the mechanism's parameters."""

    id: int
    problem: str
    plan: dict[str, Any]
    plan_hash: str
    noise_multiplier: float
    clip_bound: float
    lease_expires_at: str
    base: dict[str, Any] | None = None
    """A portfolio task: the portfolio S the plan (candidate q) would join; None for a plan against the reference."""
    base_hash: str | None = None
    round: int | None = None
    """The search round that asked (None for a task outside a round): part of the signed statement."""
    phase: str = ""
    """The round's phase (`selection`, `confirmation`, or empty): part of the signed statement."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Task:
        try:
            base = data.get("base")
            return cls(
                id=int(data["id"]),
                problem=str(data["problem"]),
                plan=dict(data["plan"]),
                plan_hash=str(data["plan_hash"]),
                noise_multiplier=float(data["noise_multiplier"]),
                clip_bound=float(data["clip_bound"]),
                lease_expires_at=str(data["lease_expires_at"]),
                base=None if base is None else dict(base),
                base_hash=None if base is None else str(data["base_hash"]),
                round=None if data["round"] is None else int(data["round"]),
                phase=str(data["phase"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(BAD_RESPONSE, 200, f"a leased task is malformed: {exc!r}") from None

    def signal_statement(self, released: Release) -> bytes:
        """The canonical statement to sign for this task's release: the task as the server leased it and the
        released statistic (the server refuses it unless every field is this task's)."""
        statement = released.to_signal_body(
            task=self.id,
            round=self.round,
            problem=self.problem,
            phase=self.phase,
            plan=self.plan_hash,
            base=self.base_hash,
        )
        return rfc8785.dumps(statement)


@dataclasses.dataclass(frozen=True)
class SignalReceipt:
    """The server's answer to a signal: where it was ledgered, and whether this call created it."""

    task: int
    ledger_index: int | None
    created: bool


def _tls_context(verify: bool | str | os.PathLike[str]) -> bool | ssl.SSLContext:
    """True (the default trust store), False (no verification: development only) or a CA bundle file."""
    if isinstance(verify, bool):
        return verify
    path = Path(verify)
    try:
        return ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise ApiError(BAD_CA_BUNDLE, 0, f"cannot load the CA bundle {path}: {exc}") from None


def _certificate_failure(exc: BaseException) -> str | None:
    """The verification failure behind a connection error, if that is what it was."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    for link in chain:
        if isinstance(link, ssl.SSLCertVerificationError):
            return link.verify_message or str(link)
    for link in chain:
        if "CERTIFICATE_VERIFY_FAILED" in str(link):
            return str(link)
    return None


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_DETAIL else line[: MAX_DETAIL - 3] + "..."


class MarketClient:
    """The adapter's view of one market server: authenticated calls, retries, problem details as ApiError.

    `verify` is True (system/certifi trust store), a path to a PEM CA bundle, or False (never in production).
    `transport` and `sleep` exist for tests (an `httpx.MockTransport`, a sleep that records delays).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        verify: bool | str | os.PathLike[str] = True,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        headers = {"User-Agent": USER_AGENT, "Accept": f"application/json, {PROBLEM_CONTENT_TYPE}, text/plain"}
        if api_key:
            headers["Authorization"] = f"Api-Key {api_key}"
        self._http = httpx.Client(
            base_url=self.base_url + API_PREFIX,
            headers=headers,
            timeout=timeout,
            verify=_tls_context(verify),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MarketClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- transport ------------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        payload: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """Send with retries: always when nothing reached the server, otherwise only if `idempotent`."""
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                response = self._http.request(
                    method, path, json=payload, content=content, headers=headers, params=params
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The connection never opened, so the server saw nothing: safe to repeat any call.
                error = self._transport_error(exc)
                if error.code == BAD_CERTIFICATE:
                    raise error from None
                retryable = True
            except httpx.TransportError as exc:
                # Sent, but the answer was lost: the server may have acted on it.
                error = self._transport_error(exc)
                retryable = idempotent
            else:
                if response.is_success:
                    return response
                error = self._problem(response)
                retry_after = _retry_after(response)
                # 429 comes from the throttle, which runs before the view: nothing happened.
                retryable = response.status_code == 429 or (idempotent and response.status_code in RETRY_STATUSES)
            if not retryable or attempt >= self.retries:
                raise error
            delay = min(self.max_backoff, self.backoff * 2**attempt)
            if retry_after is not None:
                delay = min(self.max_backoff, max(delay, retry_after))
            self._sleep(delay)
            attempt += 1

    def _transport_error(self, exc: httpx.TransportError) -> ApiError:
        reason = _certificate_failure(exc)
        if reason is not None:
            return ApiError(BAD_CERTIFICATE, 0, _one_line(reason), server=self.base_url)
        code = TIMEOUT if isinstance(exc, httpx.TimeoutException) else UNREACHABLE
        detail = _one_line(str(exc) or type(exc).__name__)
        return ApiError(code, 0, detail, server=self.base_url)

    def _problem(self, response: httpx.Response) -> ApiError:
        """An RFC 9457 problem document as ApiError; anything else (a proxy's HTML page) as `bad_response`."""
        status = response.status_code
        try:
            document = response.json()
        except ValueError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("code"), str):
            extra = {k: v for k, v in document.items() if k not in ("code", "status", "detail", "type", "title")}
            detail = str(document.get("detail") or document.get("title") or document["code"])
            return ApiError(document["code"], status, _one_line(detail), extra=extra, server=self.base_url)
        reason = response.reason_phrase or "error"
        body = _one_line(response.text) if response.text else ""
        detail = f"HTTP {status} {reason}" + (f": {body}" if body else "")
        return ApiError(BAD_RESPONSE, status, detail, server=self.base_url)

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                BAD_RESPONSE, response.status_code, "the server answered with something that is not JSON"
            ) from None

    # --- enrolment and keys ---------------------------------------------------------------------------------

    def enrol(self, *, release: int, public_key_hex: str, label: str = "main") -> dict[str, Any]:
        """Enrol a deployment with this client's key, the participant's enrolment key; the answer holds the
        deployment's API key, shown once. Not retried after a lost answer: a second enrolment would be refused
        (`deployment_exists`) rather than silently create a twin."""
        response = self._request(
            "POST",
            "deployments",
            idempotent=False,
            payload={"release": release, "label": label, "public_key": public_key_hex},
        )
        return self._json(response)

    def rotate_key(
        self,
        deployment: int,
        *,
        old_signing_key: Ed25519PrivateKey | None = None,
        new_public_key: bytes | None = None,
    ) -> dict[str, Any]:
        """A new API key for a deployment (the old one stops working at once) and, with `new_public_key`, a new
        signing key: that needs the old signing key, which signs the rotation statement naming the new one.

        Not retried after sending: a lost answer leaves the new API key unknown (rotate it again with the
        enrolment key) and, when the signing key changed, the new signing key is the one to keep."""
        payload: dict[str, Any] = {}
        if new_public_key is not None:
            if old_signing_key is None:
                raise ValueError("rotating the signing key needs the old signing key to sign the rotation statement")
            old_public_key = old_signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            statement = rotation_statement(
                deployment=deployment, old_public_key=old_public_key, new_public_key=new_public_key
            )
            payload = {
                "public_key": new_public_key.hex(),
                "old_key_signature": base64.b64encode(old_signing_key.sign(statement)).decode("ascii"),
            }
        response = self._request("POST", f"deployments/{deployment}/rotate", idempotent=False, payload=payload)
        return self._json(response)

    # --- the work loop --------------------------------------------------------------------------------------

    def register_problem(self, *, handle: str, problem_class: str, corpus_size: int, commitment: str) -> dict[str, Any]:
        """Register a private corpus by handle, class, size n and salted commitment (nothing else leaves).

        Not retried once sent: a repeat would answer "already registered", which callers treat as success.
        """
        body = {"handle": handle, "problem_class": problem_class, "corpus_size": corpus_size, "commitment": commitment}
        return self._json(self._request("POST", "problems", payload=body, idempotent=False))

    def lease(self, *, limit: int = 1, lease_seconds: int = 600, problem: str | None = None) -> list[Task]:
        """Lease up to `limit` tasks (only `problem`'s, when named: a deployment may hold several corpora of one
        class, and a task measured on another corpus is refused). Never retried after sending: every lease
        charges the privacy budget."""
        payload: dict[str, Any] = {"limit": limit, "lease_seconds": lease_seconds}
        if problem is not None:
            payload["problem"] = problem
        response = self._request("POST", "tasks/lease", payload=payload, idempotent=False)
        document = self._json(response)
        tasks = document.get("tasks") if isinstance(document, dict) else None
        if not isinstance(tasks, list):
            raise ApiError(BAD_RESPONSE, response.status_code, "the lease answer has no task list")
        return [Task.from_json(task) for task in tasks]

    def heartbeat(self, task_id: int, *, lease_seconds: int = 600) -> str:
        """Extend a held lease; returns the new expiry (ISO 8601). Repeating it only extends it again."""
        response = self._request(
            "POST", f"tasks/{task_id}/heartbeat", payload={"lease_seconds": lease_seconds}, idempotent=True
        )
        return str(self._json(response).get("lease_expires_at", ""))

    def fail(self, task_id: int, reason: str) -> dict[str, Any]:
        """Report that the adapter cannot evaluate a task (the charge stays spent).

        Retried when the answer is lost; a repeat of a report that did arrive answers `task_not_leased`.
        """
        response = self._request("POST", f"tasks/{task_id}/failure", payload={"reason": reason[:200]}, idempotent=True)
        return self._json(response)

    def submit_signal(self, body: bytes, signing_key: Ed25519PrivateKey) -> SignalReceipt:
        """Sign the exact RFC 8785 `body` and submit it; idempotent by task, so it is retried freely."""
        signature = base64.b64encode(signing_key.sign(body)).decode("ascii")
        response = self._request(
            "POST",
            "signals",
            content=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
            idempotent=True,
        )
        document = self._json(response)
        index = document.get("ledger_index")
        return SignalReceipt(
            task=int(document.get("task", 0)),
            ledger_index=None if index is None else int(index),
            created=response.status_code == 201,
        )

    # --- plans and delta-sync (public, no API key needed) ------------------------------------------------------

    def plan(self, ref: str) -> dict[str, Any]:
        """A stored plan by numeric id or 64-hex content hash: `{"id", "toolchain", "content_hash", "body"}`.

        The answer is the server's word only: check `body` against `content_hash` (`Plan.content_hash()`).
        """
        if not (ref.isascii() and ref.isdigit()) and not _CONTENT_HASH.fullmatch(ref):
            raise ValueError(f"plan reference {ref!r}: expected a numeric id or a 64-digit hex content hash")
        response = self._request("GET", PLAN_PATH.format(ref=ref), idempotent=True)
        document = self._json(response)
        if not isinstance(document, dict) or not isinstance(document.get("body"), dict):
            raise ApiError(BAD_RESPONSE, response.status_code, "the plan answer has no plan body", server=self.base_url)
        return document

    def plan_deltas(self, problem_class: str, since: int) -> dict[str, Any]:
        """The problem class's deltas after version `since`, in order (not paginated):
        `{"problem_class", "version": n, "pending": p, "deltas": [{"sequence": since + 1, "parent", "child",
        "ops"}, ...]}`; `pending` counts promotions the server withholds until enough participants witnessed them."""
        return self._deltas(PLAN_DELTAS_PATH, problem_class, since)

    def portfolio_deltas(self, problem_class: str, since: int) -> dict[str, Any]:
        """The problem class's portfolio deltas after version `since`, in the same shape as `plan_deltas`."""
        return self._deltas(PORTFOLIO_DELTAS_PATH, problem_class, since)

    def _deltas(self, path: str, problem_class: str, since: int) -> dict[str, Any]:
        if since < 0:
            raise ValueError(f"since: expected a version >= 0, got {since}")
        response = self._request("GET", path, params={"problem_class": problem_class, "since": since}, idempotent=True)
        document = self._json(response)
        if not isinstance(document, dict) or not isinstance(document.get("deltas"), list):
            detail = "the delta answer has no delta list"
            raise ApiError(BAD_RESPONSE, response.status_code, detail, server=self.base_url)
        return document

    # --- the public ledger ----------------------------------------------------------------------------------

    def checkpoint(self) -> bytes:
        """The latest signed checkpoint note, byte-exact (ApiError `ledger_empty` before the first one)."""
        return self._request("GET", "ledger/checkpoint", idempotent=True).content

    def verifier_key(self) -> str:
        """The log's verifier key in note format, `<name>+<key ID>+<base64 key>`."""
        return self._request("GET", "ledger/key", idempotent=True).text.strip()

    def verified_checkpoint(self, verifier_key: str | None = None) -> tuple[Checkpoint, str]:
        """The latest checkpoint, its signature checked; returns it with the verifier key used.

        Pass the key pinned from an earlier run: a key fetched from the same server only proves the server
        signed its own note, while a pinned key also catches a server that swapped its log.
        """
        vkey = verifier_key or self.verifier_key()
        try:
            verifier = Verifier.from_vkey(vkey)
        except NoteError as exc:
            raise LogVerificationError(f"the log's verifier key {vkey!r} is malformed: {exc}") from None
        note = self.checkpoint()
        try:
            return open_checkpoint(note, verifier), vkey
        except (NoteError, CheckpointError) as exc:
            raise LogVerificationError(f"the checkpoint does not verify with {verifier.name}: {exc}") from None

    def cosigned_checkpoint(self, size: int | None = None) -> bytes:
        """The latest checkpoint (or `size`'s) with the witnesses' cosignature lines appended, byte-exact; check
        them with `adapters.ledger.cosignature.verify_cosigned` and the published witness keys."""
        params = None if size is None else {"size": size}
        return self._request("GET", "ledger/checkpoint/cosigned", params=params, idempotent=True).content

    def witness_keys(self) -> list[WitnessVerifier]:
        """Every published witness verifier key (all pages), to check cosigned checkpoints offline."""
        keys: list[WitnessVerifier] = []
        while True:
            page = self._json(self._request("GET", "ledger/witnesses", params={"offset": len(keys)}, idempotent=True))
            results = page.get("results") if isinstance(page, dict) else None
            if not isinstance(results, list):
                raise ApiError(BAD_RESPONSE, 200, "the witness list has no results", server=self.base_url)
            try:
                keys.extend(WitnessVerifier.from_vkey(str(item["vkey"])) for item in results)
            except (CosignatureError, KeyError, TypeError) as exc:
                raise ApiError(BAD_RESPONSE, 200, f"a published witness key is malformed: {exc}") from None
            if not results or len(keys) >= int(page.get("count", 0)):
                return keys

    # --- witnessing (a deployment's API key) ----------------------------------------------------------------

    def witness_identity(self) -> dict[str, Any]:
        """This deployment's witness identity as the server knows it: `participant`, `deployment`, the key
        `name` to cosign under, `key_id`, `vkey` and the largest checkpoint size it `cosigned` (or None)."""
        document = self._json(self._request("GET", "ledger/witness", idempotent=True))
        if not isinstance(document, dict) or not all(k in document for k in ("name", "vkey", "participant")):
            raise ApiError(
                BAD_RESPONSE, 200, "the witness answer has no name, key or participant", server=self.base_url
            )
        return document

    def submit_cosignature(self, size: int, line: str) -> bool:
        """Submit a cosignature line for the checkpoint of tree size `size`; True if the server stored it now,
        False if it held this very line already (so a retry after a lost answer is harmless)."""
        response = self._request(
            "POST", "ledger/cosignatures", payload={"size": size, "cosignature": line}, idempotent=True
        )
        return response.status_code == 201

    def verify_consistency(self, old: Checkpoint, new: Checkpoint) -> None:
        """Check that `new` extends `old` (RFC 9162 consistency proof): history was appended to, not rewritten."""
        if old.origin != new.origin:
            raise LogVerificationError(f"the log's origin changed from {old.origin!r} to {new.origin!r}")
        if new.size < old.size:
            raise LogVerificationError(f"the log shrank from {old.size} to {new.size} entries")
        if old.size == new.size:
            if old.root != new.root:
                raise LogVerificationError(f"two different roots for the same size {new.size}: the log forked")
            return
        if old.size == 0:
            return  # the empty tree is a prefix of every tree
        document = self._json(
            self._request(
                "GET", "ledger/proofs/consistency", params={"first": old.size, "second": new.size}, idempotent=True
            )
        )
        try:
            verify_consistency(old.size, new.size, _hashes(document), old.root, new.root)
        except ProofError as exc:
            raise LogVerificationError(f"checkpoints {old.size} and {new.size} are not consistent: {exc}") from None

    def verify_inclusion(self, index: int, checkpoint: Checkpoint) -> dict[str, Any]:
        """Fetch entry `index`, check it is in the tree `checkpoint` signs, and return its leaf object.

        An adapter uses it to see its own `signal.accepted` entries in the log it writes into.
        """
        if not 0 <= index < checkpoint.size:
            raise LogVerificationError(f"entry {index} is not covered by the checkpoint of size {checkpoint.size}")
        page = self._json(
            self._request("GET", "ledger/entries", params={"start": index, "end": index + 1}, idempotent=True)
        )
        entries = page.get("entries") if isinstance(page, dict) else None
        if not entries or entries[0].get("index") != index:
            raise LogVerificationError(f"the server did not return entry {index}")
        try:
            leaf = base64.b64decode(entries[0].get("leaf_b64", ""), validate=True)
        except (TypeError, ValueError):
            raise LogVerificationError(f"entry {index} has no valid leaf bytes") from None
        proof = self._json(
            self._request(
                "GET",
                "ledger/proofs/inclusion",
                params={"index": index, "tree_size": checkpoint.size},
                idempotent=True,
            )
        )
        try:
            verify_inclusion(leaf_hash(leaf), index, checkpoint.size, _hashes(proof), checkpoint.root)
        except ProofError as exc:
            raise LogVerificationError(f"entry {index} is not in the signed tree: {exc}") from None
        return json.loads(leaf)  # the verified bytes, not the server's parsed copy


def _hashes(document: Any) -> Sequence[bytes]:
    if not isinstance(document, dict) or not isinstance(document.get("hashes"), list):
        raise LogVerificationError("a proof answer has no hash list")
    try:
        return [base64.b64decode(item, validate=True) for item in document["hashes"]]
    except (TypeError, ValueError) as exc:
        raise LogVerificationError(f"a proof hash is not base64: {exc}") from None


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a `Retry-After` header given as a number (the throttle's form)."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


__all__ = [
    "ApiError",
    "LogVerificationError",
    "MarketClient",
    "SignalReceipt",
    "Task",
]
