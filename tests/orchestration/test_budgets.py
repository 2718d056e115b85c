"""orchestration.services: budgets opened from the policy, reserved atomically, never refunded, ledgered."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.models import LedgerEntry
from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import policy_activate, policy_create
from opm_site.errors import ErrorCode, OpmError
from orchestration import accounting
from orchestration.models import PrivacyBudget, PrivacyCharge
from orchestration.services import budget_open, budget_reserve, budget_tighten
from tests.concurrency import race

from .factories import EvaluationTaskFactory, ParticipantFactory


def activate_privacy(**changes):
    policy = policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"] | changes, created_by=None)
    return policy_activate(policy=policy, proposal=None, actor="test")


def reserve(participant, rho_nano):
    with transaction.atomic():
        return budget_reserve(participant=participant, task=EvaluationTaskFactory(), rho_nano=rho_nano)


@pytest.mark.django_db
def test_budget_opens_from_the_active_policy():
    participant = ParticipantFactory()
    with pytest.raises(OpmError) as excinfo:
        budget_open(participant=participant)
    assert excinfo.value.code == ErrorCode.NO_PRIVACY_POLICY
    activate_privacy()
    budget = budget_open(participant=participant)
    assert budget.rho_limit_nano == accounting.rho_limit_nano(1.0, 1e-6) and budget.rho_spent_nano == 0
    assert budget_open(participant=participant).pk == budget.pk


@pytest.mark.django_db
def test_reserve_charges_records_and_refuses_when_exhausted():
    activate_privacy()
    participant = ParticipantFactory()
    budget = budget_open(participant=participant)
    charge = reserve(participant, 20_000_000)
    assert charge.spent_after_nano == 20_000_000
    entry = LedgerEntry.objects.get(index=charge.ledger_index)
    assert entry.kind == "budget.charged" and entry.payload == {
        "participant": participant.name,
        "task": charge.task_id,
        "rho_nano": 20_000_000,
        "spent_after_nano": 20_000_000,
        "limit_nano": budget.rho_limit_nano,
    }
    with pytest.raises(OpmError) as excinfo:
        reserve(participant, 20_000_000)  # 24.35M limit: a second m=5 release does not fit
    assert excinfo.value.code == ErrorCode.BUDGET_EXHAUSTED
    budget.refresh_from_db()
    assert budget.rho_spent_nano == 20_000_000 and PrivacyCharge.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="budget.charged").count() == 1
    for bad in (0, -5, 1.5, True):
        with pytest.raises(OpmError):
            reserve(participant, bad)


@pytest.mark.django_db
def test_a_policy_change_never_drops_below_spent():
    activate_privacy(epsilon=4.0)
    participant = ParticipantFactory()
    budget_open(participant=participant)
    reserve(participant, 200_000_000)
    activate_privacy(epsilon=1.0)  # its limit (24.35M nano) is below what was spent
    budget = PrivacyBudget.objects.get(participant=participant)
    assert budget.rho_limit_nano == budget.rho_spent_nano == 200_000_000 and budget.epsilon == 1.0
    with pytest.raises(OpmError):
        reserve(participant, 1)


@pytest.mark.django_db
def test_participants_may_tighten_only_when_the_policy_allows():
    activate_privacy()
    participant = ParticipantFactory()
    budget_open(participant=participant)
    budget = budget_tighten(participant=participant, epsilon=0.5)
    assert budget.rho_limit_nano == accounting.rho_limit_nano(0.5, 1e-6)
    activate_privacy(epsilon=2.0)  # the participant's own stricter epsilon survives the new policy
    budget.refresh_from_db()
    assert budget.rho_limit_nano == accounting.rho_limit_nano(0.5, 1e-6)
    activate_privacy(participant_may_tighten=False)
    with pytest.raises(OpmError) as excinfo:
        budget_tighten(participant=participant, epsilon=0.2)
    assert excinfo.value.code == ErrorCode.TIGHTEN_NOT_ALLOWED


@pytest.mark.django_db
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(charges=st.lists(st.integers(min_value=1, max_value=15_000_000), min_size=1, max_size=12))
def test_budgets_never_go_negative_or_over(charges):
    with transaction.atomic():
        activate_privacy()
        participant = ParticipantFactory()
        budget = budget_open(participant=participant)
        expected = 0
        for rho in charges:
            try:
                reserve(participant, rho)
                expected += rho
            except OpmError as exc:
                assert exc.code == ErrorCode.BUDGET_EXHAUSTED
                assert expected + rho > budget.rho_limit_nano
        budget.refresh_from_db()
        assert budget.rho_spent_nano == expected <= budget.rho_limit_nano
        assert sum(PrivacyCharge.objects.filter(budget=budget).values_list("rho_nano", flat=True)) == expected
        transaction.set_rollback(True)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_32_racing_reservations_against_room_for_10():
    activate_privacy()
    participant = ParticipantFactory()
    budget = budget_open(participant=participant)
    per_charge = budget.rho_limit_nano // 10
    tasks = [EvaluationTaskFactory() for _ in range(32)]

    def reserve(task):
        with transaction.atomic():
            budget_reserve(participant=participant, task=task, rho_nano=per_charge)
        return "charged"

    outcomes = [result for _, result in race(reserve, tasks)]
    assert outcomes.count("charged") == 10 and outcomes.count(ErrorCode.BUDGET_EXHAUSTED) == 22
    budget.refresh_from_db()
    assert budget.rho_spent_nano == 10 * per_charge <= budget.rho_limit_nano
    assert PrivacyCharge.objects.count() == 10
    assert LedgerEntry.objects.filter(kind="budget.charged").count() == 10
