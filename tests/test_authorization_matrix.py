"""Who may call what: anonymous clients, vendors and deployments against every endpoint."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from rest_framework.test import APIClient

from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import policy_activate, policy_create
from orchestration.services import deployment_enrol, participant_key_issue
from registry.services import release_transition, vendor_key_issue
from tests.orchestration.factories import ParticipantFactory

pytestmark = pytest.mark.django_db

# (method, path, body): every endpoint of the API.
WORK = [
    ("post", "/api/v1/problems", {}),
    ("post", "/api/v1/tasks/lease", {}),
    ("post", "/api/v1/tasks/1/heartbeat", {}),
    ("post", "/api/v1/tasks/1/failure", {}),
    ("post", "/api/v1/signals", {}),
    ("post", "/api/v1/ledger/cosignatures", {}),
    ("get", "/api/v1/ledger/witness", None),
    ("get", "/api/v1/problems", None),
    ("get", "/api/v1/tasks", None),
]
# Only the participant's enrolment key enrols and lists deployments.
ENROLMENT = [("post", "/api/v1/deployments", {}), ("get", "/api/v1/deployments", None)]
VENDOR = [("post", "/api/v1/registry/releases", {}), ("get", "/api/v1/registry/releases/1", None)]
PUBLIC = [
    ("get", "/api/v1/ledger/key", None),
    ("get", "/api/v1/ledger/entries", None),
    ("get", "/api/v1/ledger/witnesses", None),
    ("get", "/api/v1/registry/contracts", None),
    ("get", "/api/v1/registry/passes/llvm", None),
    ("get", "/api/v1/schema/", None),
    ("get", "/api/v1/plans/deltas?problem_class=llvm/text-bytes", None),
]


@pytest.fixture
def clients(release, adapter_contract):
    policy = policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"], created_by=None)
    policy_activate(policy=policy, proposal=None, actor="test")
    release_transition(release=release, to_state="in_review", actor="t")
    release_transition(release=release, to_state="approved", actor="t")
    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    participant = ParticipantFactory()
    deployment, deployment_key = deployment_enrol(
        participant=participant, release=release, public_key=public, label="main"
    )
    _, vendor_key = vendor_key_issue(vendor="Example Vendor")
    made = {"anonymous": APIClient(), "deployment": APIClient(), "vendor": APIClient(), "participant": APIClient()}
    made["deployment"].credentials(HTTP_AUTHORIZATION=f"Api-Key {deployment_key}")
    made["vendor"].credentials(HTTP_AUTHORIZATION=f"Api-Key {vendor_key}")
    made["participant"].credentials(HTTP_AUTHORIZATION=f"Api-Key {participant_key_issue(participant=participant)}")
    made["deployment_id"] = deployment.pk
    return made


def call(client, method, path, body):
    return getattr(client, method)(path, body, format="json") if body is not None else client.get(path)


@pytest.mark.parametrize(("method", "path", "body"), WORK)
def test_work_loop_is_for_deployments_only(clients, method, path, body):
    assert call(clients["anonymous"], method, path, body).status_code == 401
    assert call(clients["vendor"], method, path, body).status_code == 401  # a vendor key is no deployment key
    assert call(clients["participant"], method, path, body).status_code == 403  # an enrolment key cannot work
    assert call(clients["deployment"], method, path, body).status_code not in (401, 403)


@pytest.mark.parametrize(("method", "path", "body"), ENROLMENT)
def test_enrolment_is_for_the_participant_key_only(clients, method, path, body):
    assert call(clients["anonymous"], method, path, body).status_code == 401
    assert call(clients["vendor"], method, path, body).status_code == 401
    assert call(clients["deployment"], method, path, body).status_code == 403  # a deployment cannot enrol others
    assert call(clients["participant"], method, path, body).status_code not in (401, 403)


@pytest.mark.parametrize(("method", "path", "body"), VENDOR)
def test_release_submission_is_for_vendors_only(clients, method, path, body):
    assert call(clients["anonymous"], method, path, body).status_code == 401
    assert call(clients["deployment"], method, path, body).status_code == 401  # deployments cannot submit
    assert call(clients["participant"], method, path, body).status_code == 401
    assert call(clients["vendor"], method, path, body).status_code not in (401, 403)


@pytest.mark.parametrize(("method", "path", "body"), PUBLIC)
def test_public_endpoints_are_open_to_everyone(clients, method, path, body):
    for role, client in clients.items():
        if role != "deployment_id":
            assert call(client, method, path, body).status_code == 200


def test_vendor_submits_and_follows_its_release(clients, release, llvm_passes):
    from tests.governance.fixtures import make_manifest

    vendor = clients["vendor"]
    created = vendor.post("/api/v1/registry/releases", make_manifest(version="2.0.0"), format="json")
    assert created.status_code == 201 and created.json()["state"] == "submitted"
    mine = vendor.get(f"/api/v1/registry/releases/{created.json()['id']}").json()
    assert mine["name"] == "llvm-size" and mine["conformance_runs"] == []
    invalid = vendor.post("/api/v1/registry/releases", make_manifest(version="x", artifact_digest="y"), format="json")
    assert invalid.status_code == 400 and invalid.json()["code"] == "invalid_manifest"
    assert len(invalid.json()["errors"]) == 2
    _, other_key = vendor_key_issue(vendor="Someone Else")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_key}")
    assert other.get(f"/api/v1/registry/releases/{created.json()['id']}").status_code == 404


@pytest.mark.parametrize("action", ["rotate", "revoke"])
def test_key_actions_are_for_the_participant_or_the_deployment_itself(clients, action):
    path = f"/api/v1/deployments/{clients['deployment_id']}/{action}"
    assert clients["anonymous"].post(path, {}, format="json").status_code == 401
    assert clients["vendor"].post(path, {}, format="json").status_code == 401
    assert clients["participant"].post(path, {}, format="json").status_code == 200
    other = f"/api/v1/deployments/{clients['deployment_id'] + 1000}/{action}"
    assert clients["participant"].post(other, {}, format="json").status_code == 404
