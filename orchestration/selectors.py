"""Orchestration reads."""

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from orchestration import accounting
from orchestration.models import AdapterDeployment, DeploymentStatus, PrivacyBudget, PrivacyCharge
from registry.models import ReleaseState


@dataclass(frozen=True)
class BudgetView:
    """A budget as people read it: nano-rho, and epsilon at the policy's delta."""

    budget: PrivacyBudget
    charges: int

    @property
    def remaining_nano(self) -> int:
        return self.budget.rho_limit_nano - self.budget.rho_spent_nano

    @property
    def spent_epsilon(self) -> float:
        return accounting.epsilon_of_rho_nano(self.budget.rho_spent_nano, self.budget.delta)

    @property
    def remaining_epsilon(self) -> float:
        """What the unspent rho is worth on its own, as epsilon at the policy's delta."""
        return accounting.epsilon_of_rho_nano(self.remaining_nano, self.budget.delta)


def budget_views() -> list[BudgetView]:
    budgets = PrivacyBudget.objects.select_related("participant", "policy").annotate(n=Count("charges"))
    return [BudgetView(budget=b, charges=b.n) for b in budgets.order_by("participant__name")]


def budget_charges(*, budget: PrivacyBudget) -> QuerySet[PrivacyCharge]:
    return budget.charges.order_by("charged_at", "pk")


def deployments_eligible_for_work() -> QuerySet[AdapterDeployment]:
    """Deployments that may lease tasks: active, of an approved release. Suspending or revoking a release
    removes its deployments from this set at once (the lease service reads it in its transaction)."""
    return AdapterDeployment.objects.filter(
        status=DeploymentStatus.ACTIVE, release__state=ReleaseState.APPROVED, participant__active=True
    ).select_related("participant", "release")
