"""The public registry endpoints: approved contracts, discovery with semver ranges, pass catalogues."""

import pytest
from django.utils import timezone

from adapters.contract import ADAPTER_CONTRACT
from registry.models import PassSpec
from registry.services import release_transition

pytestmark = pytest.mark.django_db


def test_contracts_and_discovery(client, release, adapter_contract):
    contracts = client.get("/api/v1/registry/contracts").json()
    assert [c["name"] + "@" + c["version"] for c in contracts["results"]] == [ADAPTER_CONTRACT]
    assert client.get("/api/v1/registry/discovery", {"contract": "opm-adapter@^2.0"}).json()["count"] == 0
    release_transition(release=release, to_state="in_review", actor="t")
    release_transition(release=release, to_state="approved", actor="t")
    found = client.get("/api/v1/registry/discovery", {"contract": "opm-adapter@^2.0", "passes": "gvn,licm"}).json()
    assert [r["name"] for r in found["results"]] == ["llvm-size"] and found["results"][0]["contracts"] == [
        ADAPTER_CONTRACT
    ]
    assert client.get("/api/v1/registry/discovery", {"contract": "opm-adapter@^1"}).json()["count"] == 0
    assert client.get("/api/v1/registry/discovery", {"contract": "opm-adapter@^3"}).json()["count"] == 0
    bad = client.get("/api/v1/registry/discovery", {"contract": "opm-adapter@^^x"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_version"
    assert client.get("/api/v1/registry/discovery").json()["code"] == "validation_failed"


def test_pass_catalogue_is_paginated(client, db):
    for i in range(5):
        PassSpec.objects.create(
            toolchain="gcc",
            name=f"f{i}",
            kind="flag",
            description="d",
            toolchain_version="12",
            synced_at=timezone.now(),
        )
    page = client.get("/api/v1/registry/passes/gcc", {"limit": 2}).json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]
    assert client.get("/api/v1/registry/passes/msvc").status_code == 404
