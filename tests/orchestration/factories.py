import hashlib

import factory
from django.utils import timezone

from orchestration.models import (
    AdapterDeployment,
    Attestation,
    CheckpointCosignature,
    EvaluationTask,
    LocalProblem,
    Participant,
    PerformanceSignal,
    Plan,
    PlanDelta,
    Portfolio,
    PortfolioDelta,
    PrivacyBudget,
    PrivacyCharge,
    SearchRound,
)
from tests.governance.factories import CheckpointFactory, PolicyFactory
from tests.registry.factories import AdapterReleaseFactory


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    name = factory.Sequence(lambda n: f"participant-{n}")
    display_name = factory.LazyAttribute(lambda o: o.name.title())


class AdapterDeploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdapterDeployment

    participant = factory.SubFactory(ParticipantFactory)
    release = factory.SubFactory(AdapterReleaseFactory, state="approved")
    label = factory.Sequence(lambda n: f"deployment-{n}")
    public_key = b"\x01" * 32
    api_key_prefix = factory.Sequence(lambda n: f"opm{n:08d}")
    api_key_hash = "pbkdf2_sha256$test"


class LocalProblemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LocalProblem

    deployment = factory.SubFactory(AdapterDeploymentFactory)
    participant = factory.LazyAttribute(lambda o: o.deployment.participant)
    handle = factory.Sequence(lambda n: f"corpus-{n}")
    problem_class = "llvm/text-bytes"
    toolchain = "llvm"
    corpus_size = 250
    commitment = "cd" * 32


class PrivacyBudgetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PrivacyBudget

    participant = factory.SubFactory(ParticipantFactory)
    policy = factory.SubFactory(PolicyFactory, kind="privacy")
    epsilon = 1.0
    delta = 1e-6
    rho_limit_nano = 20_000_000
    rho_spent_nano = 0


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    toolchain = "llvm"
    body = factory.Sequence(lambda n: {"toolchain": "llvm", "passes": [{"name": f"pass-{n}"}], "knobs": {}})
    content_hash = factory.LazyAttribute(lambda o: hashlib.sha256(repr(o.body).encode()).hexdigest())


class SearchRoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SearchRound

    problem_class = "llvm/text-bytes"
    toolchain = "llvm"
    strategy = "greedy"
    seed = 42


class PlanDeltaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanDelta

    problem_class = "llvm/text-bytes"
    sequence = factory.Sequence(lambda n: n + 1)
    parent = factory.SubFactory(PlanFactory)
    child = factory.SubFactory(PlanFactory)
    ops = factory.LazyFunction(lambda: [{"op": "insert", "at": 0, "pass": {"name": "gvn"}}])
    promoted_at = factory.LazyFunction(timezone.now)


class PortfolioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Portfolio

    toolchain = "llvm"
    body = factory.Sequence(
        lambda n: {"toolchain": "llvm", "members": [{"toolchain": "llvm", "passes": [], "knobs": {}}]}
    )
    content_hash = factory.Sequence(lambda n: hashlib.sha256(f"portfolio-{n}".encode()).hexdigest())


class PortfolioDeltaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PortfolioDelta

    problem_class = "llvm/text-bytes"
    sequence = factory.Sequence(lambda n: n + 1)
    parent = factory.SubFactory(PortfolioFactory)
    child = factory.SubFactory(PortfolioFactory)
    ops = factory.LazyFunction(lambda: [{"op": "remove", "plan": "0" * 64}])
    promoted_at = factory.LazyFunction(timezone.now)


class EvaluationTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvaluationTask

    plan = factory.SubFactory(PlanFactory)
    local_problem = factory.SubFactory(LocalProblemFactory)
    noise_multiplier = 5.0
    clip_bound = 0.1


class PrivacyChargeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PrivacyCharge

    budget = factory.SubFactory(PrivacyBudgetFactory)
    task = factory.SubFactory(
        EvaluationTaskFactory,
        state="leased",
        deployment=factory.SelfAttribute("..budget_deployment"),
        leased_at=factory.LazyFunction(timezone.now),
        lease_expires_at=factory.LazyFunction(timezone.now),
    )
    rho_nano = 20_000
    spent_after_nano = 20_000
    charged_at = factory.LazyFunction(timezone.now)

    class Params:
        budget_deployment = factory.SubFactory(AdapterDeploymentFactory)


class PerformanceSignalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PerformanceSignal

    task = factory.SubFactory(
        EvaluationTaskFactory,
        state="done",
        deployment=factory.SubFactory(AdapterDeploymentFactory),
        leased_at=factory.LazyFunction(timezone.now),
        lease_expires_at=factory.LazyFunction(timezone.now),
    )
    value = 0.02
    corpus_size = 250
    parameters = factory.LazyFunction(lambda: {"noise_multiplier": 5.0, "clip_bound": 0.1})
    body = b"{}"
    signature = b"\x02" * 64
    received_at = factory.LazyFunction(timezone.now)


class AttestationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attestation

    origin = "openpassmarket.example/log"
    tree_size = 10
    root_hash = b"\x03" * 32
    code_version = "0.1.0"
    decisions_digest = "ef" * 32
    verdict = "reproduced"
    body = "{}"
    note = "attestation\n"


class CheckpointCosignatureFactory(factory.django.DjangoModelFactory):
    """A stored row (not a verifiable cosignature: tests that need one sign with a real key)."""

    class Meta:
        model = CheckpointCosignature

    checkpoint = factory.SubFactory(CheckpointFactory)
    deployment = factory.SubFactory(AdapterDeploymentFactory)
    witness_name = factory.LazyAttribute(lambda o: f"openpassmarket.example/log/witness/x/{o.deployment.pk}")
    public_key = b"\x01" * 32
    key_id = b"\x02" * 4
    timestamp = 1_700_000_000
    signature = b"\x03" * 64
    received_at = factory.LazyFunction(timezone.now)
