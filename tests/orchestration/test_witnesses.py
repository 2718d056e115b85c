"""Witnesses: deployments cosign checkpoints (C2SP tlog-cosignature v1), stored append-only, served with the
checkpoint, counted per participant; promotions are final once enough participants cosigned a checkpoint
covering them, and only final promotions are served to participants when the policy asks for witnesses."""

import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from adapters.ledger.cosignature import Cosignature, WitnessVerifier, cosign, verify_cosigned
from adapters.ledger.note import Verifier, split_note
from governance.log_key import log_signer
from governance.models import Checkpoint, LedgerEntry
from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import ledger_append, policy_activate, policy_create
from governance.services.ledger import checkpoint_issue
from opm_site.errors import ErrorCode, OpmError
from orchestration import selectors
from orchestration.models import CheckpointCosignature, DeploymentStatus
from orchestration.services import (
    checkpoint_cosign,
    deployment_key_rotate,
    deployment_revoke,
    participant_set_active,
)
from registry.services import release_transition
from tests.concurrency import race
from tests.constraints import assert_db_rejects

from .factories import AdapterDeploymentFactory, ParticipantFactory, PlanDeltaFactory, PortfolioDeltaFactory
from .witnessing import ORIGIN, Witness, activate_orchestration, promoted

pytestmark = pytest.mark.django_db
API = "/api/v1/ledger/"


def grow(entries: int = 1) -> Checkpoint:
    with transaction.atomic():
        for i in range(entries):
            ledger_append(kind="test.appended", actor="test", subject=f"s:{i}", payload={"i": i})
    return checkpoint_issue()


@pytest.fixture
def checkpoint(settings) -> Checkpoint:
    settings.OPM_LOG_ORIGIN = ORIGIN
    return grow(3)


@pytest.fixture
def approved_release(release, adapter_contract):
    policy = policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"], created_by=None)
    policy_activate(policy=policy, proposal=None, actor="test")
    release_transition(release=release, to_state="in_review", actor="test")
    return release_transition(release=release, to_state="approved", actor="test")


def refused(code: ErrorCode, status: int, make) -> str:
    with pytest.raises(OpmError) as excinfo:
        make()
    assert (excinfo.value.code, excinfo.value.status) == (code, status), excinfo.value.detail
    return excinfo.value.detail


# --- the service ---------------------------------------------------------------------------------------------------


def test_a_cosignature_is_verified_and_stored_once_and_a_resubmission_is_idempotent(checkpoint):
    witness = Witness()
    line = witness.line(checkpoint)
    row, created = checkpoint_cosign(deployment=witness.deployment, size=checkpoint.size, line=line)
    assert created and row.checkpoint == checkpoint and row.witness_name == witness.name
    assert bytes(row.public_key) == bytes(witness.deployment.public_key)
    assert Cosignature(row.witness_name, bytes(row.key_id), row.timestamp, bytes(row.signature)).line == line
    again, created = checkpoint_cosign(deployment=witness.deployment, size=checkpoint.size, line=line)
    assert not created and again.pk == row.pk
    later = witness.line(checkpoint, timestamp=row.timestamp + 1)
    detail = refused(
        ErrorCode.COSIGNATURE_CONFLICT,
        409,
        lambda: checkpoint_cosign(deployment=witness.deployment, size=checkpoint.size, line=later),
    )
    assert "already cosigned" in detail and CheckpointCosignature.objects.count() == 1


