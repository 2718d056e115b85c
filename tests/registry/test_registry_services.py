"""Contracts, manifests, the release lifecycle, the pass graph and discovery (registry services/selectors)."""

import pytest
from django.utils import timezone

from governance.models import LedgerEntry
from opm_site.errors import ErrorCode, OpmError
from registry import selectors
from registry.contract_defs import ADAPTER_CONTRACT_SCHEMAS, ADAPTER_CONTRACT_VERSION
from registry.models import PassSpec
from registry.services import (
    TRANSITIONS,
    contract_create,
    contract_mark_approved,
    contract_validate_message,
    pass_dependency_add,
    plan_check_edges,
    release_submit,
    release_transition,
)
from tests.governance.fixtures import make_manifest

pytestmark = pytest.mark.django_db


def error(call) -> OpmError:
    with pytest.raises(OpmError) as excinfo:
        call()
    return excinfo.value


def approved(name="opm-adapter", version=ADAPTER_CONTRACT_VERSION):
    return contract_mark_approved(
        contract=contract_create(name=name, version=version, message_schemas=ADAPTER_CONTRACT_SCHEMAS)
    )


def spec(name: str, toolchain: str = "llvm") -> PassSpec:
    return PassSpec.objects.create(
        toolchain=toolchain,
        name=name,
        kind="function",
        description=name,
        toolchain_version="22",
        synced_at=timezone.now(),
    )


def test_contract_versions_are_semver_with_valid_schemas():
    assert error(lambda: contract_create(name="c", version="1.2", message_schemas={"m": {}})).code == (
        ErrorCode.INVALID_VERSION
    )
    bad_schema = {"m": {"type": "no-such-type"}}
    assert error(lambda: contract_create(name="c", version="1.0.0", message_schemas=bad_schema)).code == (
        ErrorCode.INVALID_CONTRACT
    )
    old = contract_create(name="c", version="1.0.0", message_schemas={"m": {"type": "object"}})
    new = contract_create(name="c", version="1.1.0", message_schemas={"m": {"type": "object"}}, supersedes=[old])
    assert list(new.supersedes.all()) == [old]
    assert error(
        lambda: contract_create(name="c", version="0.9.0", message_schemas={"m": {}}, supersedes=[new])
    ).code == (ErrorCode.INVALID_CONTRACT)


def test_messages_validate_only_against_approved_contracts_with_every_error():
    contract = contract_create(name="opm-adapter", version="1.0.0", message_schemas=ADAPTER_CONTRACT_SCHEMAS)
    assert error(lambda: contract_validate_message(contract=contract, message="signal", document={})).code == (
        ErrorCode.CONTRACT_NOT_APPROVED
    )
    contract_mark_approved(contract=contract)
    failure = error(lambda: contract_validate_message(contract=contract, message="signal", document={"value": "x"}))
    assert failure.code == ErrorCode.INVALID_MESSAGE and len(failure.extra["errors"]) == 11  # 10 missing + 1 type
    contract_validate_message(
        contract=contract,
        message="signal",
        document={
            "task": 1,
            "round": 2,
            "problem": "corpus",
            "phase": "selection",
            "plan": "cd" * 32,
            "base": None,
            "statistic": "clipped_gain",
            "value": 0.01,
            "n": 250,
            "mechanism": "gaussian",
            "parameters": {"noise_multiplier": 5, "clip_bound": 0.1, "std": 0.004, "sensitivity": 0.0008},
        },
    )


def test_invalid_manifest_lists_every_violation():
    approved()
    manifest = make_manifest(version="one", artifact_digest="md5:x", toolchain="msvc", extra_field=True)
    failure = error(lambda: release_submit(manifest=manifest, vendor="v", actor="vendor:v"))
    assert failure.code == ErrorCode.INVALID_MANIFEST
    joined = "\n".join(failure.extra["errors"])
    assert len(failure.extra["errors"]) == 4
    for field in ("version", "artifact_digest", "toolchain", "extra_field"):
        assert field in joined


def test_manifest_must_claim_approved_contracts_and_known_passes():
    assert error(lambda: release_submit(manifest=make_manifest(), vendor="v", actor="a")).code == (
        ErrorCode.CONTRACT_NOT_APPROVED
    )
    approved()
    spec("gvn")
    failure = error(lambda: release_submit(manifest=make_manifest(passes=["gvn", "nope"]), vendor="v", actor="a"))
    assert failure.code == ErrorCode.UNKNOWN_PASS and failure.extra["errors"] == ["nope"]


def test_release_lifecycle_follows_the_transition_table_and_is_ledgered():
    approved()
    spec("gvn")
    spec("licm")
    release = release_submit(manifest=make_manifest(), vendor="v", actor="vendor:v")
    assert release.state == "submitted" and set(release.passes.values_list("name", flat=True)) == {"gvn", "licm"}
    assert LedgerEntry.objects.filter(kind="release.submitted", subject=f"release:{release.pk}").exists()
    for target in ("in_review", "approved", "suspended", "approved", "revoked"):
        release_transition(release=release, to_state=target, actor="test")
    assert release.state == "revoked"
    for target in TRANSITIONS:
        failure = error(lambda t=target: release_transition(release=release, to_state=t, actor="test"))
        assert failure.code == ErrorCode.INVALID_TRANSITION
    changes = LedgerEntry.objects.filter(kind="release.state_changed").order_by("index")
    assert [(e.payload["from"], e.payload["to"]) for e in changes] == [
        ("submitted", "in_review"),
        ("in_review", "approved"),
        ("approved", "suspended"),
        ("suspended", "approved"),
        ("approved", "revoked"),
    ]


