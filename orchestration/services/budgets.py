"""Privacy budgets that hold (docs/design.md §4): limits from the active privacy policy, charges reserved with one
conditional UPDATE in the transaction that leases the task, never refunded, every one in the ledger."""

from django.db import connection, transaction
from django.utils import timezone

from governance import events
from governance.models import Policy, PolicyKind, PolicyStatus
from opm_site.errors import ErrorCode, OpmError
from orchestration import accounting
from orchestration.models import EvaluationTask, Participant, PrivacyBudget, PrivacyCharge


def _active_privacy_policy() -> Policy:
    policy = Policy.objects.filter(kind=PolicyKind.PRIVACY, status=PolicyStatus.ACTIVE).first()
    if policy is None:
        raise OpmError(ErrorCode.NO_PRIVACY_POLICY, "no privacy policy is active; the board must activate one")
    return policy


def _limit_nano(policy: Policy, own_epsilon: float | None) -> int:
    epsilon = policy.document["epsilon"]
    if own_epsilon is not None:
        epsilon = min(epsilon, own_epsilon)
    return accounting.rho_limit_nano(epsilon, policy.document["delta"])


def budget_open(*, participant: Participant) -> PrivacyBudget:
    """A new participant's budget, from the active privacy policy (idempotent)."""
    with transaction.atomic():
        existing = PrivacyBudget.objects.filter(participant=participant).first()
        if existing:
            return existing
        policy = _active_privacy_policy()
        budget = PrivacyBudget.objects.create(
            participant=participant,
            policy=policy,
            epsilon=policy.document["epsilon"],
            delta=policy.document["delta"],
            rho_limit_nano=_limit_nano(policy, None),
        )
        events.record_budget_limit_set(budget=budget, reason=f"opened under privacy policy v{policy.version}")
    return budget


def budgets_apply_policy(*, policy: Policy) -> int:
    """Move every budget to a newly activated privacy policy; a limit never drops below what is spent."""
    changed = 0
    with transaction.atomic():
        for budget in PrivacyBudget.objects.select_for_update().select_related("participant"):
            limit = max(budget.rho_spent_nano, _limit_nano(policy, budget.own_epsilon))
            budget.policy, budget.epsilon, budget.delta = policy, policy.document["epsilon"], policy.document["delta"]
            budget.rho_limit_nano = limit
            budget.save(update_fields=["policy", "epsilon", "delta", "rho_limit_nano", "updated_at"])
            events.record_budget_limit_set(budget=budget, reason=f"privacy policy v{policy.version} activated")
            changed += 1
    return changed


def budget_tighten(*, participant: Participant, epsilon: float) -> PrivacyBudget:
    """A participant's own, stricter epsilon (if the policy allows); never below what is already spent."""
    with transaction.atomic(durable=True):
        budget = (
            PrivacyBudget.objects.select_for_update()
            .select_related("policy", "participant")
            .get(participant=participant)
        )
        if not budget.policy.document.get("participant_may_tighten", False):
            raise OpmError(ErrorCode.TIGHTEN_NOT_ALLOWED, "the privacy policy does not let participants tighten")
        if not 0 < epsilon <= budget.policy.document["epsilon"]:
            raise OpmError(
                ErrorCode.VALIDATION_FAILED, f"own epsilon must be in (0, {budget.policy.document['epsilon']}]"
            )
        budget.own_epsilon = epsilon
        budget.rho_limit_nano = max(budget.rho_spent_nano, _limit_nano(budget.policy, epsilon))
        budget.save(update_fields=["own_epsilon", "rho_limit_nano", "updated_at"])
        events.record_budget_limit_set(budget=budget, reason="participant set a stricter epsilon")
    return budget


_RESERVE = """
UPDATE orchestration_privacybudget SET rho_spent_nano = rho_spent_nano + %s, updated_at = %s
WHERE participant_id = %s AND rho_spent_nano + %s <= rho_limit_nano
RETURNING id, rho_spent_nano, rho_limit_nano
"""


def budget_reserve(*, participant: Participant, task: EvaluationTask, rho_nano: int) -> PrivacyCharge:
    """Charge a task's release to the participant's budget, in the caller's (leasing) transaction.

    One conditional UPDATE: concurrent reservations can never overspend, and no row lock is held beyond
    the caller's short transaction. Over budget: `budget_exhausted`, nothing charged.
    """
    if not isinstance(rho_nano, int) or isinstance(rho_nano, bool) or rho_nano <= 0:
        raise OpmError(ErrorCode.INVALID_CHARGE, f"a charge is a positive number of nano-rho, got {rho_nano!r}")
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            now = connection.ops.adapt_datetimefield_value(timezone.now())
            cursor.execute(_RESERVE, [rho_nano, now, participant.pk, rho_nano])
            row = cursor.fetchone()
        if row is None:
            budget = PrivacyBudget.objects.filter(participant=participant).first()
            if budget is None:
                raise OpmError(ErrorCode.NO_PRIVACY_POLICY, f"{participant} has no privacy budget")
            raise OpmError(
                ErrorCode.BUDGET_EXHAUSTED,
                f"{participant} cannot afford {rho_nano} nano-rho "
                f"({budget.rho_limit_nano - budget.rho_spent_nano} of {budget.rho_limit_nano} left)",
                status=409,
                remaining_nano=budget.rho_limit_nano - budget.rho_spent_nano,
            )
        budget_id, spent_after, limit = row
        charge = PrivacyCharge.objects.create(
            budget_id=budget_id, task=task, rho_nano=rho_nano, spent_after_nano=spent_after, charged_at=timezone.now()
        )
        entry = events.record_budget_charged(charge=charge, participant_name=participant.name, limit_nano=limit)
        PrivacyCharge.objects.filter(pk=charge.pk).update(ledger_index=entry.index)
        charge.ledger_index = entry.index
    return charge
