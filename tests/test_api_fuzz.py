"""Schemathesis over the whole OpenAPI schema: no 5xx, and every documented response matches its schema.

Runs in-process through the WSGI application (no network), as an anonymous client and as an enrolled
deployment, with a bounded number of examples per operation.
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
from schemathesis.specs.openapi.checks import response_schema_conformance

from opm_site.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)


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
def deployment_key(release, adapter_contract):
    from governance.policy_schemas import DEFAULT_DOCUMENTS
    from governance.services import policy_activate, policy_create
    from orchestration.services import deployment_enrol
    from registry.services import release_transition
    from tests.orchestration.factories import ParticipantFactory

    policy = policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"], created_by=None)
    policy_activate(policy=policy, proposal=None, actor="test")
    release_transition(release=release, to_state="in_review", actor="t")
    release_transition(release=release, to_state="approved", actor="t")
    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return deployment_enrol(participant=ParticipantFactory(), release=release, public_key=public, label="fuzz")[1]


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case, deployment_key):
    cache.clear()  # rate limits are per minute: keep them from answering the fuzzer with 429
    for headers in ({}, {"Authorization": f"Api-Key {deployment_key}"}):
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
