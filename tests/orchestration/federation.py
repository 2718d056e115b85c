"""An in-process federation for orchestrator tests: real deployments, real synthetic measurements, real OpenDP
noise and Ed25519-signed signals through the same services the API calls; only HTTP is left out."""

from __future__ import annotations

from pathlib import Path

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.utils import timezone

from adapters import privacy
from adapters.drivers.synthetic import SUFFIX, SyntheticDriver
from adapters.plan import Plan as PlanFile
from adapters.portfolio import Portfolio, best_size
from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import policy_activate, policy_create
from orchestration import orchestrator
from orchestration.federation import write_synthetic_variants
from orchestration.models import Participant
from orchestration.services import deployment_enrol, local_problem_register, signal_submit, tasks_lease
from registry.models import PassSpec
from registry.services import release_submit, release_transition
from tests.governance.fixtures import make_manifest

PROBLEM_CLASS = "synthetic/text-bytes"
PRIVACY = {**DEFAULT_DOCUMENTS["privacy"], "min_noise_multiplier": 20.0}
ORCHESTRATION = {**DEFAULT_DOCUMENTS["orchestration"], "public_budget": 30, "shortlist_size": 3}


def activate(kind: str, document: dict) -> None:
    policy = policy_create(kind=kind, document=document, created_by=None)
    policy_activate(policy=policy, proposal=None, actor="test")


def synthetic_release(name: str = "synthetic-dummy", contracts: list[str] | None = None):
    """An approved synthetic adapter release (implementing `contracts`, default: the current contract)."""
    driver = SyntheticDriver()
    now = timezone.now()
    names = [entry["name"] for entry in driver.catalogue()["passes"]]
    for pass_name in names:
        PassSpec.objects.get_or_create(
            toolchain="synthetic",
            name=pass_name,
            defaults={"kind": "synthetic", "description": pass_name, "toolchain_version": "1", "synced_at": now},
        )
    release = release_submit(
        manifest=make_manifest(
            name=name,
            toolchain="synthetic",
            toolchain_version="1",
            passes=names,
            **({"contracts": contracts} if contracts else {}),
        ),
        vendor="Example Vendor",
        actor="vendor:example",
    )
    release_transition(release=release, to_state="in_review", actor="t")
    return release_transition(release=release, to_state="approved", actor="t")


def write_variants(directory: Path, first: int, count: int) -> list[Path]:
    """Disjoint synthetic corpora, written the way the demo writes its participants' corpora."""
    write_synthetic_variants(directory, first, count)
    return sorted(directory.glob(f"*{SUFFIX}"))


def signal_statement(task, released: privacy.Release) -> dict:
    """The full statement an adapter signs for a leased task (contract opm-adapter 2.0)."""
    return released.to_signal_body(
        task=task.pk,
        round=task.round_id,
        problem=task.local_problem.handle,
        phase=task.phase,
        plan=task.plan.content_hash,
        base=task.base and task.base.content_hash,
    )


class Member:
    def __init__(self, name: str, release, corpus: list[Path]) -> None:
        self.key = Ed25519PrivateKey.generate()
        public = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.participant = Participant.objects.create(name=name, display_name=name)
        self.deployment, _ = deployment_enrol(
            participant=self.participant, release=release, public_key=public, label="main"
        )
        self.corpus = corpus
        self.driver = SyntheticDriver()
        local_problem_register(
            deployment=self.deployment,
            handle=f"{name}-private",
            problem_class=PROBLEM_CLASS,
            corpus_size=len(corpus),
            commitment="ab" * 32,
        )

    def size(self, plan: PlanFile, program: Path) -> int | None:
        measured = self.driver.measure(plan, program)
        return measured.text_bytes if measured.ok else None

    def gains(self, task) -> tuple[list[float], str]:
        """What the adapter computes: per program, the plan's clipped gain over the reference, or (a portfolio
        task) the candidate's clipped marginal log gain over the portfolio."""
        plan = PlanFile.from_json(task.plan.body)
        if task.base is None:
            gains = [
                privacy.clipped_gain(
                    self.driver.reference(program).text_bytes, self.size(plan, program), task.clip_bound
                )
                for program in self.corpus
            ]
            return gains, privacy.CLIPPED_GAIN
        base = Portfolio.from_json(task.base.body)
        grown = base.with_member(plan)
        gains = []
        for program in self.corpus:
            sizes = [self.size(candidate, program) for candidate in grown.candidates()]
            before = best_size(sizes[: len(base.candidates())])
            gains.append(privacy.marginal_gain(before, best_size(sizes), task.clip_bound) if grown != base else 0.0)
        return gains, privacy.MARGINAL_LOG_GAIN

    def work(self) -> int:
        done = 0
        while tasks := tasks_lease(deployment=self.deployment, limit=10):
            for task in tasks:
                gains, statistic = self.gains(task)
                released = privacy.release(
                    gains, clip=task.clip_bound, noise_multiplier=task.noise_multiplier, statistic=statistic
                )
                body = rfc8785.dumps(signal_statement(task, released))
                signal_submit(deployment=self.deployment, body=body, signature=self.key.sign(body))
                done += 1
        return done


class Federation:
    """`members` participants with disjoint synthetic corpora of `n` variants each, working whenever the
    orchestrator waits for a phase. The noise is real (OpenDP draws it from the system's randomness), so n is
    large enough that a promotion the tests expect fails only far out in the noise's tail (at n = 100 a
    decision fell 3 standard deviations short once in CI; the noise's std scales as 1/n)."""

    def __init__(self, tmp_path: Path, members: int = 4, n: int = 300) -> None:
        activate("privacy", PRIVACY)
        activate("orchestration", ORCHESTRATION)
        release = synthetic_release()
        self.members = [
            Member(f"p{i}", release, write_variants(tmp_path / f"p{i}", 1000 + i * n, n)) for i in range(members)
        ]
        self.public = write_variants(tmp_path / "public", 0, 8)

    def wait(self, search_round, phase, settings, progress) -> bool:
        for member in self.members:
            member.work()
        return True

    def settings(self, strategy: str = "greedy", seed: int = 7) -> orchestrator.RoundSettings:
        """Round settings on the public variants; portfolio rounds take their strategy from the policy."""
        return orchestrator.RoundSettings(PROBLEM_CLASS, strategy, self.public, seed=seed)
