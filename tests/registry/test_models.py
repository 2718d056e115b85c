import pytest

from registry.models import ContractSupersession
from tests.constraints import assert_db_rejects

from .factories import (
    AdapterReleaseFactory,
    ConformanceRunFactory,
    ContractFactory,
    PassDependencyFactory,
    PassSpecFactory,
)

pytestmark = pytest.mark.django_db


def test_contract_name_version_unique():
    ContractFactory(name="opm-adapter", version="1.0.0")
    assert_db_rejects(lambda: ContractFactory(name="opm-adapter", version="1.0.0"))


def test_contract_status_must_be_known():
    assert_db_rejects(lambda: ContractFactory(status="bogus"), "contract_status_valid")


def test_approved_contract_needs_approval_time():
    assert_db_rejects(lambda: ContractFactory(status="approved", approved_at=None), "contract_approved_has_time")


def test_contract_cannot_supersede_itself():
    contract = ContractFactory()
    assert_db_rejects(
        lambda: ContractSupersession.objects.create(newer=contract, older=contract), "supersession_not_self"
    )


def test_pass_unique_per_toolchain_but_same_name_allowed_elsewhere():
    PassSpecFactory(toolchain="llvm", name="inline")
    PassSpecFactory(toolchain="gcc", name="inline")
    assert_db_rejects(lambda: PassSpecFactory(toolchain="llvm", name="inline"))


def test_pass_needs_description_and_known_kind():
    assert_db_rejects(lambda: PassSpecFactory(description=""), "passspec_has_description")
    assert_db_rejects(lambda: PassSpecFactory(kind="analysis"), "passspec_kind_valid")
    assert_db_rejects(lambda: PassSpecFactory(toolchain="msvc"), "passspec_toolchain_valid")


def test_pass_dependency_rejects_self_edge_and_duplicates():
    spec = PassSpecFactory()
    assert_db_rejects(lambda: PassDependencyFactory(source=spec, target=spec), "passdependency_not_self")
    other = PassSpecFactory()
    PassDependencyFactory(source=spec, target=other)
    assert_db_rejects(lambda: PassDependencyFactory(source=spec, target=other))


def test_release_digest_must_be_sha256():
    assert_db_rejects(lambda: AdapterReleaseFactory(artifact_digest="md5:abc"), "release_digest_sha256")
    assert_db_rejects(lambda: AdapterReleaseFactory(artifact_digest="sha256:abc"), "release_digest_sha256")


def test_release_state_and_version_unique():
    AdapterReleaseFactory(name="llvm-size", version="1.0.0")
    assert_db_rejects(lambda: AdapterReleaseFactory(name="llvm-size", version="1.0.0"))
    assert_db_rejects(lambda: AdapterReleaseFactory(state="published"), "release_state_valid")


def test_conformance_run_cannot_end_before_it_starts():
    run = ConformanceRunFactory.build()
    assert_db_rejects(
        lambda: ConformanceRunFactory(started_at=run.started_at, finished_at=run.started_at.replace(year=2000)),
        "conformance_time_order",
    )
    assert_db_rejects(lambda: ConformanceRunFactory(verdict="maybe"), "conformance_verdict_valid")
