"""The adapters' work loop over HTTP: keys, problems, leases that charge budgets, signed idempotent signals."""

import base64
import datetime as dt
import hashlib
import json

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.utils import timezone
from rest_framework.test import APIClient

from governance.models import LedgerEntry
from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import policy_activate, policy_create
from opm_site.errors import ErrorCode, OpmError
from orchestration.models import AdapterDeployment, EvaluationTask, PerformanceSignal, PrivacyBudget, PrivacyCharge
from orchestration.services import deployment_enrol, tasks_expire
from registry.services import release_transition
from tests.concurrency import race

from .factories import ParticipantFactory, PlanFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/"


class Adapter:
    """A participant's deployment as the API sees it: a key, a signing key and a client."""

    def __init__(self, release, name="acme"):
        self.signing_key = Ed25519PrivateKey.generate()
        public = self.signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.participant = ParticipantFactory(name=name)
        self.deployment, self.key = deployment_enrol(
            participant=self.participant, release=release, public_key=public, label="main"
        )
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Api-Key {self.key}")

    def register(self, handle="corpus", n=250):
        response = self.client.post(
            API + "problems",
            {"handle": handle, "problem_class": "llvm/text-bytes", "corpus_size": n, "commitment": "ab" * 32},
            format="json",
        )
        assert response.status_code == 201, response.content
        return response.json()["id"]

    def signal_body(self, task, value=0.012, **changes):
        """The full statement for a leased task as the API described it (`changes` alter fields of it)."""
        sensitivity = 2 * task["clip_bound"] / 250
        statement = {
            "task": task["id"],
            "round": task["round"],
            "problem": task["problem"],
            "phase": task["phase"],
            "plan": task["plan_hash"],
            "base": task["base_hash"],
            "statistic": "clipped_gain",
            "n": 250,
            "mechanism": "gaussian",
            "parameters": {
                "noise_multiplier": task["noise_multiplier"],
                "clip_bound": task["clip_bound"],
                "std": task["noise_multiplier"] * sensitivity,
                "sensitivity": sensitivity,
            },
            "value": value,
        }
        return rfc8785.dumps(statement | changes)

    def submit(self, body, signer=None):
        signature = (signer or self.signing_key).sign(body)
        return self.client.post(
            API + "signals",
            data=body,
            content_type="application/json",
            HTTP_X_OPM_SIGNATURE=base64.b64encode(signature).decode(),
        )


@pytest.fixture
def approved_release(board, release, adapter_contract):
    policy = policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"], created_by=None)
    policy_activate(policy=policy, proposal=None, actor="test")
    release_transition(release=release, to_state="in_review", actor="test")
    return release_transition(release=release, to_state="approved", actor="test")


def queue(problem_id, count=1, noise_multiplier=20.0):
    from orchestration.models import LocalProblem

    problem = LocalProblem.objects.get(pk=problem_id)
    return [
        EvaluationTask.objects.create(
            plan=PlanFactory(), local_problem=problem, noise_multiplier=noise_multiplier, clip_bound=0.1
        )
        for _ in range(count)
    ]


def test_keys_are_shown_once_and_stored_hashed(approved_release):
    adapter = Adapter(approved_release)
    stored = AdapterDeployment.objects.get(pk=adapter.deployment.pk)
    secret = adapter.key.split("_", 2)[2]
    assert stored.api_key_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in stored.api_key_hash
    assert LedgerEntry.objects.filter(kind="deployment.enrolled").count() == 1
    assert PrivacyBudget.objects.filter(participant=adapter.participant).exists()


