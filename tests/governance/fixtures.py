"""Board, contract and release fixtures shared by the governance, registry and end-to-end tests."""

import pytest
from django.utils import timezone

from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import board_member_ensure, operator_ensure, policy_bootstrap
from registry.contract_defs import ADAPTER_CONTRACT_NAME, ADAPTER_CONTRACT_SCHEMAS, ADAPTER_CONTRACT_VERSION
from registry.models import PassSpec
from registry.services import conformance_record, contract_create, contract_mark_approved, release_submit


@pytest.fixture
def board(db):
    """Four board members and an active governance policy (quorum 3, 2/3 yes, 7 days)."""
    members = [board_member_ensure(username=name, password="pw-" + name)[0] for name in ("ada", "bob", "cy", "di")]
    operator, _ = operator_ensure(username="operator", password="pw-op")
    policy_bootstrap(document=DEFAULT_DOCUMENTS["governance"], operator=operator)
    return members


@pytest.fixture
def adapter_contract(db):
    contract = contract_create(
        name=ADAPTER_CONTRACT_NAME, version=ADAPTER_CONTRACT_VERSION, message_schemas=ADAPTER_CONTRACT_SCHEMAS
    )
    return contract_mark_approved(contract=contract)


def make_manifest(**overrides):
    manifest = {
        "name": "llvm-size",
        "version": "1.0.0",
        "toolchain": "llvm",
        "toolchain_version": "22.1.8",
        "artifact_digest": "sha256:" + "0" * 64,
        "contracts": [f"{ADAPTER_CONTRACT_NAME}@{ADAPTER_CONTRACT_VERSION}"],
        "passes": ["gvn", "licm"],
    }
    return manifest | overrides


@pytest.fixture
def llvm_passes(db):
    now = timezone.now()
    for name in ("gvn", "licm", "inline", "sroa"):
        PassSpec.objects.create(
            toolchain="llvm", name=name, kind="function", description=name, toolchain_version="22.1.8", synced_at=now
        )


@pytest.fixture
def release(adapter_contract, llvm_passes):
    return release_submit(manifest=make_manifest(), vendor="Example Vendor", actor="vendor:example")


def pass_conformance(release, contract, verdict="passed"):
    now = timezone.now()
    report = {
        "verdict": verdict,
        "harness_version": "test",
        "checks": [{"name": "schema", "passed": verdict == "passed"}],
    }
    return conformance_record(
        release=release, contract=contract, report=report, started_at=now, finished_at=now, actor="operator"
    )
