"""The public site's log section: the latest checkpoint, every earlier one, the entries and each entry's
inclusion proof. Thin views over governance.selectors; every list is a keyset page (never OFFSET), so each
page costs a fixed number of queries however long the log grows."""

import base64
import json
from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from governance import selectors
from governance.log_key import log_signer
from orchestration import selectors as witness_selectors
from transparency.csp import public_page

ENTRIES_PER_PAGE = 50
CHECKPOINTS_PER_PAGE = 50
MAX_INDEX = 2**63 - 1
"""Indexes and sizes are int64 (Go's tlog); a larger number is a bad request, not a database overflow."""


def _b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _bad_request(request: HttpRequest, form: forms.Form, *, title: str) -> HttpResponse:
    return render(
        request, "transparency/log/bad_request.html", {"section": "log", "title": title, "form": form}, status=400
    )


def _log_context() -> dict[str, Any]:
    """What every log page may show about the log as a whole: its identity, key and latest checkpoint."""
    return {"section": "log", "origin": settings.OPM_LOG_ORIGIN}


@public_page
@require_safe
def log(request: HttpRequest) -> HttpResponse:
    checkpoint = selectors.latest_checkpoint()
    context = _log_context() | {
        "checkpoint": checkpoint,
        "root_b64": _b64(checkpoint.root_hash) if checkpoint else None,
        "root_hex": bytes(checkpoint.root_hash).hex() if checkpoint else None,
        "ledger_size": selectors.ledger_size(),
        "vkey": log_signer().verifier.vkey,
        "witnesses": witness_selectors.checkpoint_witnesses(checkpoint=checkpoint) if checkpoint else None,
        "witnesses_required": witness_selectors.witness_requirement(),
    }
    return render(request, "transparency/log/log.html", context)


class CheckpointPageForm(forms.Form):
    size = forms.IntegerField(required=False, min_value=0, max_value=MAX_INDEX, label="Checkpoints up to size")


@public_page
@require_safe
def checkpoints(request: HttpRequest) -> HttpResponse:
    form = CheckpointPageForm(request.GET)
    if not form.is_valid():
        return _bad_request(request, form, title="Checkpoints")
    at_most = form.cleaned_data["size"]
    found = selectors.checkpoints_newest(at_most=at_most, limit=CHECKPOINTS_PER_PAGE + 1)
    page, older = found[:CHECKPOINTS_PER_PAGE], found[CHECKPOINTS_PER_PAGE:]
    newer = None
    if at_most is not None:
        above = page[0].size if page else at_most
        newer = selectors.checkpoints_newer_top(above=above, limit=CHECKPOINTS_PER_PAGE)
    latest = selectors.latest_checkpoint()
    witnessing = witness_selectors.checkpoints_witnesses(checkpoints=page)
    rows = [{"checkpoint": cp, "root_b64": _b64(cp.root_hash), "witnesses": witnessing[cp.pk]} for cp in page]
    context = _log_context() | {
        "rows": rows,
        "latest": latest,
        "older_size": page[-1].size - 1 if older else None,
        "newer_size": newer,
        "first_page": at_most is None or newer is None,
    }
    return render(request, "transparency/log/checkpoints.html", context)


class EntrySearchForm(forms.Form):
    """Search by exact kind (the kinds the log holds) and jump to an index; both optional."""

    kind = forms.ChoiceField(required=False, label="Kind")
    index = forms.IntegerField(required=False, min_value=0, max_value=MAX_INDEX, label="From index")

    def __init__(self, *args, kinds: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "All kinds"), *((k, k) for k in kinds)]


@public_page
@require_safe
def entries(request: HttpRequest) -> HttpResponse:
    form = EntrySearchForm(request.GET, kinds=selectors.ledger_kinds())
    if not form.is_valid():
        return _bad_request(request, form, title="Entries")
    kind = form.cleaned_data["kind"] or None
    at_most = form.cleaned_data["index"]
    size = selectors.ledger_size()
    if at_most is not None and at_most >= size:
        at_most = None  # past the end: the newest page is what "from index N" can show
    found = selectors.ledger_entries_newest(kind=kind, at_most=at_most, limit=ENTRIES_PER_PAGE + 1)
    page, older = found[:ENTRIES_PER_PAGE], found[ENTRIES_PER_PAGE:]
    newer = None
    if at_most is not None:
        above = page[0].index if page else at_most
        newer = selectors.ledger_entries_newer_top(kind=kind, above=above, limit=ENTRIES_PER_PAGE)
    context = _log_context() | {
        "form": form,
        "entries": page,
        "kind": kind,
        "ledger_size": size,
        "at_most": at_most,
        "older_index": page[-1].index - 1 if older else None,
        "newer_index": newer,
    }
    return render(request, "transparency/log/entries.html", context)


def payload_rows(payload: Any, prefix: str = "") -> list[tuple[str, str]]:
    """The payload as (dotted key, value) rows: nested objects flattened, lists and scalars as JSON text."""
    if isinstance(payload, dict) and payload:
        rows: list[tuple[str, str]] = []
        for key in sorted(payload):
            rows += payload_rows(payload[key], f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(payload, str):
        return [(prefix, payload)]
    return [(prefix, json.dumps(payload, ensure_ascii=False, sort_keys=True))]


@public_page
@require_safe
def entry(request: HttpRequest, index: int) -> HttpResponse:
    found = selectors.ledger_entry(index=index) if index <= MAX_INDEX else None
    if found is None:
        context = _log_context() | {"index": index, "ledger_size": selectors.ledger_size()}
        return render(request, "transparency/log/entry_not_found.html", context, status=404)
    checkpoint = selectors.latest_checkpoint()
    proof = None
    if checkpoint is not None and index < checkpoint.size:
        _, tree_size, hashes = selectors.inclusion_proof(index=index, tree_size=checkpoint.size)
        proof = {"tree_size": tree_size, "hashes": [_b64(h) for h in hashes]}
    leaf = bytes(found.leaf)
    context = _log_context() | {
        "entry": found,
        "payload_rows": payload_rows(found.payload) if found.payload else [],
        "leaf_text": leaf.decode("utf-8"),
        "leaf_hash_b64": _b64(found.leaf_hash),
        "checkpoint": checkpoint,
        "root_b64": _b64(checkpoint.root_hash) if checkpoint else None,
        "proof": proof,
    }
    return render(request, "transparency/log/entry.html", context)
