"""Enrolment over the API: a participant's enrolment key enrols deployments; keys rotate and revoke; lists filter."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from adapters.contract import rotation_statement
from governance.models import LedgerEntry
from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import policy_activate, policy_create
from orchestration.models import AdapterDeployment, Participant, PrivacyBudget
from orchestration.services import participant_create, participant_key_issue, participant_set_active
from registry.services import release_submit, release_transition
from tests.governance.fixtures import make_manifest

from .factories import ParticipantFactory, PlanFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/"


def public_hex() -> str:
    return Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def approved(release, adapter_contract):
    policy = policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"], created_by=None)
    policy_activate(policy=policy, proposal=None, actor="test")
    release_transition(release=release, to_state="in_review", actor="t")
    return release_transition(release=release, to_state="approved", actor="t")


@pytest.fixture
def acme():
    participant = ParticipantFactory(name="acme")
    return participant, client_with(participant_key_issue(participant=participant))


def enrol(client, release, label="main", key=None):
    return client.post(
        API + "deployments", {"release": release.pk, "label": label, "public_key": key or public_hex()}, format="json"
    )


def test_enrolment_key_enrols_a_deployment_whose_key_then_works(approved, acme):
    participant, client = acme
    response = enrol(client, approved)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["participant"] == "acme" and body["status"] == "active" and body["api_key"].startswith("opm_")
    assert PrivacyBudget.objects.filter(participant=participant).exists()  # opened with the first deployment
    deployment = client_with(body["api_key"])
    assert deployment.get(API + "problems").json()["results"] == []
    entry = LedgerEntry.objects.get(kind="deployment.enrolled")
    assert entry.payload["deployment"] == body["id"] and entry.actor == "participant:acme"
    listed = client.get(API + "deployments").json()
    assert [d["label"] for d in listed["results"]] == ["main"] and "api_key" not in listed["results"][0]


def test_enrolment_refuses_bad_input_with_problem_details(approved, acme):
    _, client = acme
    assert enrol(client, approved).status_code == 201
    again = enrol(client, approved)
    assert again.status_code == 409 and again.json()["code"] == "deployment_exists"
    bad_key = enrol(client, approved, label="other", key="zz" * 32)
    assert bad_key.status_code == 400 and bad_key.json()["code"] == "validation_failed"
    not_ed25519 = enrol(client, approved, label="other", key="00" * 31)
    assert not_ed25519.status_code == 400
    missing = client.post(API + "deployments", {"release": 999_999, "public_key": public_hex()}, format="json")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/problem+json"
    unapproved = release_submit(manifest=make_manifest(version="9.9.9"), vendor="Example Vendor", actor="t")
    refused = enrol(client, unapproved, label="third")
    assert refused.status_code == 400 and refused.json()["code"] == "release_not_active"


def test_a_forged_or_replaced_enrolment_key_is_refused(approved, acme):
    participant, client = acme
    prefix = participant.enrolment_key_prefix
    forged = client_with(f"opm_{prefix}_{'x' * 43}")
    assert forged.post(API + "deployments", {}, format="json").status_code == 401
    participant_key_issue(participant=participant)  # the operator replaces the key: the old one dies
    assert enrol(client, approved).status_code == 401


def raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def rotation(deployment: int, signer: Ed25519PrivateKey, old: Ed25519PrivateKey, new: Ed25519PrivateKey) -> dict:
    """A rotation request to `new`'s public key, its statement (naming `old`'s) signed by `signer`."""
    statement = rotation_statement(deployment=deployment, old_public_key=raw(old), new_public_key=raw(new))
    return {"public_key": raw(new).hex(), "old_key_signature": base64.b64encode(signer.sign(statement)).decode()}


def test_rotation_replaces_the_key_at_once_and_can_change_the_signing_key(approved, acme):
    _, client = acme
    signing, new_signing = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    first = enrol(client, approved, key=raw(signing).hex()).json()
    old = client_with(first["api_key"])
    rotated = old.post(
        API + f"deployments/{first['id']}/rotate", rotation(first["id"], signing, signing, new_signing), format="json"
    )
    assert rotated.status_code == 200, rotated.content
    new_public = raw(new_signing).hex()
    assert rotated.json()["public_key"] == new_public and rotated.json()["api_key"] != first["api_key"]
    assert old.get(API + "problems").status_code == 401
    assert client_with(rotated.json()["api_key"]).get(API + "problems").status_code == 200
    assert bytes(AdapterDeployment.objects.get(pk=first["id"]).public_key).hex() == new_public
    by_participant = client.post(API + f"deployments/{first['id']}/rotate", {}, format="json")  # API key only
    assert by_participant.status_code == 200
    entry = LedgerEntry.objects.filter(kind="deployment.key_rotated").order_by("index").first()
    assert entry.payload["old_public_key"] == raw(signing).hex() and entry.payload["public_key"] == new_public
    assert LedgerEntry.objects.filter(kind="deployment.key_rotated").count() == 2


def test_a_new_signing_key_needs_the_old_keys_signature_over_this_rotation(approved, acme):
    """The API key alone (or the enrolment key) cannot hand a deployment to another signing key: the current key
    signs a statement naming this deployment and the new key, and a statement cannot take it back to a key."""
    _, client = acme
    signing, new_signing, stranger = (Ed25519PrivateKey.generate() for _ in range(3))
    first = enrol(client, approved, key=raw(signing).hex()).json()
    other = enrol(client, approved, label="other").json()
    deployment, path = first["id"], API + f"deployments/{first['id']}/rotate"

    def refused(payload, code="bad_signature"):
        response = client.post(path, payload, format="json")
        assert response.status_code == 400 and response.json()["code"] == code, response.content

    refused({"public_key": raw(new_signing).hex()})  # no proof at all
    refused(rotation(deployment, stranger, signing, new_signing))  # signed by a key that is not the deployment's
    refused(rotation(deployment, signing, signing, stranger) | {"public_key": raw(new_signing).hex()})  # other key
    refused(rotation(other["id"], signing, signing, new_signing))  # a statement for another deployment
    refused({**rotation(deployment, signing, signing, new_signing), "old_key_signature": "not base64!"})
    refused({**rotation(deployment, signing, signing, new_signing), "old_key_signature": "é" * 88})  # not ASCII
    assert bytes(AdapterDeployment.objects.get(pk=deployment).public_key) == raw(signing)
    assert not LedgerEntry.objects.filter(kind="deployment.key_rotated").exists()

    forward = rotation(deployment, signing, signing, new_signing)
    assert client.post(path, forward, format="json").status_code == 200
    refused(forward)  # replayed: the current key is now the new one
    back = rotation(deployment, new_signing, new_signing, signing)  # even signed by the current key, never back
    refused(back, code="validation_failed")
    assert bytes(AdapterDeployment.objects.get(pk=deployment).public_key) == raw(new_signing)
    assert LedgerEntry.objects.filter(kind="deployment.key_rotated").count() == 1


def test_a_deployment_acts_only_on_itself_and_a_participant_only_on_its_own(approved, acme):
    _, client = acme
    mine = enrol(client, approved, label="a").json()
    sibling = enrol(client, approved, label="b").json()
    other_participant = ParticipantFactory(name="globex")
    other = client_with(participant_key_issue(participant=other_participant))
    assert other.post(API + f"deployments/{mine['id']}/revoke").status_code == 404
    as_deployment = client_with(mine["api_key"])
    assert as_deployment.post(API + f"deployments/{sibling['id']}/rotate", {}, format="json").status_code == 404
    revoked = as_deployment.post(API + f"deployments/{mine['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert as_deployment.get(API + "tasks").status_code == 403
    assert client.post(API + f"deployments/{mine['id']}/revoke").status_code == 200  # idempotent
    assert client.post(API + f"deployments/{mine['id']}/rotate", {}, format="json").status_code == 409
    assert LedgerEntry.objects.filter(kind="deployment.revoked").count() == 1


def test_lists_are_paginated_and_filtered(approved, acme):
    _, client = acme
    deployment = client_with(enrol(client, approved).json()["api_key"])
    for handle, problem_class in [("a", "llvm/text-bytes"), ("b", "llvm/text-bytes"), ("c", "llvm/ir-count")]:
        payload = {"handle": handle, "problem_class": problem_class, "corpus_size": 10, "commitment": "ab" * 32}
        assert deployment.post(API + "problems", payload, format="json").status_code == 201
    filtered = deployment.get(API + "problems", {"problem_class": "llvm/text-bytes"}).json()
    assert filtered["count"] == 2 and {p["handle"] for p in filtered["results"]} == {"a", "b"}
    page = deployment.get(API + "problems", {"limit": 1, "offset": 1}).json()
    assert page["count"] == 3 and len(page["results"]) == 1 and page["results"][0]["handle"] == "b"
    bad = deployment.get(API + "tasks", {"state": "nonsense"})
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"
    PlanFactory()
    assert deployment.get(API + "tasks", {"state": "queued"}).json()["count"] == 0
    assert client.get(API + "deployments", {"status": "revoked"}).json()["count"] == 0


def test_registry_lists_filter(llvm_passes):
    client = APIClient()
    every = client.get(API + "registry/passes/llvm").json()["count"]
    some = client.get(API + "registry/passes/llvm", {"name": "in"}).json()
    assert 0 < some["count"] < every and all("in" in p["name"] for p in some["results"])
    assert client.get(API + "registry/passes/llvm", {"kind": "bogus"}).status_code == 400


def test_participants_command_adds_and_rekeys(capsys):
    call_command("participants", "add", "initech", "--display-name", "Initech")
    out = capsys.readouterr().out
    assert "Enrolment key (shown once" in out and "opm_" in out
    first_prefix = Participant.objects.get(name="initech").enrolment_key_prefix
    call_command("participants", "key", "initech")
    assert Participant.objects.get(name="initech").enrolment_key_prefix != first_prefix
    with pytest.raises(CommandError, match="already exists"):
        call_command("participants", "add", "initech")
    with pytest.raises(CommandError, match="no participant"):
        call_command("participants", "key", "nobody")
    with pytest.raises(Exception, match="already exists"):
        participant_create(name="initech")  # the service behind `add` refuses a duplicate too


def test_deactivating_a_participant_refuses_its_keys_at_once(approved, acme):
    """The enrolment key and every deployment key of a deactivated participant are refused from the next
    request on (the deployment's key is resolved in plain SQL, the enrolment key through the ORM)."""
    participant, client = acme
    deployments = [client_with(enrol(client, approved, label=label).json()["api_key"]) for label in ("a", "b")]
    bystander = ParticipantFactory(name="globex")
    theirs = client_with(enrol(client_with(participant_key_issue(participant=bystander)), approved).json()["api_key"])
    assert all(d.get(API + "problems").status_code == 200 for d in deployments)
    participant_set_active(participant=participant, active=False, actor="user:ada")
    assert LedgerEntry.objects.filter(kind="participant.deactivated", subject="participant:acme").count() == 1
    for deployment in deployments:
        for response in (deployment.get(API + "problems"), deployment.post(API + "tasks/lease", {}, format="json")):
            assert response.status_code == 403 and response.json()["code"] == "permission_denied", response.content
    refused = client.get(API + "deployments")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert enrol(client, approved, label="c").status_code == 403
    assert theirs.get(API + "problems").status_code == 200  # other participants keep working
    participant_set_active(participant=participant, active=True, actor="user:ada")
    assert LedgerEntry.objects.filter(kind="participant.reactivated", subject="participant:acme").count() == 1
    assert (
        deployments[0].get(API + "problems").status_code == 200 and client.get(API + "deployments").status_code == 200
    )


def test_the_sdk_and_the_command_line_rotate_a_signing_key_the_server_accepts(
    approved, acme, tmp_path, monkeypatch, request
):
    """`opm-adapter keyfile rotate` against this server (in process, over WSGI): the old key proves the rotation,
    the key file then holds the new signing and API keys; the SDK refuses to ask without the old key."""
    import httpx
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from adapters import keyfile, sdk
    from adapters.cli import main
    from opm_site.wsgi import application

    _, client = acme
    key = keyfile.generate(tmp_path / "acme.key")
    enrolled = enrol(client, approved, key=key.public_key_hex).json()
    key.api_key, key.deployment = enrolled["api_key"], enrolled["id"]
    key.save()

    class InProcess(sdk.MarketClient):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "transport": httpx.WSGITransport(app=application), "retries": 0})

    monkeypatch.setattr(sdk, "MarketClient", InProcess)
    # As Django's test client does: the test's transaction must outlive each request's connection housekeeping.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
        request.addfinalizer(lambda signal=signal: signal.connect(close_old_connections))
    with InProcess("http://testserver", key.api_key) as market:
        with pytest.raises(ValueError, match="old signing key"):
            market.rotate_key(key.deployment, new_public_key=raw(Ed25519PrivateKey.generate()))
        with pytest.raises(sdk.ApiError) as wrong:  # signed by a key that is not the deployment's
            market.rotate_key(
                key.deployment,
                old_signing_key=Ed25519PrivateKey.generate(),
                new_public_key=raw(Ed25519PrivateKey.generate()),
            )
        assert wrong.value.code == "bad_signature"
    old_public = key.public_key_hex
    assert main(["keyfile", "rotate", str(key.path), "--server", "http://testserver", "--insecure-http"]) == 0
    rotated = keyfile.load(key.path)
    assert rotated.public_key_hex != old_public and rotated.api_key != key.api_key
    assert not (tmp_path / "acme.key.next").exists()
    assert bytes(AdapterDeployment.objects.get(pk=key.deployment).public_key).hex() == rotated.public_key_hex
    assert client_with(rotated.api_key).get(API + "problems").status_code == 200
    assert client_with(key.api_key).get(API + "problems").status_code == 401
    entry = LedgerEntry.objects.get(kind="deployment.key_rotated")
    assert (entry.payload["old_public_key"], entry.payload["public_key"]) == (old_public, rotated.public_key_hex)
    assert main(["keyfile", "rotate", str(key.path), "--server", "http://testserver"]) == 2  # plain HTTP refused


def test_the_operator_and_the_board_deactivate_a_participant_through_the_service(acme, admin_client):
    """`manage.py participants deactivate` and the admin's action both ledger the change; repeating it is a no-op."""
    participant, _ = acme
    call_command("participants", "deactivate", "acme")
    call_command("participants", "deactivate", "acme")
    participant.refresh_from_db()
    assert not participant.active
    assert LedgerEntry.objects.filter(kind="participant.deactivated").count() == 1
    response = admin_client.post(
        "/admin/orchestration/participant/",
        {"action": "reactivate", "_selected_action": [participant.pk]},
        follow=True,
    )
    assert response.status_code == 200
    participant.refresh_from_db()
    assert participant.active
    entry = LedgerEntry.objects.get(kind="participant.reactivated")
    assert entry.actor.startswith("user:") and entry.payload == {"participant": "acme"}
    with pytest.raises(CommandError, match="no participant"):
        call_command("participants", "deactivate", "nobody")
