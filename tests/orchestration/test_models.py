import pytest
from django.utils import timezone

from tests.constraints import assert_db_rejects

from .factories import (
    AdapterDeploymentFactory,
    AttestationFactory,
    EvaluationTaskFactory,
    LocalProblemFactory,
    PerformanceSignalFactory,
    PlanDeltaFactory,
    PlanFactory,
    PrivacyBudgetFactory,
    PrivacyChargeFactory,
    SearchRoundFactory,
)

pytestmark = pytest.mark.django_db


def test_budget_never_overspent_or_negative():
    assert_db_rejects(lambda: PrivacyBudgetFactory(rho_limit_nano=10, rho_spent_nano=11), "budget_within_limit")
    assert_db_rejects(lambda: PrivacyBudgetFactory(rho_spent_nano=-1), "budget_spent_nonnegative")
    assert_db_rejects(lambda: PrivacyBudgetFactory(delta=1.0), "budget_delta_open_unit")
    assert_db_rejects(lambda: PrivacyBudgetFactory(epsilon=0), "budget_epsilon_positive")


def test_budget_update_past_limit_is_rejected_by_the_database():
    budget = PrivacyBudgetFactory(rho_limit_nano=100)
    from django.db.models import F

    from orchestration.models import PrivacyBudget

    assert_db_rejects(
        lambda: PrivacyBudget.objects.filter(pk=budget.pk).update(rho_spent_nano=F("rho_spent_nano") + 101),
        "budget_within_limit",
    )


def test_one_budget_per_participant():
    budget = PrivacyBudgetFactory()
    assert_db_rejects(lambda: PrivacyBudgetFactory(participant=budget.participant))


def test_charge_positive_and_one_per_task():
    charge = PrivacyChargeFactory()
    assert_db_rejects(lambda: PrivacyChargeFactory(task=charge.task))
    assert_db_rejects(lambda: PrivacyChargeFactory(rho_nano=0, spent_after_nano=0), "charge_positive")


def test_deployment_key_shapes():
    assert_db_rejects(lambda: AdapterDeploymentFactory(public_key=b"short"), "deployment_pubkey_ed25519")
    deployment = AdapterDeploymentFactory()
    assert_db_rejects(lambda: AdapterDeploymentFactory(api_key_prefix=deployment.api_key_prefix))


def test_local_problem_shape():
    assert_db_rejects(lambda: LocalProblemFactory(corpus_size=0), "problem_corpus_nonempty")
    assert_db_rejects(lambda: LocalProblemFactory(commitment="abc"), "problem_commitment_sha256")
    problem = LocalProblemFactory()
    assert_db_rejects(lambda: LocalProblemFactory(deployment=problem.deployment, handle=problem.handle))


def test_plan_content_addressed():
    plan = PlanFactory()
    assert_db_rejects(lambda: PlanFactory(content_hash=plan.content_hash))
    assert_db_rejects(lambda: PlanFactory(content_hash="abc"), "plan_hash_sha256")


def test_delta_must_change_plan_and_sequence_unique():
    plan = PlanFactory()
    assert_db_rejects(lambda: PlanDeltaFactory(parent=plan, child=plan), "delta_changes_plan")
    delta = PlanDeltaFactory()
    assert_db_rejects(lambda: PlanDeltaFactory(problem_class=delta.problem_class, sequence=delta.sequence))


def test_leased_task_needs_deployment_and_expiry():
    assert_db_rejects(lambda: EvaluationTaskFactory(state="leased"), "task_lease_complete")
    assert_db_rejects(lambda: EvaluationTaskFactory(noise_multiplier=0), "task_noise_positive")
    EvaluationTaskFactory(
        state="leased",
        deployment=AdapterDeploymentFactory(),
        leased_at=timezone.now(),
        lease_expires_at=timezone.now(),
    )


def test_signal_one_per_task_and_signature_sized():
    signal = PerformanceSignalFactory()
    assert_db_rejects(lambda: PerformanceSignalFactory(task=signal.task))
    assert_db_rejects(lambda: PerformanceSignalFactory(signature=b"x" * 63), "signal_signature_ed25519")


def test_round_and_attestation_checks():
    assert_db_rejects(lambda: SearchRoundFactory(seed=-1), "round_seed_nonnegative")
    assert_db_rejects(lambda: SearchRoundFactory(strategy="psychic"), "round_strategy_valid")
    assert_db_rejects(lambda: AttestationFactory(verdict="unsure"), "attestation_verdict_valid")