def test_bad_cosignatures_are_refused_with_their_reason(checkpoint):
    witness, other = Witness(), Witness()
    later = grow(1)
    cases = {
        "not a cosignature line": "— nobody AAAA",
        f"not {witness.name!r}": other.line(checkpoint),  # another deployment's name
        "key ID": witness.line(checkpoint, key=Ed25519PrivateKey.generate()),  # not the deployment's key
        "does not verify": witness.line(checkpoint, body=split_note(later.note.encode())[0]),  # another body
        "in the future": witness.line(checkpoint, timestamp=int(time.time()) + 3600),
        "before checkpoint": witness.line(checkpoint, timestamp=int(time.time()) - 3600),
    }
    for reason, line in cases.items():
        detail = refused(
            ErrorCode.INVALID_COSIGNATURE,
            400,
            lambda line=line: checkpoint_cosign(deployment=witness.deployment, size=checkpoint.size, line=line),
        )
        assert reason in detail, (reason, detail)
    # A cosignature is over one body and one time: moving it to another checkpoint or time breaks it.
    good = Cosignature.from_line(witness.line(checkpoint))
    moved = Cosignature(good.name, good.key_id, good.timestamp - 1, good.signature).line
    assert "does not verify" in refused(
        ErrorCode.INVALID_COSIGNATURE, 400, lambda: checkpoint_cosign(deployment=witness.deployment, size=3, line=moved)
    )
    assert "does not verify" in refused(
        ErrorCode.INVALID_COSIGNATURE,
        400,
        lambda: checkpoint_cosign(deployment=witness.deployment, size=later.size, line=good.line),
    )
    refused(
        ErrorCode.UNKNOWN_CHECKPOINT,
        404,
        lambda: checkpoint_cosign(deployment=witness.deployment, size=99, line=witness.line(checkpoint)),
    )
    assert not CheckpointCosignature.objects.exists()


def test_revoked_deployments_and_inactive_participants_cannot_cosign(checkpoint):
    revoked, inactive = Witness(), Witness()
    deployment_revoke(deployment=revoked.deployment, actor="test")
    participant_set_active(participant=inactive.deployment.participant, active=False, actor="test")
    refused(ErrorCode.DEPLOYMENT_REVOKED, 403, lambda: revoked.cosign(checkpoint))
    refused(ErrorCode.PERMISSION_DENIED, 403, lambda: inactive.cosign(checkpoint))


def test_after_a_key_rotation_only_the_new_key_cosigns_and_both_keys_stay_published(checkpoint, approved_release):
    witness = Witness(release=approved_release, client=True)
    old_key = witness.key
    witness.cosign(checkpoint)
    new_key = Ed25519PrivateKey.generate()
    new_public = new_key.public_key().public_bytes_raw()
    from adapters.contract import rotation_statement

    statement = rotation_statement(
        deployment=witness.deployment.pk,
        old_public_key=old_key.public_key().public_bytes_raw(),
        new_public_key=new_public,
    )
    witness.deployment, _ = deployment_key_rotate(
        deployment=witness.deployment, public_key=new_public, old_key_signature=old_key.sign(statement), actor="t"
    )
    later = grow(1)
    assert "key ID" in refused(ErrorCode.INVALID_COSIGNATURE, 400, lambda: witness.cosign(later, key=old_key))
    witness.key = new_key
    witness.cosign(later)
    keys = [k for k in selectors.witness_keys() if k.deployment == witness.deployment.pk]
    assert {k.verifier.public_key for k in keys} == {old_key.public_key().public_bytes_raw(), new_public}
    assert [k.current for k in keys if k.verifier.public_key == new_public] == [True]
    verifiers = [k.verifier for k in keys]
    for cp in (checkpoint, later):  # each served checkpoint's cosignature checks out with the published keys
        served = APIClient().get(API + "checkpoint/cosigned", {"size": cp.size}).content
        assert len(verify_cosigned(served, log_signer().verifier, verifiers)[1]) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_store_one_cosignature_per_deployment(settings):
    settings.OPM_LOG_ORIGIN = ORIGIN
    checkpoint = grow(2)
    witness = Witness()
    same = witness.line(checkpoint)
    outcomes = race(
        lambda line: checkpoint_cosign(deployment=witness.deployment, size=checkpoint.size, line=line)[1], [same] * 4
    )
    assert sorted(result for _, result in outcomes) == [False, False, False, True]
    now = int(time.time())
    other = Witness()
    lines = [other.line(checkpoint, timestamp=now - i) for i in range(4)]
    outcomes = race(
        lambda line: checkpoint_cosign(deployment=other.deployment, size=checkpoint.size, line=line)[1], lines
    )
    assert sorted(map(str, (result for _, result in outcomes))) == ["True", *["cosignature_conflict"] * 3]
    assert CheckpointCosignature.objects.filter(checkpoint=checkpoint).count() == 2


