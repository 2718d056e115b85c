"""opm_site.throttling: limits keyed on who calls (a key) or where from (the peer address, never a header the
client wrote), counted in a cache every worker process shares."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings as django_settings
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db

PUBLIC = "/api/v1/ledger/key"  # throttled per peer, reads no database
WORK = "/api/v1/tasks"  # throttled per deployment


@pytest.fixture(autouse=True)
def two_per_minute(monkeypatch):
    """DRF binds the rates into the class at import; each test gets a fresh count of two a minute."""
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"public": "2/minute", "deployment": "2/minute"})
    cache.clear()
    yield
    cache.clear()


def statuses(client, path: str, *headers: dict) -> list[int]:
    return [client.get(path, **h).status_code for h in headers]


def test_a_forged_x_forwarded_for_does_not_escape_the_limit(client):
    forged = [{"HTTP_X_FORWARDED_FOR": f"203.0.113.{n}"} for n in range(4)]
    assert statuses(client, PUBLIC, *forged) == [200, 200, 429, 429]


def test_each_peer_address_has_its_own_limit(client):
    first, second = {"REMOTE_ADDR": "192.0.2.1"}, {"REMOTE_ADDR": "192.0.2.2"}
    assert statuses(client, PUBLIC, first, first, first, second) == [200, 200, 429, 200]


def test_behind_our_proxy_the_address_it_appended_counts(client, settings):
    """With OPM_NUM_PROXIES=1 the last X-Forwarded-For entry is our proxy's; what the client put before it is not."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    spoofed = [{**proxy, "HTTP_X_FORWARDED_FOR": f"203.0.113.{n}, 198.51.100.7"} for n in range(3)]
    other = {**proxy, "HTTP_X_FORWARDED_FOR": "198.51.100.8"}
    assert statuses(client, PUBLIC, *spoofed, other) == [200, 200, 429, 200]


def test_the_default_never_trusts_x_forwarded_for():
    """DRF reads the client's X-Forwarded-For when NUM_PROXIES is None; ours is a number."""
    assert django_settings.REST_FRAMEWORK["NUM_PROXIES"] == 0


@pytest.fixture
def keys(release, adapter_contract) -> list[str]:
    """Two deployments' API keys (of one participant) and the participant's enrolment key."""
    from governance.policy_schemas import DEFAULT_DOCUMENTS
    from governance.services import policy_activate, policy_create
    from orchestration.services import deployment_enrol, participant_key_issue
    from registry.services import release_transition
    from tests.orchestration.factories import ParticipantFactory

    policy = policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"], created_by=None)
    policy_activate(policy=policy, proposal=None, actor="test")
    release_transition(release=release, to_state="in_review", actor="t")
    release_transition(release=release, to_state="approved", actor="t")
    participant = ParticipantFactory()
    deployments = [
        deployment_enrol(
            participant=participant,
            release=release,
            public_key=Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
            label=label,
        )[1]
        for label in ("one", "two")
    ]
    return [*deployments, participant_key_issue(participant=participant)]


def test_two_keys_have_separate_limits_whatever_the_address(keys):
    one, two, _ = ({"HTTP_AUTHORIZATION": f"Api-Key {key}"} for key in keys)
    client = APIClient()
    moving = [{**one, "REMOTE_ADDR": f"192.0.2.{n}", "HTTP_X_FORWARDED_FOR": f"203.0.113.{n}"} for n in range(3)]
    assert statuses(client, WORK, *moving) == [200, 200, 429]
    assert statuses(client, WORK, two, two, two) == [200, 200, 429]


def test_an_enrolment_key_has_its_own_limit(keys):
    deployment, _, enrolment = ({"HTTP_AUTHORIZATION": f"Api-Key {key}"} for key in keys)
    client = APIClient()
    assert statuses(client, WORK, deployment, deployment, deployment) == [200, 200, 429]
    assert statuses(client, "/api/v1/deployments", enrolment, enrolment, enrolment) == [200, 200, 429]


_OTHER_WORKER = """
import django
django.setup()
from django.test import Client
print(Client().get("/api/v1/ledger/key").status_code)
"""


def test_the_count_is_shared_with_another_worker_process(client):
    """Another process, as a second gunicorn worker would be, sees this one's count: the limit is per server,
    not per worker (Django's default in-process memory cache would give each worker its own)."""
    assert statuses(client, PUBLIC, {}, {}) == [200, 200]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "opm_site.settings",
        "OPM_VAR_DIR": str(django_settings.VAR_DIR),
        "OPM_THROTTLE_PUBLIC": "2/minute",
    }
    repo = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", _OTHER_WORKER], env=env, cwd=repo, capture_output=True, text=True, check=True
    )
    assert result.stdout.split()[-1] == "429", result.stderr
    cache.clear()
    result = subprocess.run(
        [sys.executable, "-c", _OTHER_WORKER], env=env, cwd=repo, capture_output=True, text=True, check=True
    )
    assert result.stdout.split()[-1] == "200", result.stderr


def test_the_window_closes_and_retry_after_says_when(client, monkeypatch):
    """A caller refused at the limit is told how long its window has left, and is let in once it has passed."""
    now = [1_000_000.0]
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: now[0])
    assert statuses(client, PUBLIC, {}, {}) == [200, 200]
    now[0] += 45
    refused = client.get(PUBLIC)
    assert refused.status_code == 429 and int(refused["Retry-After"]) == 15
    now[0] += 15
    assert statuses(client, PUBLIC, {}, {}, {}) == [200, 200, 429]


def test_the_count_stays_one_small_entry_whatever_the_rate(client, monkeypatch):
    """The cache holds a (start, count) pair per caller, not the time of every request in the window."""
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"public": "1000/minute", "deployment": "2/minute"})
    assert set(statuses(client, PUBLIC, *[{}] * 50)) == {200}
    from opm_site.throttling import PublicRateThrottle

    stored = cache.get(PublicRateThrottle.cache_format % {"scope": "public", "ident": "127.0.0.1"})
    assert stored[1] == 50 and len(stored) == 2
