"""Cross-cutting API behaviour: the OpenAPI schema, offline docs, throttling (429) and body limits (413)."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_generates_without_warnings_and_documents_every_endpoint(tmp_path, client):
    call_command("spectacular", "--file", str(tmp_path / "schema.yaml"), "--fail-on-warn", "--validate")
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = set(schema["paths"])
    for path in (
        "/api/v1/problems",
        "/api/v1/tasks/lease",
        "/api/v1/tasks/{id}/heartbeat",
        "/api/v1/tasks/{id}/failure",
        "/api/v1/signals",
        "/api/v1/ledger/checkpoint",
        "/api/v1/ledger/key",
        "/api/v1/ledger/entries",
        "/api/v1/ledger/proofs/inclusion",
        "/api/v1/ledger/proofs/consistency",
        "/api/v1/ledger/checkpoint/cosigned",
        "/api/v1/ledger/cosignatures",
        "/api/v1/ledger/witness",
        "/api/v1/ledger/witnesses",
    ):
        assert path in paths
    assert schema["components"]["securitySchemes"]["DeploymentApiKey"]["type"] == "apiKey"
    assert "409" in schema["paths"]["/api/v1/tasks/lease"]["post"]["responses"]
    assert "409" in schema["paths"]["/api/v1/ledger/cosignatures"]["post"]["responses"]


def test_every_error_response_is_documented_as_problem_details(client):
    """Each operation documents the problem+json responses its view can return: its machinery's (406 always,
    400/413/415 with input, 401/403 with keys, 429 when throttled) and its own (409 and the like)."""
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for code, response in responses.items():
                if int(code) >= 400:
                    assert response["content"] == {"application/problem+json": problem}, (method, path, code)
                    assert response["description"], (method, path, code)
            assert "406" in responses, (method, path)
            if operation.get("security") and {} not in operation["security"]:
                assert {"401", "403"} <= set(responses), (method, path)
                assert responses["401"]["headers"]["WWW-Authenticate"]["required"], (method, path)
            if path != "/api/v1/health":
                assert responses["429"]["headers"]["Retry-After"]["required"], (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(responses), (method, path)
    lease = schema["paths"]["/api/v1/tasks/lease"]["post"]["responses"]
    assert set(lease) == {"200", "400", "401", "403", "404", "406", "409", "413", "415", "429"}


def test_an_unknown_key_is_401_naming_the_scheme(client):
    response = client.get("/api/v1/tasks", HTTP_AUTHORIZATION="Api-Key opm_0123456789ab_not-a-real-secret")
    assert response.status_code == 401 and response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == "Api-Key" and response.json()["code"] == "invalid_key"


def test_a_ref_of_non_ascii_digits_is_404_not_500(client):
    """str.isdigit() accepts "²", which int() refuses: schemathesis found this 500."""
    for path in ("/api/v1/plans/%C2%B2", "/api/v1/portfolios/%C2%B2"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize("page", ["/api/v1/schema/redoc/", "/api/v1/schema/swagger/"])
def test_the_docs_reference_no_external_url_and_their_assets_are_served(page, client, settings, tmp_path):
    """Offline docs: no CDN, no web fonts; the pages' scripts and styles come from drf-spectacular-sidecar,
    served by whitenoise after `collectstatic` (as `run.sh serve` does). tests/e2e/test_api_docs_browser.py
    renders them in a browser that may reach only our server."""
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", "--no-input", "--verbosity", "0")
    response = client.get(page)
    html = response.content.decode()
    assert not re.search(r"https?:|//fonts|@import", html)
    # What the bundles would fetch at run time (Redoc's CDN logo) the browser is told not to.
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "img-src 'self' data:" in response["Content-Security-Policy"]
    assets = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert len(assets) >= 1 and all(a.startswith("/static/drf_spectacular_sidecar/") for a in assets), assets
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        shipped = Path(finders.find(asset.removeprefix("/static/"))).read_bytes()  # the sidecar package's file
        assert b"".join(response.streaming_content) == shipped, asset


def test_public_endpoints_are_throttled_with_retry_after(client, settings):
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"public": "2/minute", "deployment": "2/minute"},
    }
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        codes = [client.get("/api/v1/ledger/key").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = client.get("/api/v1/ledger/key")
        assert limited["Retry-After"] and limited.json()["code"] == "throttled"
    finally:
        cache.clear()
        SimpleRateThrottle.THROTTLE_RATES = original


def test_oversized_bodies_are_413_problems(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/api/v1/signals", data=b"x" * 5000, content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