# --- the database -------------------------------------------------------------------------------------------------


def test_the_database_rejects_invalid_cosignature_rows(checkpoint):
    witness = Witness()
    row, _ = witness.cosign(checkpoint)

    def make(**changes):
        values = {
            "checkpoint": checkpoint,
            "deployment": Witness().deployment,
            "witness_name": "w",
            "public_key": b"\x01" * 32,
            "key_id": b"\x02" * 4,
            "timestamp": 1,
            "signature": b"\x03" * 64,
            "received_at": timezone.now(),
        }
        return lambda: CheckpointCosignature.objects.create(**(values | changes))

    make()()  # the baseline is accepted
    assert_db_rejects(make(deployment=witness.deployment), "cosignature_one_per_deployment")
    assert_db_rejects(make(witness_name=""), "cosignature_witness_named")
    assert_db_rejects(make(public_key=b"\x01" * 31), "cosignature_pubkey_ed25519")
    assert_db_rejects(make(key_id=b"\x02" * 5), "cosignature_key_id_4_bytes")
    assert_db_rejects(make(timestamp=-1), "cosignature_timestamp_nonnegative")
    assert_db_rejects(make(signature=b"\x03" * 63), "cosignature_signature_ed25519")


@pytest.mark.parametrize("statement", ["UPDATE {t} SET timestamp = 0", "DELETE FROM {t}", "TRUNCATE {t}"])
def test_cosignatures_are_append_only_in_the_database(checkpoint, statement):
    if statement.startswith("TRUNCATE") and connection.vendor == "sqlite":
        pytest.skip("SQLite has no TRUNCATE; its bare DELETE is covered")
    Witness().cosign(checkpoint)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # the row's deferred foreign-key checks would refuse TRUNCATE first
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement.format(t=CheckpointCosignature._meta.db_table))
    assert CheckpointCosignature.objects.count() == 1


# --- the API ------------------------------------------------------------------------------------------------------


