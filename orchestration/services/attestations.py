"""Backtest attestations kept by the site that ran them (the signed note is the portable proof)."""

import base64
from typing import Any

from django.db import transaction

from governance.services.ledger import ledger_append
from orchestration.models import Attestation


def attestation_record(*, body: dict[str, Any], note: bytes, text: str, actor: str = "operator") -> Attestation:
    """Store a signed attestation and ledger its verdict, so the log says which of its own states were replayed."""
    checkpoint = body["checkpoint"]
    with transaction.atomic(durable=True):
        attestation = Attestation.objects.create(
            origin=checkpoint["origin"],
            tree_size=checkpoint["size"],
            root_hash=base64.b64decode(checkpoint["root"]),
            code_version=body["code_version"],
            decisions_digest=body["decisions_digest"],
            verdict=body["verdict"],
            body=text,
            note=note.decode(),
        )
        ledger_append(
            kind="backtest.attested",
            actor=actor,
            subject=f"attestation:{attestation.pk}",
            payload={
                "checkpoint": checkpoint,
                "decisions_digest": body["decisions_digest"],
                "verdict": body["verdict"],
                "code_version": body["code_version"],
            },
        )
    return attestation
