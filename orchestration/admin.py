"""Orchestration admin: the board and the operator read participants, deployments, budgets, plans, rounds,
tasks, charges, signals and witnesses' checkpoint cosignatures. All of it is made by services (enrolment,
rounds, leases, signals, cosignatures), so it is read-only here; only a new participant can be added, through
`participant_create`, and participants deactivated or reactivated, through `participant_set_active`."""

from django.contrib import admin
from django.utils.html import format_html

from opm_site.admin import ReadOnlyModelAdmin, ServiceAddAdmin, run_service
from orchestration import services
from orchestration.selectors import BudgetView, budget_charges

from .models import (
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
    PortfolioMember,
    PrivacyBudget,
    PrivacyCharge,
    SearchRound,
)


@admin.register(Participant)
class ParticipantAdmin(ServiceAddAdmin):
    """Added through `participant_create` (ledgered); keys are issued by `manage.py participants`."""

    list_display = ["name", "display_name", "contact_email", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "display_name", "contact_email"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "display_name", "contact_email"]
        return ["name", "display_name", "contact_email", "active", "enrolment_key_prefix", "created_at"]

    def create(self, request, data):
        return services.participant_create(
            name=data["name"], display_name=data["display_name"], contact_email=data["contact_email"]
        )

    actions = ["deactivate", "reactivate"]

    @admin.action(description="Deactivate: refuse its keys at once (ledgered)")
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, active=False)

    @admin.action(description="Reactivate (ledgered)")
    def reactivate(self, request, queryset):
        self._set_active(request, queryset, active=True)

    def _set_active(self, request, queryset, *, active: bool) -> None:
        actor = f"user:{request.user.get_username()}"
        for participant in queryset:
            run_service(
                self,
                request,
                lambda p=participant: services.participant_set_active(participant=p, active=active, actor=actor),
                f"participant {participant.name} {'reactivated' if active else 'deactivated'}",
            )


@admin.register(AdapterDeployment)
class AdapterDeploymentAdmin(ReadOnlyModelAdmin):
    """Enrolled, rotated and revoked by the participant's keys through the API (ledgered)."""

    list_display = ["__str__", "release", "status", "api_key_prefix", "enrolled_at", "last_seen_at"]
    list_filter = ["status", "release__toolchain"]
    search_fields = ["participant__name", "label", "api_key_prefix"]


@admin.register(LocalProblem)
class LocalProblemAdmin(ReadOnlyModelAdmin):
    list_display = ["handle", "participant", "problem_class", "toolchain", "corpus_size", "registered_at"]
    list_filter = ["toolchain", "problem_class"]
    search_fields = ["handle", "participant__name", "commitment"]


@admin.register(PrivacyBudget)
class PrivacyBudgetAdmin(ReadOnlyModelAdmin):
    """Budgets change only through services (policy activation, reservations); the page shows the burn-down."""

    list_display = ["participant", "epsilon", "delta", "rho_limit_nano", "rho_spent_nano", "remaining_epsilon"]
    list_filter = ["policy"]
    search_fields = ["participant__name"]
    fields = [
        "participant",
        "policy",
        "epsilon",
        "delta",
        "own_epsilon",
        "rho_limit_nano",
        "rho_spent_nano",
        "remaining_epsilon",
        "burn_down",
    ]
    readonly_fields = fields

    @admin.display(description="remaining epsilon")
    def remaining_epsilon(self, budget: PrivacyBudget) -> str:
        return f"{BudgetView(budget=budget, charges=0).remaining_epsilon:.4f} at delta {budget.delta:g}"

    @admin.display(description="burn-down")
    def burn_down(self, budget: PrivacyBudget) -> str:
        """Remaining nano-rho after each charge, as an inline SVG (no plotting dependency on the server)."""
        charges = list(budget_charges(budget=budget))
        width, height, pad = 480, 160, 24
        limit = max(budget.rho_limit_nano, 1)
        remaining = [budget.rho_limit_nano] + [budget.rho_limit_nano - c.spent_after_nano for c in charges]
        step = (width - 2 * pad) / max(len(remaining) - 1, 1)
        points = " ".join(
            f"{pad + i * step:.1f},{pad + (height - 2 * pad) * (1 - max(r, 0) / limit):.1f}"
            for i, r in enumerate(remaining)
        )
        return format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
            'aria-label="remaining budget after each charge" style="background:var(--darkened-bg)">'
            '<line x1="{p}" y1="{p}" x2="{p}" y2="{b}" stroke="currentColor"/>'
            '<line x1="{p}" y1="{b}" x2="{r}" y2="{b}" stroke="currentColor"/>'
            '<polyline fill="none" stroke="#417690" stroke-width="2" points="{pts}"/>'
            '<text x="{p}" y="14" font-size="11" fill="currentColor">{limit} nano-rho</text>'
            '<text x="{r}" y="{t}" font-size="11" text-anchor="end" fill="currentColor">{n} charges</text></svg>',
            w=width,
            h=height,
            p=pad,
            b=height - pad,
            r=width - pad,
            t=height - 6,
            pts=points,
            limit=f"{budget.rho_limit_nano:,}",
            n=len(charges),
        )


