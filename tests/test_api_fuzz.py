"""Schemathesis over the whole OpenAPI schema: no 5xx, and every response's status, Content-Type, headers and
body are the ones the schema documents (problem details included).

Runs in-process through the WSGI application (no network). Every generated request is sent four times: as an
anonymous client, with a real deployment's API key, with its participant's enrolment key and with a vendor's
key, so each operation is checked on its authorised path and on every refusal. The examples per operation are
bounded to keep the test near a minute in CI.
"""

import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from opm_site.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests through the raw WSGI app would close the test's database connection when they finish (as
    Django's own test client prevents too)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def identities(release, adapter_contract) -> dict[str, dict[str, str]]:
    """The headers of each caller: anonymous, an enrolled deployment, its participant, a vendor."""
    from governance.policy_schemas import DEFAULT_DOCUMENTS
    from governance.services import policy_activate, policy_create
    from orchestration.services import deployment_enrol, participant_key_issue
    from registry.services import release_transition, vendor_key_issue
    from tests.orchestration.factories import ParticipantFactory

    policy = policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"], created_by=None)
    policy_activate(policy=policy, proposal=None, actor="test")
    release_transition(release=release, to_state="in_review", actor="t")
    release_transition(release=release, to_state="approved", actor="t")
    participant = ParticipantFactory()
    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    deployment_key = deployment_enrol(participant=participant, release=release, public_key=public, label="fuzz")[1]
    enrolment_key = participant_key_issue(participant=participant)
    vendor_key = vendor_key_issue(vendor="Example Vendor")[1]
    return {
        "anonymous": {},
        "deployment": {"Authorization": f"Api-Key {deployment_key}"},
        "enrolment": {"Authorization": f"Api-Key {enrolment_key}"},
        "vendor": {"Authorization": f"Api-Key {vendor_key}"},
    }


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case, identities):
    cache.clear()  # rate limits are per minute: keep them from answering the fuzzer with 429
    failures = []
    for identity, headers in identities.items():
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as failure:  # report every identity's failures, then fail
            failures.append(f"as {identity}: {failure}")
    assert not failures, "\n".join(failures)