@pytest.mark.parametrize(("start", "target"), [("submitted", "approved"), ("rejected", "in_review")])
def test_skipping_states_is_an_invalid_transition(start, target):
    approved()
    spec("gvn")
    spec("licm")
    release = release_submit(manifest=make_manifest(), vendor="v", actor="a")
    for state in {"submitted": [], "rejected": ["in_review", "rejected"]}[start]:
        release_transition(release=release, to_state=state, actor="a")
    failure = error(lambda: release_transition(release=release, to_state=target, actor="a"))
    assert failure.code == ErrorCode.INVALID_TRANSITION and target in failure.detail


def test_requires_before_cycles_are_rejected_naming_the_edge():
    a, b, c = spec("a"), spec("b"), spec("c")
    pass_dependency_add(source=a, target=b, kind="requires_before")
    pass_dependency_add(source=b, target=c, kind="requires_before")
    failure = error(lambda: pass_dependency_add(source=c, target=a, kind="requires_before"))
    assert failure.code == ErrorCode.DEPENDENCY_CYCLE
    assert "c requires-before a" in failure.detail and "c -> a -> b -> c" in failure.detail
    pass_dependency_add(source=c, target=a, kind="conflicts_with")  # conflicts are not ordering edges


def test_plans_violating_edges_are_rejected_naming_the_edge():
    a, b, c = spec("a"), spec("b"), spec("c")
    pass_dependency_add(source=a, target=b, kind="requires_before")
    pass_dependency_add(source=a, target=c, kind="conflicts_with")
    plan_check_edges(toolchain="llvm", pass_names=["a", "b", "b"])
    plan_check_edges(toolchain="llvm", pass_names=["c"])
    for names, edge in (
        (["b", "a"], "a requires-before b"),
        (["b"], "a requires-before b"),
        (["a", "c"], "a conflicts-with c"),
    ):
        failure = error(lambda n=names: plan_check_edges(toolchain="llvm", pass_names=n))
        assert failure.code == ErrorCode.PLAN_VIOLATES_EDGE and edge in failure.detail


def test_discovery_with_semver_ranges_toolchain_and_passes():
    v1 = approved(version="1.2.0")
    v13 = approved(version="1.3.5")
    approved(version="2.0.0")
    for name in ("gvn", "licm", "inline"):
        spec(name)
    releases = {}
    for version, contract, passes in (
        ("1.0.0", v1, ["gvn"]),
        ("1.1.0", v13, ["gvn", "licm"]),
        ("2.0.0", None, ["gvn"]),
    ):
        claim = f"opm-adapter@{contract.version}" if contract else "opm-adapter@2.0.0"
        release = release_submit(
            manifest=make_manifest(version=version, contracts=[claim], passes=passes), vendor="v", actor="a"
        )
        release_transition(release=release, to_state="in_review", actor="a")
        release_transition(release=release, to_state="approved", actor="a")
        releases[version] = release

    def found(**kwargs):
        return sorted(r.version for r in selectors.releases_discover(**kwargs))

    assert found(contract="opm-adapter@^1.2") == ["1.0.0", "1.1.0"]
    assert found(contract="opm-adapter@^1.3") == ["1.1.0"]
    assert found(contract="opm-adapter@^2") == ["2.0.0"]
    assert found(contract="opm-adapter@^1.2", passes=["gvn", "licm"]) == ["1.1.0"]
    assert found(contract="opm-adapter@^1.2", toolchain="gcc") == []
    release_transition(release=releases["1.1.0"], to_state="suspended", actor="a")
    assert found(contract="opm-adapter@^1.2") == ["1.0.0"]  # suspended releases drop out at once
    assert error(lambda: found(contract="opm-adapter@^^1")).code == ErrorCode.INVALID_VERSION


@pytest.mark.parametrize(
    ("start", "target"), [("submitted", "approved"), ("revoked", "approved"), ("rejected", "in_review")]
)
def test_the_database_refuses_transitions_off_the_table(start, target):
    from django.db import DatabaseError, connection, transaction

    approved()
    spec("gvn")
    spec("licm")
    release = release_submit(manifest=make_manifest(), vendor="v", actor="a")
    with connection.cursor() as cursor:  # walk to `start` along allowed edges, as a superuser's raw SQL would
        path = {"submitted": [], "revoked": ["in_review", "approved", "revoked"], "rejected": ["in_review", "rejected"]}
        for state in path[start]:
            cursor.execute("UPDATE registry_adapterrelease SET state = %s WHERE id = %s", [state, release.pk])
    with pytest.raises(DatabaseError, match="invalid release transition"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE registry_adapterrelease SET state = %s WHERE id = %s", [target, release.pk])
