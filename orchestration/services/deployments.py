"""Who may work for a participant: its enrolment key, its deployments' API keys, rotation and revocation.

A participant holds one enrolment key (issued by the operator, shown once) that can only enrol, rotate or
revoke that participant's own deployments; a deployment's key can only work and rotate or revoke itself.
Every change is ledgered in the same transaction.
"""

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import transaction

from adapters.contract import rotation_statement
from governance.services.ledger import ledger_append
from opm_site import api_keys
from opm_site.errors import ErrorCode, OpmError
from orchestration import selectors, work_store
from orchestration.models import AdapterDeployment, DeploymentStatus, Participant
from orchestration.services.budgets import budget_open
from registry.models import AdapterRelease, ReleaseState


def _check_public_key(public_key: bytes) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        raise OpmError(ErrorCode.VALIDATION_FAILED, "public_key must be a raw 32-byte Ed25519 key") from None


def participant_create(*, name: str, display_name: str = "", contact_email: str = "") -> Participant:
    """A new participant (no budget yet: it opens with the first deployment under the active privacy policy)."""
    with transaction.atomic(durable=True):
        if Participant.objects.filter(name=name).exists():
            raise OpmError(ErrorCode.VALIDATION_FAILED, f"participant {name!r} already exists", status=409)
        participant = Participant.objects.create(
            name=name, display_name=display_name or name, contact_email=contact_email
        )
        ledger_append(
            kind="participant.created", actor="operator", subject=f"participant:{name}", payload={"participant": name}
        )
    return participant


def participant_key_issue(*, participant: Participant, actor: str = "operator") -> str:
    """Issue (or replace) the participant's enrolment key; returns it, to be shown once."""
    key, prefix, digest = api_keys.key_generate()
    with transaction.atomic(durable=True):
        participant = Participant.objects.select_for_update().get(pk=participant.pk)
        replaced = participant.enrolment_key_prefix is not None
        participant.enrolment_key_prefix, participant.enrolment_key_hash = prefix, digest
        participant.save(update_fields=["enrolment_key_prefix", "enrolment_key_hash"])
        ledger_append(
            kind="participant.key_issued",
            actor=actor,
            subject=f"participant:{participant.name}",
            payload={"participant": participant.name, "key_prefix": prefix, "replaced": replaced},
        )
    return key


def participant_set_active(*, participant: Participant, active: bool, actor: str) -> Participant:
    """Deactivate (or reactivate) a participant: from the next request on, its enrolment key and every one of
    its deployments' keys are refused and it gets no new tasks; its ledger, budget and leased tasks stay as
    they are (a leased task expires as usual)."""
    with transaction.atomic(durable=True):
        participant = Participant.objects.select_for_update().get(pk=participant.pk)
        if participant.active == active:
            return participant
        participant.active = active
        participant.save(update_fields=["active"])
        ledger_append(
            kind="participant.reactivated" if active else "participant.deactivated",
            actor=actor,
            subject=f"participant:{participant.name}",
            payload={"participant": participant.name},
        )
    return participant


def participant_authenticate(*, key: str) -> Participant | None:
    """The active participant an enrolment key belongs to; None if the key is not of that kind."""
    parts = api_keys.key_split(key)
    if parts is None:
        return None
    participant = Participant.objects.filter(enrolment_key_prefix=parts[0]).first()
    if participant is None:
        return None
    if not api_keys.key_matches(parts[1], participant.enrolment_key_hash):
        raise OpmError(ErrorCode.INVALID_KEY, "the API key is not valid", status=401)
    if not participant.active:
        raise OpmError(ErrorCode.PERMISSION_DENIED, f"participant {participant.name} is not active", status=403)
    return participant


def deployment_enrol(
    *, participant: Participant, release: AdapterRelease, public_key: bytes, label: str
) -> tuple[AdapterDeployment, str]:
    """Enrol a participant's instance of an approved release; returns the deployment and its API key (shown once)."""
    if release.state != ReleaseState.APPROVED:
        raise OpmError(ErrorCode.RELEASE_NOT_ACTIVE, f"release {release} is {release.state}, not approved")
    _check_public_key(public_key)
    key, prefix, digest = api_keys.key_generate()
    with transaction.atomic(durable=True):
        if AdapterDeployment.objects.filter(participant=participant, label=label).exists():
            raise OpmError(
                ErrorCode.DEPLOYMENT_EXISTS, f"{participant.name} already has a deployment {label!r}", status=409
            )
        deployment = AdapterDeployment.objects.create(
            participant=participant,
            release=release,
            label=label,
            public_key=public_key,
            api_key_prefix=prefix,
            api_key_hash=digest,
        )
        budget_open(participant=participant)
        ledger_append(
            kind="deployment.enrolled",
            actor=f"participant:{participant.name}",
            subject=f"deployment:{deployment.pk}",
            payload={
                "participant": participant.name,
                "deployment": deployment.pk,
                "label": label,
                "release": release.pk,
                "public_key": public_key.hex(),
            },
        )
    return deployment, key


def principal_authenticate(*, key: str) -> AdapterDeployment | Participant:
    """The deployment (the hot path: one query) or the participant whose enrolment key this is."""
    parts = api_keys.key_split(key)
    deployment = work_store.deployment_by_prefix(parts[0]) if parts is not None else None
    if deployment is None and parts is not None:
        participant = participant_authenticate(key=key)
        if participant is not None:
            return participant
    return _deployment_checked(deployment, parts[1] if parts else "")


