"""Orchestration reads."""

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from adapters.contract import ADAPTER_CONTRACT_RANGE
from adapters.plan import problem_toolchain
from adapters.portfolio import Portfolio as PortfolioFile
from governance.models import LedgerEntry
from orchestration import accounting
from orchestration.models import (
    AdapterDeployment,
    DeploymentStatus,
    EvaluationTask,
    LocalProblem,
    PerformanceSignal,
    Plan,
    PlanDelta,
    Portfolio,
    PortfolioDelta,
    PrivacyBudget,
    PrivacyCharge,
    SearchRound,
    TaskState,
)
from registry.models import ReleaseState
from registry.selectors import releases_discover


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


def plan_latest_delta(*, problem_class: str) -> PlanDelta | None:
    """The delta that made the class's current plan version (None: still the reference, version 0)."""
    return PlanDelta.objects.filter(problem_class=problem_class).select_related("child").order_by("-sequence").first()


def plan_deltas_since(*, problem_class: str, since: int) -> QuerySet[PlanDelta]:
    return (
        PlanDelta.objects.filter(problem_class=problem_class, sequence__gt=since)
        .select_related("parent", "child")
        .order_by("sequence")
    )


MIN_HASH_PREFIX = 8


def plan_by_ref(*, ref: str) -> Plan | None:
    """A plan by numeric id, by its 64-hex content hash, or by a prefix of it (at least 8 hex digits, as
    the demo and the admin print 12) that names exactly one plan."""
    return _by_ref(Plan, ref)


def portfolio_by_ref(*, ref: str) -> Portfolio | None:
    """A portfolio by numeric id, 64-hex content hash, or a unique prefix of at least 8 hex digits."""
    return _by_ref(Portfolio, ref)


def _by_ref(model, ref: str):
    ref = ref.strip().lower()
    # An id: ASCII digits only (str.isdigit also accepts "²", which int() refuses), at most 18 of them (beyond
    # that it cannot be a 64-bit one).
    if ref.isascii() and ref.isdigit() and len(ref) <= 18:
        found = model.objects.filter(pk=int(ref)).first()
        if found is not None or len(ref) < MIN_HASH_PREFIX:
            return found
    if len(ref) < MIN_HASH_PREFIX or len(ref) > 64 or any(c not in "0123456789abcdef" for c in ref):
        return None
    matches = list(model.objects.filter(content_hash__startswith=ref)[:2])
    return matches[0] if len(matches) == 1 else None


def portfolio_latest_delta(*, problem_class: str) -> PortfolioDelta | None:
    """The delta that made the class's current portfolio version (None: still empty, version 0)."""
    return (
        PortfolioDelta.objects.filter(problem_class=problem_class).select_related("child").order_by("-sequence").first()
    )


def portfolio_current(*, problem_class: str) -> tuple[int, PortfolioFile]:
    """The class's current portfolio version and file; version 0 is the empty portfolio (the reference alone).
    A read: it creates no row (a round stores the portfolio it starts from)."""
    latest = portfolio_latest_delta(problem_class=problem_class)
    if latest is not None:
        return latest.sequence, PortfolioFile.from_json(latest.child.body)
    return 0, PortfolioFile(problem_toolchain(problem_class), ())


def portfolio_deltas_since(*, problem_class: str, since: int) -> QuerySet[PortfolioDelta]:
    return (
        PortfolioDelta.objects.filter(problem_class=problem_class, sequence__gt=since)
        .select_related("parent", "child")
        .order_by("sequence")
    )


def portfolio_candidates_tried(*, problem_class: str, base: Portfolio) -> set[str]:
    """Content hashes of plans already sent to participants as candidates for this portfolio."""
    return set(
        EvaluationTask.objects.filter(round__problem_class=problem_class, base=base)
        .values_list("plan__content_hash", flat=True)
        .distinct()
    )


def problems_for_class(*, problem_class: str) -> list[LocalProblem]:
    """Problems of a class whose deployment may work now, one per participant (its first registered), of
    releases implementing the contract version this server signs statements for (`ADAPTER_CONTRACT_RANGE`):
    an older adapter's signals would be refused, so it is never asked (nor charged)."""
    problems = (
        LocalProblem.objects.filter(
            problem_class=problem_class,
            deployment__in=deployments_eligible_for_work(),
            deployment__release__in=releases_discover(contract=ADAPTER_CONTRACT_RANGE).order_by().values("pk"),
            participant__active=True,
        )
        .select_related("participant", "deployment")
        .order_by("participant__name", "registered_at", "pk")
    )
    first: dict[int, LocalProblem] = {}
    for problem in problems:
        first.setdefault(problem.participant_id, problem)
    return list(first.values())


def round_signals(*, search_round: SearchRound, phase: str) -> list[PerformanceSignal]:
    return list(
        PerformanceSignal.objects.filter(task__round=search_round, task__phase=phase)
        .select_related("task__plan", "task__local_problem__participant")
        .order_by("ledger_index")
    )


def round_open_tasks(*, search_round: SearchRound, phase: str) -> int:
    return EvaluationTask.objects.filter(
        round=search_round, phase=phase, state__in=[TaskState.QUEUED, TaskState.LEASED]
    ).count()


def budget_remaining_nano(*, participant) -> int:
    budget = PrivacyBudget.objects.filter(participant=participant).first()
    return 0 if budget is None else budget.rho_limit_nano - budget.rho_spent_nano


def plans_tried(*, problem_class: str, incumbent: Plan) -> set[str]:
    """Content hashes of plans already sent to participants in earlier rounds from this incumbent."""
    return set(
        EvaluationTask.objects.filter(round__problem_class=problem_class, round__incumbent=incumbent)
        .values_list("plan__content_hash", flat=True)
        .distinct()
    )


def deployment_signing_keys(*, deployment: AdapterDeployment) -> set[bytes]:
    """Every Ed25519 key the deployment has signed with, from its ledgered enrolment and rotations (the ledger
    is append-only, so a key once held stays listed)."""
    entries = LedgerEntry.objects.filter(
        subject=f"deployment:{deployment.pk}", kind__in=("deployment.enrolled", "deployment.key_rotated")
    ).values_list("payload", flat=True)
    return {bytes.fromhex(payload["public_key"]) for payload in entries if payload.get("public_key")}
