"""Test witnesses: deployments with real Ed25519 keys that cosign checkpoints as an adapter would, and the
policy and promotions that finality is about."""

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rest_framework.test import APIClient

from adapters.ledger.cosignature import cosign, witness_name
from adapters.ledger.note import split_note
from governance.models import Checkpoint
from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import ledger_append, policy_activate, policy_create
from orchestration.services import checkpoint_cosign, deployment_enrol

from .factories import AdapterDeploymentFactory, ParticipantFactory

ORIGIN = "openpassmarket.example/log"
"""The tests' log origin (the settings' default): witness names start with it."""


class Witness:
    """A deployment with a real signing key that cosigns checkpoints as its adapter would."""

    def __init__(self, participant=None, *, release=None, client: bool = False) -> None:
        self.key = Ed25519PrivateKey.generate()
        public = self.key.public_key().public_bytes_raw()
        participant = participant or ParticipantFactory()
        if client:
            self.deployment, api_key = deployment_enrol(
                participant=participant, release=release, public_key=public, label=f"w{participant.deployments.count()}"
            )
            self.client = APIClient()
            self.client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
        else:
            self.deployment = AdapterDeploymentFactory(participant=participant, public_key=public)

    @property
    def name(self) -> str:
        return witness_name(ORIGIN, self.deployment.participant.name, self.deployment.pk)

    def line(self, checkpoint: Checkpoint, *, timestamp: int | None = None, body: str | None = None, key=None) -> str:
        body = body if body is not None else split_note(checkpoint.note.encode())[0]
        moment = int(time.time()) if timestamp is None else timestamp
        return cosign(body, name=self.name, private_key=key or self.key, timestamp=moment).line

    def cosign(self, checkpoint: Checkpoint, **kwargs):
        return checkpoint_cosign(deployment=self.deployment, size=checkpoint.size, line=self.line(checkpoint, **kwargs))


def activate_orchestration(min_witnesses: int) -> None:
    document = {**DEFAULT_DOCUMENTS["orchestration"], "min_witnesses": min_witnesses}
    policy = policy_create(kind="orchestration", document=document, created_by=None)
    policy_activate(policy=policy, proposal=None, actor="test")


def promoted(factory, sequence: int):
    entry = ledger_append(kind="plan.promoted", actor="test", subject="plan:x", payload={"version": sequence})
    return factory(problem_class="llvm/text-bytes", sequence=sequence, ledger_index=entry.index)