def test_a_deployment_learns_its_witness_name_and_cosigns_over_http(checkpoint, approved_release):
    witness = Witness(release=approved_release, client=True)
    identity = witness.client.get(API + "witness").json()
    verifier = WitnessVerifier.from_vkey(identity["vkey"])
    assert identity["name"] == witness.name == verifier.name and identity["cosigned"] is None
    assert verifier.public_key == witness.key.public_key().public_bytes_raw()
    assert identity["participant"] == witness.deployment.participant.name
    line = witness.line(checkpoint)
    body = {"size": checkpoint.size, "cosignature": line}
    created = witness.client.post(API + "cosignatures", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json() == {
        "size": checkpoint.size,
        "witness": witness.name,
        "key_id": verifier.key_id.hex(),
        "timestamp": Cosignature.from_line(line).timestamp,
    }
    assert witness.client.post(API + "cosignatures", body, format="json").status_code == 200
    assert witness.client.get(API + "witness").json()["cosigned"] == checkpoint.size
    conflict = witness.client.post(
        API + "cosignatures", {**body, "cosignature": witness.line(checkpoint, timestamp=1)}, format="json"
    )
    assert conflict.status_code == 400 and conflict.json()["code"] == "invalid_cosignature"  # before the checkpoint
    bad = witness.client.post(API + "cosignatures", {"size": checkpoint.size, "cosignature": "— x AAAA"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cosignature"
    missing = witness.client.post(API + "cosignatures", {**body, "size": 1234}, format="json")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_checkpoint"
    assert APIClient().post(API + "cosignatures", body, format="json").status_code == 401


def test_checkpoints_are_served_with_their_cosignatures_appended_and_the_plain_one_is_untouched(checkpoint):
    client = APIClient()
    witnesses = [Witness(), Witness(), Witness()]
    for witness in witnesses[:2]:
        witness.cosign(checkpoint)
    plain = client.get(API + "checkpoint")
    assert plain.content == checkpoint.note.encode()  # byte-exact, no cosignature lines (Go's verifier reads it)
    served = client.get(API + "checkpoint/cosigned")
    assert served.status_code == 200 and served["Content-Type"].startswith("text/plain")
    rows = CheckpointCosignature.objects.order_by("id")
    lines = [Cosignature(r.witness_name, bytes(r.key_id), r.timestamp, bytes(r.signature)).line for r in rows]
    assert served.content == checkpoint.note.encode() + "".join(lines).encode()
    assert client.get(API + "checkpoint/cosigned", {"size": checkpoint.size}).content == served.content
    # Anyone can check them offline with the published keys.
    published = client.get(API + "witnesses").json()
    assert published["count"] == 3
    verifiers = [WitnessVerifier.from_vkey(item["vkey"]) for item in published["results"]]
    log = Verifier.from_vkey(client.get(API + "key").content.decode().strip())
    text, verified = verify_cosigned(served.content, log, verifiers)
    assert text == split_note(checkpoint.note.encode())[0]
    assert sorted(c.name for c in verified) == sorted(w.name for w in witnesses[:2])
    unknown = client.get(API + "checkpoint/cosigned", {"size": 77})
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_checkpoint"
    assert client.get(API + "checkpoint/cosigned", {"size": "x"}).json()["code"] == "invalid_range"


def test_the_cosigned_checkpoint_of_an_empty_log_is_404(settings):
    response = APIClient().get(API + "checkpoint/cosigned")
    assert response.status_code == 404 and response.json()["code"] == "ledger_empty"


# --- selectors: witnessed by k of n, finality -------------------------------------------------------------------


def test_witnesses_count_distinct_participants_of_those_with_an_active_deployment(
    checkpoint, django_assert_num_queries
):
    acme = ParticipantFactory(name="acme")
    first, second = Witness(acme), Witness(acme)  # two deployments of one participant are one witness
    globex = Witness(ParticipantFactory(name="globex"))
    idle = Witness(ParticipantFactory(name="initech"))
    revoked = AdapterDeploymentFactory(status=DeploymentStatus.REVOKED)  # not counted in n
    first.cosign(checkpoint)
    second.cosign(checkpoint)
    later = grow(1)
    globex.cosign(later)
    with django_assert_num_queries(2):
        counts = selectors.checkpoints_witnesses(checkpoints=[checkpoint, later])
    assert counts[checkpoint.pk] == selectors.Witnessing(1, 3, ("acme",))
    assert counts[later.pk] == selectors.Witnessing(1, 3, ("globex",))
    idle.cosign(later)
    many = [grow(1) for _ in range(5)]
    for cp in many:
        globex.cosign(cp)
    with django_assert_num_queries(2):  # as many queries for seven checkpoints as for two
        counts = selectors.checkpoints_witnesses(checkpoints=[checkpoint, later, *many])
    assert counts[later.pk].names == ("globex", "initech") and revoked.participant.name not in counts[later.pk].names
    assert selectors.checkpoint_witnesses(checkpoint=checkpoint).witnesses == 1


def test_a_promotion_is_final_once_enough_participants_cosigned_a_checkpoint_covering_it(
    checkpoint, django_assert_num_queries
):
    activate_orchestration(2)
    a, b = Witness(), Witness()
    a.cosign(checkpoint)
    b.cosign(checkpoint)  # two witnesses, but on a checkpoint from before the promotion
    with transaction.atomic():
        plan = promoted(PlanDeltaFactory, 1)
        portfolio = promoted(PortfolioDeltaFactory, 1)
    assert selectors.promotion_finality(promotion=plan) == selectors.Finality(False, 2, 0, None)
    covering = checkpoint_issue()
    a.cosign(covering)
    assert selectors.promotion_finality(promotion=plan) == selectors.Finality(False, 2, 1, None)
    b.cosign(covering)
    assert selectors.promotion_finality(promotion=plan) == selectors.Finality(True, 2, 2, covering.size)
    with transaction.atomic():
        later = [promoted(PlanDeltaFactory, sequence) for sequence in range(2, 6)]
    with django_assert_num_queries(2):
        finality = selectors.promotions_finality(promotions=[plan, portfolio, *later])
    assert [f.final for f in finality] == [True, True, False, False, False, False]
    with django_assert_num_queries(1):
        assert [f.final for f in selectors.promotions_finality(promotions=later, required=0)] == [True] * 4


def test_with_two_witnesses_required_delta_sync_withholds_a_promotion_until_two_participants_cosign(
    checkpoint, django_assert_max_num_queries
):
    client = APIClient()
    query = {"problem_class": "llvm/text-bytes", "since": 0}
    with transaction.atomic():
        delta = promoted(PlanDeltaFactory, 1)
    assert client.get("/api/v1/plans/deltas", query).json()["version"] == 1  # no requirement: served at once
    activate_orchestration(2)
    withheld = client.get("/api/v1/plans/deltas", query).json()
    assert (withheld["version"], withheld["pending"], withheld["deltas"]) == (0, 1, [])
    covering = checkpoint_issue()
    acme = ParticipantFactory()
    Witness(acme).cosign(covering)
    Witness(acme).cosign(covering)  # one participant's second deployment is not a second witness
    assert client.get("/api/v1/plans/deltas", query).json()["pending"] == 1
    Witness().cosign(covering)
    with django_assert_max_num_queries(6):
        served = client.get("/api/v1/plans/deltas", query).json()
    assert (served["version"], served["pending"]) == (1, 0)
    assert [d["child"] for d in served["deltas"]] == [delta.child.content_hash]
    # A holder of a version that is not final yet is told so, not refused.
    with transaction.atomic():
        promoted(PlanDeltaFactory, 2)
    ahead = client.get("/api/v1/plans/deltas", {**query, "since": 2}).json()
    assert (ahead["version"], ahead["pending"], ahead["deltas"]) == (2, 0, [])
    behind = client.get("/api/v1/plans/deltas", {**query, "since": 1}).json()
    assert (behind["version"], behind["pending"], behind["deltas"]) == (1, 1, [])


def test_a_real_round_promotion_waits_for_two_participants_cosignatures(tmp_path, monkeypatch, adapter_contract):
    """End to end with real signals: the orchestrator promotes (and may build on it), participants are served
    the promotion only once two of them cosigned a checkpoint covering its `plan.promoted` entry."""
    from orchestration import orchestrator

    from .federation import ORCHESTRATION, PROBLEM_CLASS, Federation, activate

    federation = Federation(tmp_path)
    monkeypatch.setattr(orchestrator, "_wait", federation.wait)
    activate("orchestration", {**ORCHESTRATION, "min_witnesses": 2})
    outcome = orchestrator.run_round(federation.settings())
    assert outcome.promoted_version == 1, outcome.round.stop_reason
    delta = outcome.round.deltas.get()
    assert delta.ledger_index is not None
    assert LedgerEntry.objects.get(index=delta.ledger_index).kind == "plan.promoted"
    client = APIClient()
    query = {"problem_class": PROBLEM_CLASS, "since": 0}
    assert client.get("/api/v1/plans/deltas", query).json()["pending"] == 1
    covering = checkpoint_issue()
    members = federation.members
    for member in members[:2]:
        body = split_note(covering.note.encode())[0]
        name = selectors.deployment_witness_name(deployment=member.deployment)
        line = cosign(body, name=name, private_key=member.key, timestamp=int(time.time())).line
        checkpoint_cosign(deployment=member.deployment, size=covering.size, line=line)
        if member is members[0]:
            assert client.get("/api/v1/plans/deltas", query).json()["version"] == 0
    served = client.get("/api/v1/plans/deltas", query).json()
    assert (served["version"], served["pending"], served["deltas"][0]["child"]) == (1, 0, delta.child.content_hash)
