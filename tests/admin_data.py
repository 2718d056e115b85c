"""A populated site for the admin's page tests: real rounds from an in-process federation, an LLVM release with a
250-pass manifest under review, a proposed policy version, a membership proposal; both together leave one row
at least of every model registered in the admin, with long values where the real ones are long (hashes,
subjects)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone

from adapters.toolchains.llvm import ALLOWED_PASSES
from governance.models import Policy, Proposal
from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import checkpoint_issue, policy_create, proposal_open, proposal_vote
from orchestration import orchestrator
from orchestration.models import SearchRound
from registry.contract_defs import ADAPTER_CONTRACT_NAME
from registry.models import AdapterRelease, ConformanceRun, PassSpec
from registry.services import conformance_record, contract_create, pass_dependency_add, release_submit, vendor_key_issue
from tests.governance.fixtures import make_manifest
from tests.orchestration.factories import AttestationFactory
from tests.orchestration.federation import Federation
from tests.orchestration.witnessing import Witness

HOSTILE = '<script>alert("opm")</script><img src=x onerror=alert(1)>&amp;'
"""A string that must come out escaped wherever a page shows it."""


def conformance_report(verdict: str = "passed", *, detail: str = "") -> dict:
    """A report shaped like the harness's own (adapters.conformance), six checks with their details."""
    checks = [
        ("manifest-schema", "valid (250 passes, toolchain version 22.1.8)"),
        ("signal-schema", "valid (one program, mechanism gaussian)"),
        ("determinism", "plan 370289e388b1 on crc32.c: identical objects (1,386 bytes, sha256 87e5facb47af9537)"),
        ("time-limit", "timeout after 0.00s under a 1 ms limit"),
        ("crash-reporting", "crash: signal 6 (SIGABRT) (llvm: the probe pipeline aborts in opt as expected)"),
        ("fault-injection", detail or "invalid object: rejected; forged size: rejected; wrong output: rejected"),
    ]
    return {
        "contract": f"{ADAPTER_CONTRACT_NAME}@2.0.0",
        "toolchain": "llvm",
        "harness_version": "1.0.0",
        "verdict": verdict,
        "sandbox": "bubblewrap: no network, read-only toolchain, private work directory, rlimits (bubblewrap 0.8.0)",
        "checks": [{"name": name, "passed": verdict == "passed", "detail": text} for name, text in checks],
    }


def pass_names(count: int) -> list[str]:
    """The curated LLVM passes, then as many variants of their names as it takes (`gvn-2`, ...): `count` names
    as long as real ones."""
    curated = sorted(ALLOWED_PASSES)
    names = curated[:count]
    names += [f"{curated[i % len(curated)]}-{2 + i // len(curated)}" for i in range(count - len(names))]
    return names


def llvm_release(
    adapter_contract, *, passes: int = 250, name: str = "opm-adapter-llvm", description: str = "", verdict="passed"
) -> tuple[AdapterRelease, ConformanceRun]:
    """A submitted LLVM release offering `passes` passes, with a conformance run against the adapter contract."""
    now = timezone.now()
    names = pass_names(passes)
    for pass_name in names:
        PassSpec.objects.get_or_create(
            toolchain="llvm",
            name=pass_name,
            defaults={"kind": "function", "description": pass_name, "toolchain_version": "22.1.8", "synced_at": now},
        )
    extra = {"description": description} if description else {}
    release = release_submit(
        manifest=make_manifest(name=name, passes=names, **extra), vendor="Example Vendor", actor="vendor:example"
    )
    run = conformance_record(
        release=release,
        contract=adapter_contract,
        report=conformance_report(verdict),
        started_at=now - dt.timedelta(seconds=3),
        finished_at=now,
        actor="operator",
    )
    return release, run


@dataclass
class Rounds:
    plan_round: SearchRound
    portfolio_round: SearchRound


def federation_rounds(tmp_path: Path, monkeypatch) -> Rounds:
    """A plan round and a portfolio round of four participants with real, signed, noised signals (this also
    activates a privacy and an orchestration policy and approves a synthetic release)."""
    federation = Federation(tmp_path)
    monkeypatch.setattr(orchestrator, "_wait", federation.wait)
    plan_round = orchestrator.run_round(federation.settings(seed=3)).round
    portfolio_round = orchestrator.run_portfolio_round(federation.settings(seed=4)).round
    return Rounds(plan_round=plan_round, portfolio_round=portfolio_round)


@dataclass
class BoardItems:
    release: AdapterRelease
    release_proposal: Proposal
    policy: Policy
    policy_proposal: Proposal
    membership_proposal: Proposal


def board_items(board, adapter_contract, django_user_model) -> BoardItems:
    """What the board decides on: a 250-pass release (one vote cast), a privacy policy version, a membership
    and a contract version, each with its open proposal; a pass dependency, a vendor key, an attestation, a
    checkpoint with a witness's cosignature."""
    ada, bob, cy, di = board
    release, _ = llvm_release(adapter_contract, description="Size-tuned LLVM 22 passes for embedded C code.")
    release_proposal = proposal_open(
        kind="approve_release", proposer=ada, release=release, rationale="Conformance passed; 250 passes offered."
    )
    proposal_vote(proposal=release_proposal, voter=cy, choice="yes", comment="manifest and report reviewed")
    if Policy.objects.filter(kind="privacy").exists():
        document = {**DEFAULT_DOCUMENTS["privacy"], "epsilon": 2.0, "clip_bound": 0.02}
    else:
        document = DEFAULT_DOCUMENTS["privacy"]
    policy = policy_create(kind="privacy", document=document, created_by=ada)
    policy_proposal = proposal_open(kind="activate_policy", proposer=ada, policy=policy, rationale="More rounds.")
    eve = django_user_model.objects.create_user("eve", password="pw-eve", email="eve@example.org")
    membership = proposal_open(kind="add_board_member", proposer=ada, member=eve, rationale="A compiler expert.")
    newer = contract_create(
        name=adapter_contract.name,
        version="2.1.0",
        message_schemas=adapter_contract.message_schemas,
        description="Adds an optional field to the signal.",
        supersedes=[adapter_contract],
    )
    proposal_open(kind="approve_contract", proposer=bob, contract=newer)
    gvn, licm = PassSpec.objects.get(toolchain="llvm", name="gvn"), PassSpec.objects.get(toolchain="llvm", name="licm")
    pass_dependency_add(source=gvn, target=licm, kind="requires_before", rationale="licm hoists what gvn numbers.")
    vendor_key_issue(vendor="Example Vendor")
    AttestationFactory(origin="openpassmarket.example/log", code_version="openpassmarket 0.1.0+g896b0bc")
    Witness().cosign(checkpoint_issue())
    return BoardItems(
        release=release,
        release_proposal=release_proposal,
        policy=policy,
        policy_proposal=policy_proposal,
        membership_proposal=membership,
    )
