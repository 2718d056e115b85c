"""Orchestration admin: the board and the operator read participants, deployments, budgets, plans, rounds,
tasks, charges, signals and witnesses' checkpoint cosignatures. All of it is made by services (enrolment,
rounds, leases, signals, cosignatures), so it is read-only here; only a new participant can be added, through
`participant_create`, and participants deactivated or reactivated, through `participant_set_active`."""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from governance import selectors as governance_selectors
from opm_site.admin import (
    ReadOnlyModelAdmin,
    ServiceAddAdmin,
    SummaryAdmin,
    percent,
    raw_json,
    record_fieldset,
    run_service,
    short_hash,
)
from orchestration import selectors, services
from orchestration.charts import budget_spend_chart
from orchestration.selectors import BudgetView

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
    list_select_related = ["participant", "release"]
    list_filter = ["status", "release__toolchain"]
    search_fields = ["participant__name", "label", "api_key_prefix"]


@admin.register(LocalProblem)
class LocalProblemAdmin(ReadOnlyModelAdmin):
    list_display = ["handle", "participant", "problem_class", "toolchain", "corpus_size", "registered_at"]
    list_select_related = ["participant"]
    list_filter = ["toolchain", "problem_class"]
    search_fields = ["handle", "participant__name", "commitment"]


BUDGET_EXPLAINED = (
    "Privacy loss adds up in ρ (zero-concentrated DP), not in ε: ε spent and the ε limit are their ρ converted at "
    "δ by dp-accounting (as manage.py demo and manage.py budgets report them), so the ε left is not the limit "
    "minus ε spent, and the share used is the share of the ρ limit, which the next charges draw on."
)


def epsilon_spent_html(view: BudgetView) -> str:
    """The epsilon spent of the limit at delta, with the nano-rho behind both numbers in its tooltip."""
    return format_html('<span title="{}">{}</span>', view.rho_text, view.epsilon_text)


def budget_share_html(view: BudgetView) -> str:
    return format_html('<span title="{}">{}</span>', view.rho_text, view.share_text)