def deployment_authenticate(*, key: str) -> AdapterDeployment:
    """The deployment a key belongs to, if it may work now: active, and its release approved."""
    parts = api_keys.key_split(key)
    deployment = work_store.deployment_by_prefix(parts[0]) if parts is not None else None
    return _deployment_checked(deployment, parts[1] if parts else "")


def _deployment_checked(deployment: AdapterDeployment | None, secret: str) -> AdapterDeployment:
    """A deployment works only while its key matches, it is active, its participant is active (deactivating
    a participant refuses all its keys at once) and its release is approved."""
    if deployment is None or not api_keys.key_matches(secret, deployment.api_key_hash):
        raise OpmError(ErrorCode.INVALID_KEY, "the API key is not valid", status=401)
    if deployment.status != DeploymentStatus.ACTIVE:
        raise OpmError(ErrorCode.DEPLOYMENT_REVOKED, "this deployment's key was revoked", status=403)
    if not deployment.participant.active:
        raise OpmError(
            ErrorCode.PERMISSION_DENIED, f"participant {deployment.participant.name} is not active", status=403
        )
    if deployment.release.state != ReleaseState.APPROVED:
        raise OpmError(
            ErrorCode.RELEASE_NOT_ACTIVE, f"release {deployment.release} is {deployment.release.state}", status=403
        )
    return deployment


def deployment_key_rotate(
    *,
    deployment: AdapterDeployment,
    public_key: bytes | None = None,
    old_key_signature: bytes | None = None,
    actor: str,
) -> tuple[AdapterDeployment, str]:
    """A new API key (the old one stops working at commit) and optionally a new Ed25519 signing key.

    A new signing key needs proof of possession of the current one: `old_key_signature`, by the current key,
    over the rotation statement naming this deployment and both keys (`adapters.contract.rotation_statement`).
    A key the deployment held before is refused, so a statement can never be replayed to go back to it. The
    entry carries the statement's signature, so anyone replaying the ledger can check the chain of keys."""
    if public_key is not None:
        _check_public_key(public_key)
    key, prefix, digest = api_keys.key_generate()
    with transaction.atomic(durable=True):
        deployment = AdapterDeployment.objects.select_for_update().get(pk=deployment.pk)
        if deployment.status != DeploymentStatus.ACTIVE:
            raise OpmError(ErrorCode.DEPLOYMENT_REVOKED, f"deployment {deployment} is revoked", status=409)
        old_public_key = bytes(deployment.public_key)
        if public_key is not None:
            _check_rotation_proof(deployment.pk, old_public_key, public_key, old_key_signature)
            if public_key in selectors.deployment_signing_keys(deployment=deployment):
                raise OpmError(
                    ErrorCode.VALIDATION_FAILED,
                    f"deployment {deployment.pk} held this signing key before: rotate to a fresh key",
                )
        deployment.api_key_prefix, deployment.api_key_hash = prefix, digest
        fields = ["api_key_prefix", "api_key_hash"]
        if public_key is not None:
            deployment.public_key = public_key
            fields.append("public_key")
        deployment.save(update_fields=fields)
        payload = {"participant": deployment.participant.name, "label": deployment.label, "key_prefix": prefix}
        if public_key is not None:
            assert old_key_signature is not None
            payload |= {
                "public_key": public_key.hex(),
                "old_public_key": old_public_key.hex(),
                "old_key_signature": old_key_signature.hex(),
            }
        ledger_append(
            kind="deployment.key_rotated", actor=actor, subject=f"deployment:{deployment.pk}", payload=payload
        )
    return deployment, key


def _check_rotation_proof(deployment: int, old_public_key: bytes, new_public_key: bytes, signature: bytes | None):
    """The current signing key signed the statement handing this deployment over to `new_public_key`."""
    statement = rotation_statement(deployment=deployment, old_public_key=old_public_key, new_public_key=new_public_key)
    try:
        if signature is None:
            raise InvalidSignature
        Ed25519PublicKey.from_public_bytes(old_public_key).verify(signature, statement)
    except (InvalidSignature, ValueError):
        raise OpmError(
            ErrorCode.BAD_SIGNATURE,
            "a new signing key needs old_key_signature: the current signing key's signature over the rotation "
            "statement naming this deployment, the current key and the new one (without the old key, revoke the "
            "deployment and enrol a new one)",
        ) from None


def deployment_revoke(*, deployment: AdapterDeployment, actor: str) -> AdapterDeployment:
    """Revoke a deployment: its key is refused from the next request on; leased tasks expire as usual."""
    with transaction.atomic(durable=True):
        deployment = AdapterDeployment.objects.select_for_update().select_related("participant").get(pk=deployment.pk)
        if deployment.status == DeploymentStatus.REVOKED:
            return deployment
        deployment.status = DeploymentStatus.REVOKED
        deployment.save(update_fields=["status"])
        ledger_append(
            kind="deployment.revoked",
            actor=actor,
            subject=f"deployment:{deployment.pk}",
            payload={"participant": deployment.participant.name, "label": deployment.label},
        )
    return deployment