def test_enrolment_needs_an_approved_release(board, release, adapter_contract):
    with pytest.raises(OpmError) as excinfo:
        Adapter(release)
    assert excinfo.value.code == ErrorCode.RELEASE_NOT_ACTIVE


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        (None, 401, "not_authenticated"),
        ("Api-Key opm_000000000000_nope", 401, "invalid_key"),
        ("Api-Key garbage", 401, "invalid_key"),
        ("Bearer x", 401, "not_authenticated"),
    ],
)
def test_bad_or_missing_keys_are_problems(approved_release, header, status, code):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.post(API + "tasks/lease", {}, format="json")
    assert response.status_code == status and response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_suspended_release_keys_are_refused_at_once(approved_release):
    adapter = Adapter(approved_release)
    release_transition(release=approved_release, to_state="suspended", actor="board")
    response = adapter.client.post(API + "tasks/lease", {}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "release_not_active"


def test_problem_registration_validates_every_field(approved_release):
    adapter = Adapter(approved_release)
    response = adapter.client.post(
        API + "problems", {"handle": "a b", "problem_class": "X", "corpus_size": 0, "commitment": "zz"}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "validation_failed"
    assert set(response.json()["errors"]) == {"handle", "problem_class", "corpus_size", "commitment"}


def test_lease_charges_the_budget_and_stops_when_exhausted(approved_release):
    adapter = Adapter(approved_release)
    tasks = queue(adapter.register(), count=25)  # m = 20: 19 releases fit in epsilon = 1
    leased = adapter.client.post(API + "tasks/lease", {"limit": 50}, format="json").json()["tasks"]
    assert len(leased) == 19
    assert PrivacyCharge.objects.count() == 19 and LedgerEntry.objects.filter(kind="budget.charged").count() == 19
    assert EvaluationTask.objects.filter(state="queued").count() == 6
    again = adapter.client.post(API + "tasks/lease", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "budget_exhausted"
    assert EvaluationTask.objects.get(pk=tasks[-1].pk).state == "queued"


def test_signal_round_trip_is_signed_idempotent_and_ledgered(approved_release):
    adapter = Adapter(approved_release)
    queue(adapter.register())
    task = adapter.client.post(API + "tasks/lease", {}, format="json").json()["tasks"][0]
    body = adapter.signal_body(task)
    first = adapter.submit(body)
    assert first.status_code == 201
    entry = LedgerEntry.objects.get(index=first.json()["ledger_index"])
    assert entry.kind == "signal.accepted" and entry.payload["body"]["value"] == 0.012
    stored = PerformanceSignal.objects.get(task_id=task["id"])  # inserted with its entry, citing its index
    assert stored.ledger_index == entry.index and bytes(stored.body) == body and stored.parameters["clip_bound"] == 0.1
    assert EvaluationTask.objects.get(pk=task["id"]).state == "done"
    replay = adapter.submit(body)
    assert replay.status_code == 200 and replay.json() == first.json()
    conflict = adapter.submit(adapter.signal_body(task, value=0.5))
    assert conflict.status_code == 409 and conflict.json()["code"] == "signal_conflict"
    assert LedgerEntry.objects.filter(kind="signal.accepted").count() == 1


def test_forged_mismatched_and_malformed_signals_are_refused(approved_release):
    adapter = Adapter(approved_release)
    other = Adapter(approved_release, name="other")
    queue(adapter.register())
    other.register("theirs")
    task = adapter.client.post(API + "tasks/lease", {}, format="json").json()["tasks"][0]
    body = adapter.signal_body(task)
    forged = adapter.submit(body, signer=Ed25519PrivateKey.generate())
    assert forged.status_code == 400 and forged.json()["code"] == "bad_signature"
    stolen = other.submit(body)  # another deployment's valid signature over someone else's task
    assert stolen.status_code in (403, 404) and stolen.json()["code"] == "not_your_task"
    not_canonical = json.dumps(json.loads(body), indent=1).encode()
    assert adapter.submit(not_canonical).json()["code"] == "invalid_signal"
    nan = body.replace(b"0.012", b"NaN")
    assert adapter.submit(nan).json()["code"] == "invalid_signal"
    extra = rfc8785.dumps({**json.loads(body), "raw_sizes": [1, 2, 3]})
    assert adapter.submit(extra).json()["code"] == "invalid_signal"  # nothing but the release leaves the adapter
    for bad_id, status in (("7", 400), (True, 400), (0, 404), (-3, 404), (2**53 - 1, 404)):  # odd types and ids
        odd = rfc8785.dumps({**json.loads(body), "task": bad_id})
        assert adapter.submit(odd).status_code == status
    absurd = adapter.signal_body(task, value=1e6)
    assert adapter.submit(absurd).json()["code"] == "invalid_signal"
    assert adapter.client.post(API + "signals", data=body, content_type="application/json").json()["code"] == (
        "bad_signature"
    )


def test_a_tampered_body_under_its_original_signature_is_refused(approved_release):
    adapter = Adapter(approved_release)
    queue(adapter.register(), count=2)
    first, second = adapter.client.post(API + "tasks/lease", {"limit": 2}, format="json").json()["tasks"]
    body = adapter.signal_body(first)
    signature = base64.b64encode(adapter.signing_key.sign(body)).decode()
    assert (
        adapter.client.post(
            API + "signals", data=body, content_type="application/json", HTTP_X_OPM_SIGNATURE=signature
        ).status_code
        == 201
    )
    for changed in ({"value": 0.05}, {"task": second["id"]}):  # a new value, or the accepted body moved to a task
        tampered = rfc8785.dumps({**json.loads(body), **changed})
        response = adapter.client.post(
            API + "signals", data=tampered, content_type="application/json", HTTP_X_OPM_SIGNATURE=signature
        )
        assert response.status_code == 400 and response.json()["code"] == "bad_signature"
    assert LedgerEntry.objects.filter(kind="signal.accepted").count() == 1
    assert EvaluationTask.objects.get(pk=second["id"]).state == "leased"


def test_a_database_outage_is_a_503_to_try_again_later(approved_release, monkeypatch):
    from django.db import OperationalError

    from orchestration import api

    adapter = Adapter(approved_release)
    queue(adapter.register())

    def unavailable(**kwargs):
        raise OperationalError("connection failed: Connection refused")

    monkeypatch.setattr(api.services, "tasks_lease", unavailable)
    response = adapter.client.post(API + "tasks/lease", {}, format="json")
    assert response.status_code == 503 and response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "service_unavailable" and response["Retry-After"] == "5"
    assert "Connection refused" not in response.json()["detail"]  # the server's internals stay inside


def test_expired_leases_requeue_and_keep_their_charge(approved_release):
    adapter = Adapter(approved_release)
    queue(adapter.register())
    task = adapter.client.post(API + "tasks/lease", {"lease_seconds": 10}, format="json").json()["tasks"][0]
    requeued = tasks_expire(now=timezone.now() + dt.timedelta(seconds=11))
    assert len(requeued) == 1 and requeued[0].requeued_from_id == task["id"]
    assert EvaluationTask.objects.get(pk=task["id"]).state == "expired"
    late = adapter.submit(adapter.signal_body(task))
    assert late.status_code == 409 and late.json()["code"] in ("lease_expired", "task_not_leased")
    assert PrivacyCharge.objects.count() == 1  # never refunded


def test_heartbeat_and_failure_report(approved_release):
    adapter = Adapter(approved_release)
    queue(adapter.register(), count=2)
    first, second = adapter.client.post(API + "tasks/lease", {"limit": 2}, format="json").json()["tasks"]
    beat = adapter.client.post(API + f"tasks/{first['id']}/heartbeat", {"lease_seconds": 3600}, format="json")
    assert beat.status_code == 200 and beat.json()["lease_expires_at"] > first["lease_expires_at"]
    failed = adapter.client.post(API + f"tasks/{second['id']}/failure", {"reason": "crash: signal 6"}, format="json")
    assert failed.json()["state"] == "failed"
    nobody = adapter.client.post(API + "tasks/999999/heartbeat", {}, format="json")
    assert nobody.status_code == 404 and nobody.json()["code"] == "not_your_task"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_leases_never_hand_out_a_task_twice(approved_release):
    from orchestration.services import tasks_lease

    adapter = Adapter(approved_release)
    queue(adapter.register(), count=30, noise_multiplier=100.0)
    leased: list[int] = []

    def lease(_):
        while EvaluationTask.objects.filter(state="queued").exists():  # skip_locked: rivals take other rows
            leased.extend(t.pk for t in tasks_lease(deployment=adapter.deployment, limit=3))

    race(lease, range(4))
    assert len(leased) == len(set(leased)) == 30
    assert PrivacyCharge.objects.count() == 30
    assert LedgerEntry.objects.filter(kind="budget.charged").count() == 30


def test_a_refused_signal_leaves_the_task_leased(approved_release):
    adapter = Adapter(approved_release)
    queue(adapter.register())
    task = adapter.client.post(API + "tasks/lease", {}, format="json").json()["tasks"][0]
    absurd = adapter.submit(adapter.signal_body(task, value=1e6))  # fails after the task was marked done
    assert absurd.status_code == 400 and absurd.json()["code"] == "invalid_signal"
    assert EvaluationTask.objects.get(pk=task["id"]).state == "leased"
    assert adapter.submit(adapter.signal_body(task)).status_code == 201


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_of_one_task_accept_one_signal(approved_release):
    from orchestration.services import signal_submit, tasks_lease

    adapter = Adapter(approved_release)
    queue(adapter.register(), count=1, noise_multiplier=100.0)
    (task,) = tasks_lease(deployment=adapter.deployment, limit=1)
    as_json = {
        "id": task.pk,
        "round": None,
        "problem": task.local_problem.handle,
        "phase": "",
        "plan_hash": task.plan.content_hash,
        "base_hash": None,
        "noise_multiplier": task.noise_multiplier,
        "clip_bound": task.clip_bound,
    }
    bodies = [adapter.signal_body(as_json)] * 4 + [adapter.signal_body(as_json, value=0.02)] * 2

    def submit(body):
        signature = adapter.signing_key.sign(body)
        signal, created = signal_submit(deployment=adapter.deployment, body=body, signature=signature)
        return created, signal.ledger_index

    outcomes = race(submit, bodies)
    ((accepted, (_, index)),) = [(body, r) for body, r in outcomes if isinstance(r, tuple) and r[0] is True]
    same = [r for body, r in outcomes if body == accepted and r != (True, index)]
    different = [r for body, r in outcomes if body != accepted]
    assert same == [(False, index)] * (bodies.count(accepted) - 1)  # replays: the same 200, citing the same entry
    assert different == [ErrorCode.SIGNAL_CONFLICT] * (len(bodies) - bodies.count(accepted))
    assert LedgerEntry.objects.filter(kind="signal.accepted").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_expiry_sweeps_requeue_each_lease_once(approved_release):
    adapter = Adapter(approved_release)
    queue(adapter.register(), count=30, noise_multiplier=100.0)
    leased = [
        t["id"]
        for t in adapter.client.post(API + "tasks/lease", {"limit": 50, "lease_seconds": 10}, format="json").json()[
            "tasks"
        ]
    ]
    spent = PrivacyBudget.objects.get(participant=adapter.participant).rho_spent_nano
    later = timezone.now() + dt.timedelta(seconds=11)
    outcomes = race(lambda _: [t.requeued_from_id for t in tasks_expire(now=later)], range(3))
    requeued = [origin for _, origins in outcomes for origin in origins]
    assert sorted(requeued) == sorted(leased)  # skip_locked: each sweep takes other rows, none twice
    assert EvaluationTask.objects.filter(state="queued", requeued_from__isnull=False).count() == 30
    assert PrivacyBudget.objects.get(participant=adapter.participant).rho_spent_nano == spent  # nothing refunded


def test_deployments_command_enrols_and_revokes(approved_release, capsys):
    from django.core.management import CommandError, call_command

    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    with pytest.raises(CommandError, match="must be hex"):
        call_command(
            "deployments", "enrol", "--participant", "acme", "--release", approved_release.pk, "--public-key", "zz"
        )
    call_command(
        "deployments", "enrol", "--participant", "acme", "--release", approved_release.pk, "--public-key", public
    )
    key = capsys.readouterr().out.split("store it now): ")[1].strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.post(API + "tasks/lease", {}, format="json").json() == {"tasks": []}  # the key works
    call_command("deployments", "revoke", "--participant", "acme")
    refused = client.post(API + "tasks/lease", {}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "deployment_revoked"


def test_a_statement_must_describe_its_leased_task_field_by_field(approved_release):
    """A signed statement is accepted only for what it names: the task's round, problem, phase, plan, base,
    statistic, n and mechanism; a body reused for another task or plan is refused and the task stays leased."""
    adapter = Adapter(approved_release)
    queue(adapter.register(), count=2)
    task, sibling = adapter.client.post(API + "tasks/lease", {"limit": 2}, format="json").json()["tasks"]
    assert (task["round"], task["phase"], task["problem"]) == (None, "", "corpus")
    parameters = json.loads(adapter.signal_body(task))["parameters"]
    for field, value in [
        ("round", 3),
        ("problem", "another-corpus"),
        ("phase", "selection"),
        ("plan", sibling["plan_hash"]),  # a favourable signal cited for another plan
        ("base", "ab" * 32),
        ("statistic", "marginal_log_gain"),
        ("n", 249),
    ]:
        refused = adapter.submit(adapter.signal_body(task, **{field: value}))
        assert refused.status_code == 400 and refused.json()["code"] == "invalid_signal", field
        assert refused.json()["fields"] == [field]
    for changed in ({"noise_multiplier": 25.0}, {"clip_bound": 0.2}, {"std": 1.0}, {"sensitivity": 1.0}, {"x": 1}):
        refused = adapter.submit(adapter.signal_body(task, parameters=parameters | changed))
        assert refused.status_code == 400 and refused.json()["code"] == "invalid_signal", changed
    old_style = {k: json.loads(adapter.signal_body(task))[k] for k in ("task", "value", "n", "mechanism", "parameters")}
    assert adapter.submit(rfc8785.dumps(old_style)).json()["code"] == "invalid_signal"  # a 1.x body binds nothing
    mine = adapter.signal_body(task)
    moved = mine.replace(b'"task":%d' % task["id"], b'"task":%d' % sibling["id"])
    signature = base64.b64encode(adapter.signing_key.sign(mine)).decode()
    reused = adapter.client.post(  # the signature of one statement under another task's body
        API + "signals", data=moved, content_type="application/json", HTTP_X_OPM_SIGNATURE=signature
    )
    assert reused.status_code == 400 and reused.json()["code"] == "bad_signature"
    assert set(EvaluationTask.objects.values_list("state", flat=True)) == {"leased"}
    assert not LedgerEntry.objects.filter(kind="signal.accepted").exists()

    accepted = adapter.submit(mine)
    assert accepted.status_code == 201
    payload = LedgerEntry.objects.get(index=accepted.json()["ledger_index"]).payload
    assert payload["body"] == json.loads(mine) and payload["signature"] == adapter.signing_key.sign(mine).hex()
    assert (payload["plan_hash"], payload["problem"], payload["participant"]) == (task["plan_hash"], "corpus", "acme")
    assert adapter.submit(mine).status_code == 200  # the same statement again: the same entry, not a second one
    assert LedgerEntry.objects.filter(kind="signal.accepted").count() == 1


def test_a_lease_belongs_to_one_problem_of_its_deployment(approved_release):
    """A deployment with two corpora of one class: a lease naming a problem gets only that problem's tasks, and a
    statement naming the other problem is refused, so no task is measured on (or charged for) the wrong corpus."""
    adapter = Adapter(approved_release)
    first, second = adapter.register("first"), adapter.register("second")
    (for_first,), (for_second,) = queue(first), queue(second)
    leased = adapter.client.post(API + "tasks/lease", {"limit": 5, "problem": "second"}, format="json").json()
    assert [t["id"] for t in leased["tasks"]] == [for_second.pk] and leased["tasks"][0]["problem"] == "second"
    assert EvaluationTask.objects.get(pk=for_first.pk).state == "queued"
    assert PrivacyCharge.objects.count() == 1  # the other corpus's task was not charged
    unknown = adapter.client.post(API + "tasks/lease", {"problem": "third"}, format="json")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    other = Adapter(approved_release, name="globex")
    other.register("theirs")
    stranger = other.client.post(API + "tasks/lease", {"problem": "first"}, format="json")  # not its problem
    assert stranger.status_code == 404
    task = leased["tasks"][0]
    wrong = adapter.submit(adapter.signal_body(task, problem="first"))
    assert wrong.status_code == 400 and wrong.json()["fields"] == ["problem"]
    assert adapter.submit(adapter.signal_body(task)).status_code == 201