@admin.register(PrivacyBudget)
class PrivacyBudgetAdmin(SummaryAdmin, ReadOnlyModelAdmin):
    """Budgets change only through services (policy activation, reservations); the page shows the burn-down."""

    list_display = ["participant", "epsilon_spent", "rho_share", "charge_count", "policy"]
    list_select_related = ["participant", "policy"]
    list_filter = ["policy"]
    search_fields = ["participant__name"]
    summary_template = "admin/orchestration/privacybudget/summary.html"
    fieldsets = [
        (None, {"fields": ["burn_down"]}),
        record_fieldset(
            ["participant", "policy", "epsilon", "delta", "own_epsilon", "rho_limit_nano", "rho_spent_nano"]
        ),
    ]
    readonly_fields = [
        "participant",
        "policy",
        "epsilon",
        "delta",
        "own_epsilon",
        "rho_limit_nano",
        "rho_spent_nano",
        "burn_down",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(charge_total=Count("charges"))

    def _view(self, budget: PrivacyBudget) -> BudgetView:
        return BudgetView(budget=budget, charges=getattr(budget, "charge_total", 0))

    @admin.display(description="privacy spent")
    def epsilon_spent(self, budget: PrivacyBudget) -> str:
        return epsilon_spent_html(self._view(budget))

    @admin.display(description="share used")
    def rho_share(self, budget: PrivacyBudget) -> str:
        return budget_share_html(self._view(budget))

    @admin.display(description="charges", ordering="charge_total")
    def charge_count(self, budget: PrivacyBudget) -> int:
        return getattr(budget, "charge_total", 0)

    def summary_context(self, request, obj):
        view = selectors.budget_view(budget=obj)
        return {
            "view": view,
            "epsilon_spent": epsilon_spent_html(view),
            "share": budget_share_html(view),
            "explained": BUDGET_EXPLAINED,
        }

    @admin.display(description="spent over time")
    def burn_down(self, budget: PrivacyBudget) -> str:
        """ε spent at δ after each charge against the limit: the public privacy page's chart."""
        return budget_spend_chart(budget=budget, charges=budget.charges.count(), who=budget.participant.name)


@admin.register(PrivacyCharge)
class PrivacyChargeAdmin(ReadOnlyModelAdmin):
    list_display = ["participant", "task", "rho_nano", "spent_after_nano", "ledger_index", "charged_at"]
    list_select_related = ["budget__participant", "task"]
    list_filter = ["budget__participant"]
    search_fields = ["budget__participant__name"]

    @admin.display(description="participant", ordering="budget__participant__name")
    def participant(self, charge: PrivacyCharge) -> str:
        return charge.budget.participant.name


def _passes_summary(body: object, shown: int = 6) -> str:
    """A plan body's passes as "gvn, licm, ... (12 passes)"."""
    passes = body.get("passes") if isinstance(body, dict) else None
    names = [str(p.get("name")) for p in passes if isinstance(p, dict)] if isinstance(passes, list) else []
    if not names:
        return "the reference (no passes)"
    more = f", … ({len(names)} passes)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


@admin.register(Plan)
class PlanAdmin(ReadOnlyModelAdmin):
    """Content-addressed: a plan's body is fixed by its hash, which the ledger and the deltas cite."""

    list_display = ["hash", "toolchain", "passes", "created_at"]
    list_filter = ["toolchain"]
    search_fields = ["content_hash"]

    @admin.display(description="content hash", ordering="content_hash")
    def hash(self, plan: Plan) -> str:
        return short_hash(plan.content_hash)

    @admin.display(description="passes")
    def passes(self, plan: Plan) -> str:
        return _passes_summary(plan.body)


@admin.register(PlanDelta)
class PlanDeltaAdmin(ReadOnlyModelAdmin):
    list_display = ["problem_class", "sequence", "parent", "child", "ledger_index", "promoted_at"]
    list_select_related = ["parent", "child"]
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

    list_display = ["hash", "toolchain", "members", "created_at"]
    list_filter = ["toolchain"]
    search_fields = ["content_hash"]
    inlines = [PortfolioMemberInline]

    @admin.display(description="content hash", ordering="content_hash")
    def hash(self, portfolio: Portfolio) -> str:
        return short_hash(portfolio.content_hash)

    @admin.display(description="members")
    def members(self, portfolio: Portfolio) -> str:
        members = portfolio.body.get("members") if isinstance(portfolio.body, dict) else None
        count = len(members) if isinstance(members, list) else 0
        return f"{count} besides the reference"


@admin.register(PortfolioDelta)
class PortfolioDeltaAdmin(ReadOnlyModelAdmin):
    list_display = ["problem_class", "sequence", "parent", "child", "ledger_index", "promoted_at"]
    list_select_related = ["parent", "child"]
    list_filter = ["problem_class"]
    search_fields = ["problem_class", "child__content_hash"]


@admin.register(EvaluationTask)
class EvaluationTaskAdmin(ReadOnlyModelAdmin):
    """Created by rounds with the noise the policy sets, leased and finished through the API (charged, ledgered)."""

    list_display = [
        "id",
        "round_number",
        "phase",
        "plan_hash",
        "problem",
        "state",
        "noise_multiplier",
        "lease_expires_at",
    ]
    list_select_related = ["plan", "local_problem__participant"]
    list_filter = ["state", "phase", "local_problem__problem_class"]
    search_fields = ["local_problem__handle", "deployment__label", "plan__content_hash"]

    @admin.display(description="round", ordering="round")
    def round_number(self, task: EvaluationTask) -> str:
        return str(task.round_id) if task.round_id else "—"

    @admin.display(description="plan", ordering="plan__content_hash")
    def plan_hash(self, task: EvaluationTask) -> str:
        return short_hash(task.plan.content_hash)

    @admin.display(description="problem", ordering="local_problem__handle")
    def problem(self, task: EvaluationTask) -> str:
        problem = task.local_problem
        return f"{problem.participant.name}:{problem.handle} (n={problem.corpus_size})"


def plus_minus(estimate: dict | None) -> str:
    """A federated estimate as "+0.48% ± 0.015%" (the noise std), or a dash."""
    if not isinstance(estimate, dict) or not isinstance(estimate.get("mean"), int | float):
        return "—"
    std = estimate.get("std") if isinstance(estimate.get("std"), int | float) else None
    spread = f" ± {percent(std, std).lstrip('+')}" if std else ""
    return f"{percent(estimate['mean'], std)}{spread}"


def _change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def ledger_link(index: int | None, entry_id: int | None, label: str = "") -> str:
    """A ledger index, linked to its entry's page when the entry is known."""
    if index is None:
        return format_html("{}", "—")
    text = f"#{index}{' ' + label if label else ''}"
    if entry_id is None:
        return format_html("{}", text)
    return format_html('<a href="{}">{}</a>', reverse("admin:governance_ledgerentry_change", args=[entry_id]), text)


def signal_value_html(signal: PerformanceSignal, reading: selectors.SignalReading | None = None) -> str:
    reading = reading or selectors.signal_reading(signal=signal)
    return format_html(
        '<span title="{} ({})">{}</span>', repr(signal.value), reading.unit, percent(signal.value, reading.noise_std)
    )


@admin.register(PerformanceSignal)
class PerformanceSignalAdmin(SummaryAdmin, ReadOnlyModelAdmin):
    # No id column: the ledger index names a signal, and the list must fit 1366 px with the sidebar open.
    list_display = ["participant", "gain", "noise_std", "programs", "phase", "ledger_index", "received_at"]
    list_select_related = ["task__local_problem__participant"]
    list_filter = ["mechanism", "task__phase"]
    search_fields = ["task__local_problem__handle"]
    summary_template = "admin/orchestration/performancesignal/summary.html"
    fieldsets = [
        record_fieldset(["task", "value", "corpus_size", "mechanism", "ledger_index", "received_at"]),
    ]
    readonly_fields = ["task", "value", "corpus_size", "mechanism", "ledger_index", "received_at"]

    @admin.display(description="participant", ordering="task__local_problem__participant__name")
    def participant(self, signal: PerformanceSignal) -> str:
        return signal.task.local_problem.participant.name

    @admin.display(description="gain", ordering="value")
    def gain(self, signal: PerformanceSignal) -> str:
        return signal_value_html(signal)

    @admin.display(description="noise std")
    def noise_std(self, signal: PerformanceSignal) -> str:
        std = selectors.signal_reading(signal=signal).noise_std
        return percent(std, std).lstrip("+") if std else "—"

    @admin.display(description="n", ordering="corpus_size")
    def programs(self, signal: PerformanceSignal) -> int:
        return signal.corpus_size

    @admin.display(description="phase", ordering="task__phase")
    def phase(self, signal: PerformanceSignal) -> str:
        return signal.task.phase or "—"

    def summary_context(self, request, obj):
        reading = selectors.signal_reading(signal=obj)
        task = obj.task
        entry = governance_selectors.ledger_entry_ids(indexes=[obj.ledger_index]).get(obj.ledger_index)
        plan_hash = task.plan.content_hash
        std = reading.noise_std
        return {
            "signal": obj,
            "task": task,
            "reading": reading,
            "value": signal_value_html(obj, reading),
            "std": percent(std, std).lstrip("+") if std else "—",
            "plan": short_hash(plan_hash, _change_url(task.plan)),
            "base": short_hash(task.base.content_hash, _change_url(task.base)) if task.base_id else None,
            "round_url": reverse("admin:orchestration_searchround_change", args=[task.round_id])
            if task.round_id
            else None,
            "task_url": _change_url(task),
            "participant": task.local_problem.participant,
            "ledger": ledger_link(obj.ledger_index, entry),
            "parameters": sorted((obj.parameters or {}).items()) if isinstance(obj.parameters, dict) else [],
            "raw": raw_json(reading.statement or {"value": obj.value, "parameters": obj.parameters}),
            "verifier": raw_json(obj.verifier_report) if obj.verifier_report else None,
        }


@admin.register(SearchRound)
class SearchRoundAdmin(SummaryAdmin, ReadOnlyModelAdmin):
    """Started, run and finished by `manage.py orchestrate` (each step ledgered), never by hand."""

    list_display = ["id", "problem_class", "kind", "strategy", "state", "outcome", "started_at"]
    list_filter = ["state", "kind", "strategy", "toolchain"]
    search_fields = ["problem_class", "stop_reason"]
    summary_template = "admin/orchestration/searchround/summary.html"
    record_fields = [
        "problem_class",
        "kind",
        "toolchain",
        "strategy",
        "seed",
        "state",
        "incumbent",
        "base",
        "stop_reason",
        "created_at",
        "started_at",
        "finished_at",
    ]
    fieldsets = [record_fieldset(record_fields)]
    readonly_fields = record_fields

    @admin.display(description="outcome")
    def outcome(self, search_round: SearchRound) -> str:
        return selectors.round_outcome(search_round)

    def summary_context(self, request, obj):
        summary = selectors.round_summary(search_round=obj)
        candidates = [
            {
                "plan": short_hash(
                    c.plan_hash, reverse("admin:orchestration_plan_change", args=[c.plan_id]) if c.plan_id else None
                ),
                "role": c.role,
                "public": percent(c.public_gain),
                "estimate": plus_minus(c.estimate),
                "participants": (c.estimate or {}).get("participants", "—"),
                "outcome": c.outcome,
                "won": c.plan_hash == (obj.result or {}).get("winner") if isinstance(obj.result, dict) else False,
            }
            for c in summary.candidates
        ]
        decision = summary.decision
        bound = decision.get("lower_bound") if decision else None
        margin, confidence = summary.rule.get("min_margin"), summary.rule.get("confidence")
        if decision and isinstance(bound, int | float) and margin is not None and confidence is not None:
            decision_text = (
                f"{'promote' if decision.get('promote') else 'keep the current version'}: on fresh signals the gain's "
                f"lower bound at {confidence:.0%} confidence is {percent(bound)}, "
                f"{'above' if decision.get('promote') else 'not above'} the policy's margin of {percent(margin)}"
            )
        elif decision:
            decision_text = (
                f"{'promote' if decision.get('promote') else 'keep the current version'}: {decision.get('reason')}"
            )
        else:
            decision_text = ""
        signals = [
            {
                "ledger": ledger_link(s.signal.ledger_index, s.entry_id),
                "phase": s.signal.task.phase,
                "participant": s.signal.task.local_problem.participant.name,
                "plan": short_hash(s.signal.task.plan.content_hash),
                "value": signal_value_html(s.signal),
                "n": s.signal.corpus_size,
            }
            for s in summary.signals
        ]
        indexes = [s.signal.ledger_index for s in summary.signals if s.signal.ledger_index is not None]
        return {
            "round": obj,
            "summary": summary,
            "candidates": candidates,
            "decision": decision_text,
            "confirmation": plus_minus(summary.confirmation) if summary.confirmation else None,
            "promoted_url": _change_url(summary.promoted) if summary.promoted else None,
            "incumbent": short_hash(obj.incumbent.content_hash, _change_url(obj.incumbent))
            if obj.incumbent_id
            else None,
            "base": short_hash(obj.base.content_hash, _change_url(obj.base)) if obj.base_id else None,
            "entries": format_html_join(", ", "{}", ((ledger_link(i, pk, kind),) for i, pk, kind in summary.entries)),
            "signals": signals,
            "signal_span": f"ledger entries #{min(indexes)}–#{max(indexes)}" if indexes else "",
            "raw": raw_json(obj.result),
        }


@admin.register(Attestation)
class AttestationAdmin(ReadOnlyModelAdmin):
    list_display = ["origin", "tree_size", "verdict", "code_version", "created_at"]
    list_filter = ["verdict"]
    search_fields = ["origin", "decisions_digest"]


@admin.register(CheckpointCosignature)
class CheckpointCosignatureAdmin(ReadOnlyModelAdmin):
    """Submitted by deployments' adapters through the API, verified on arrival, append-only in the database."""

    list_display = ["checkpoint_size", "witness", "deployment", "timestamp", "received_at"]
    list_filter = ["deployment__participant"]
    search_fields = ["witness_name", "deployment__participant__name"]
    list_select_related = ["checkpoint", "deployment__participant"]

    @admin.display(description="checkpoint size", ordering="checkpoint__size")
    def checkpoint_size(self, cosignature: CheckpointCosignature) -> int:
        return cosignature.checkpoint.size

    @admin.display(description="witness name", ordering="witness_name")
    def witness(self, cosignature: CheckpointCosignature) -> str:
        """The name without the log origin every witness name starts with; the whole name in the tooltip."""
        shown = cosignature.witness_name.removeprefix(f"{cosignature.checkpoint.origin}/")
        return format_html('<span title="{}">{}</span>', cosignature.witness_name, shown)