@admin.register(PrivacyCharge)
class PrivacyChargeAdmin(ReadOnlyModelAdmin):
    list_display = ["budget", "task", "rho_nano", "spent_after_nano", "ledger_index", "charged_at"]
    list_filter = ["budget__participant"]
    search_fields = ["budget__participant__name"]


@admin.register(Plan)
class PlanAdmin(ReadOnlyModelAdmin):
    """Content-addressed: a plan's body is fixed by its hash, which the ledger and the deltas cite."""

    list_display = ["content_hash", "toolchain", "created_at"]
    list_filter = ["toolchain"]
    search_fields = ["content_hash"]


@admin.register(PlanDelta)
class PlanDeltaAdmin(ReadOnlyModelAdmin):
    list_display = ["problem_class", "sequence", "parent", "child", "ledger_index", "promoted_at"]
    list_filter = ["problem_class"]
    search_fields = ["problem_class", "child__content_hash"]


class PortfolioMemberInline(admin.TabularInline):
    model = PortfolioMember
    fields = ["position", "plan"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Portfolio)
class PortfolioAdmin(ReadOnlyModelAdmin):
    """Portfolios are content-addressed and made by promotions: read-only, members shown in order."""

    list_display = ["content_hash", "toolchain", "created_at"]
    list_filter = ["toolchain"]
    search_fields = ["content_hash"]
    inlines = [PortfolioMemberInline]


@admin.register(PortfolioDelta)
class PortfolioDeltaAdmin(ReadOnlyModelAdmin):
    list_display = ["problem_class", "sequence", "parent", "child", "ledger_index", "promoted_at"]
    list_filter = ["problem_class"]
    search_fields = ["problem_class", "child__content_hash"]


@admin.register(EvaluationTask)
class EvaluationTaskAdmin(ReadOnlyModelAdmin):
    """Created by rounds with the noise the policy sets, leased and finished through the API (charged, ledgered)."""

    list_display = ["id", "plan", "local_problem", "deployment", "state", "noise_multiplier", "lease_expires_at"]
    list_filter = ["state", "local_problem__problem_class"]
    search_fields = ["local_problem__handle", "deployment__label", "plan__content_hash"]


@admin.register(PerformanceSignal)
class PerformanceSignalAdmin(ReadOnlyModelAdmin):
    list_display = ["task", "value", "corpus_size", "mechanism", "ledger_index", "received_at"]
    list_filter = ["mechanism"]
    search_fields = ["task__local_problem__handle"]


@admin.register(SearchRound)
class SearchRoundAdmin(ReadOnlyModelAdmin):
    """Started, run and finished by `manage.py orchestrate` (each step ledgered), never by hand."""

    list_display = ["id", "problem_class", "strategy", "seed", "state", "started_at", "finished_at"]
    list_filter = ["state", "strategy", "toolchain"]
    search_fields = ["problem_class", "stop_reason"]


@admin.register(Attestation)
class AttestationAdmin(ReadOnlyModelAdmin):
    list_display = ["origin", "tree_size", "verdict", "code_version", "created_at"]
    list_filter = ["verdict"]
    search_fields = ["origin", "decisions_digest"]


@admin.register(CheckpointCosignature)
class CheckpointCosignatureAdmin(ReadOnlyModelAdmin):
    """Submitted by deployments' adapters through the API, verified on arrival, append-only in the database."""

    list_display = ["checkpoint", "witness_name", "deployment", "timestamp", "received_at"]
    list_filter = ["deployment__participant"]
    search_fields = ["witness_name", "deployment__participant__name"]
    list_select_related = ["checkpoint", "deployment__participant"]
