"""Witnesses: participants' adapters cosign the checkpoints they verified (C2SP tlog-cosignature v1, Ed25519).

A cosignature is a public statement by a deployment, with its own signing key, that the checkpoint extends
every checkpoint its adapter saw before: a log that showed two participants two different histories cannot
collect both their cosignatures on one checkpoint. Cosignatures are stored append-only next to the checkpoint;
they are not ledger entries (they are statements about the ledger, made after its checkpoints, by others).
"""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from adapters.ledger.cosignature import Cosignature, CosignatureError, WitnessVerifier
from adapters.ledger.note import split_note
from governance import selectors as ledger_selectors
from governance.models import Checkpoint
from opm_site.errors import ErrorCode, OpmError
from orchestration import selectors
from orchestration.models import AdapterDeployment, CheckpointCosignature, DeploymentStatus

CLOCK_SKEW = dt.timedelta(minutes=10)
"""How far a cosignature's time may lie after the server's clock or before the checkpoint's issue."""


def _invalid(detail: str) -> OpmError:
    return OpmError(ErrorCode.INVALID_COSIGNATURE, detail)


def checkpoint_cosign(*, deployment: AdapterDeployment, size: int, line: str) -> tuple[CheckpointCosignature, bool]:
    """Store the deployment's cosignature `line` of the log's checkpoint of tree size `size`. Returns (row,
    created): the same cosignature again is a no-op, a different one for the same checkpoint a conflict (409).

    The line must be a cosignature/v1 by the deployment's witness name and current signing key over the
    checkpoint's exact body, made after the checkpoint was issued and not in the future."""
    try:
        cosignature = Cosignature.from_line(line)
    except CosignatureError as exc:
        raise _invalid(f"not a cosignature line: {exc}") from None
    now = timezone.now()
    with transaction.atomic(durable=True):
        # Read the deployment again: a revocation or a key rotation since authentication counts.
        deployment = AdapterDeployment.objects.select_related("participant").get(pk=deployment.pk)
        if deployment.status != DeploymentStatus.ACTIVE:
            raise OpmError(ErrorCode.DEPLOYMENT_REVOKED, f"deployment {deployment.pk} is revoked", status=403)
        if not deployment.participant.active:
            raise OpmError(
                ErrorCode.PERMISSION_DENIED, f"participant {deployment.participant.name} is not active", status=403
            )
        checkpoint = ledger_selectors.checkpoint_of_size(size=size)
        public_key = bytes(deployment.public_key)
        witness = WitnessVerifier.from_public_key(selectors.deployment_witness_name(deployment=deployment), public_key)
        body, _ = split_note(checkpoint.note.encode("utf-8"))
        try:
            witness.verify(body, cosignature)
        except CosignatureError as exc:
            raise _invalid(str(exc)) from None
        if cosignature.timestamp > (now + CLOCK_SKEW).timestamp():
            raise _invalid(f"the cosignature's time {cosignature.timestamp} is in the future")
        if cosignature.timestamp < (checkpoint.issued_at - CLOCK_SKEW).timestamp():
            raise _invalid(
                f"the cosignature's time {cosignature.timestamp} is before checkpoint {size} was issued "
                f"({int(checkpoint.issued_at.timestamp())})"
            )
        row = CheckpointCosignature(
            checkpoint=checkpoint,
            deployment=deployment,
            witness_name=witness.name,
            public_key=public_key,
            key_id=witness.key_id,
            timestamp=cosignature.timestamp,
            signature=cosignature.signature,
            received_at=now,
        )
        try:
            with transaction.atomic():  # a savepoint: a concurrent submission for the same pair wins cleanly
                row.save(force_insert=True)
        except IntegrityError:
            return _cosigned_before(checkpoint, deployment, cosignature), False
    return row, True


def _cosigned_before(
    checkpoint: Checkpoint, deployment: AdapterDeployment, cosignature: Cosignature
) -> CheckpointCosignature:
    """The stored cosignature when it is this one (idempotency); otherwise the conflict."""
    stored = CheckpointCosignature.objects.get(checkpoint=checkpoint, deployment=deployment)
    if (bytes(stored.key_id), stored.timestamp, bytes(stored.signature)) == (
        cosignature.key_id,
        cosignature.timestamp,
        cosignature.signature,
    ):
        return stored
    raise OpmError(
        ErrorCode.COSIGNATURE_CONFLICT,
        f"deployment {deployment.pk} already cosigned checkpoint {checkpoint.size} (at time {stored.timestamp})",
        status=409,
    )
