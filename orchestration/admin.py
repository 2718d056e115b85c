"""Orchestration admin: participants, deployments, budgets, plans and rounds; charges and signals read-only."""

from django.contrib import admin

from opm_site.admin import ReadOnlyModelAdmin

from .models import (
    AdapterDeployment,
    Attestation,
    EvaluationTask,
    LocalProblem,
    Participant,
    PerformanceSignal,
    Plan,
    PlanDelta,
    PrivacyBudget,
    PrivacyCharge,
    SearchRound,
)


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["name", "display_name", "contact_email", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "display_name", "contact_email"]


@admin.register(AdapterDeployment)
class AdapterDeploymentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "release", "status", "api_key_prefix", "enrolled_at", "last_seen_at"]
    list_filter = ["status", "release__toolchain"]
    search_fields = ["participant__name", "label", "api_key_prefix"]
    readonly_fields = ["api_key_prefix", "api_key_hash", "public_key", "status", "enrolled_at", "last_seen_at"]


@admin.register(LocalProblem)
class LocalProblemAdmin(admin.ModelAdmin):
    list_display = ["handle", "participant", "problem_class", "toolchain", "corpus_size", "registered_at"]
    list_filter = ["toolchain", "problem_class"]
    search_fields = ["handle", "participant__name", "commitment"]


@admin.register(PrivacyBudget)
class PrivacyBudgetAdmin(admin.ModelAdmin):
    list_display = ["participant", "epsilon", "delta", "rho_limit_nano", "rho_spent_nano", "updated_at"]
    list_filter = ["policy"]
    search_fields = ["participant__name"]
    readonly_fields = ["rho_limit_nano", "rho_spent_nano", "policy", "epsilon", "delta"]


@admin.register(PrivacyCharge)
class PrivacyChargeAdmin(ReadOnlyModelAdmin):
    list_display = ["budget", "task", "rho_nano", "spent_after_nano", "ledger_index", "charged_at"]
    list_filter = ["budget__participant"]
    search_fields = ["budget__participant__name"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["content_hash", "toolchain", "created_at"]
    list_filter = ["toolchain"]
    search_fields = ["content_hash"]
    readonly_fields = ["content_hash"]


@admin.register(PlanDelta)
class PlanDeltaAdmin(ReadOnlyModelAdmin):
    list_display = ["problem_class", "sequence", "parent", "child", "promoted_at"]
    list_filter = ["problem_class"]
    search_fields = ["problem_class", "child__content_hash"]


@admin.register(EvaluationTask)
class EvaluationTaskAdmin(admin.ModelAdmin):
    list_display = ["id", "plan", "local_problem", "deployment", "state", "noise_multiplier", "lease_expires_at"]
    list_filter = ["state", "local_problem__problem_class"]
    search_fields = ["local_problem__handle", "deployment__label", "plan__content_hash"]
    readonly_fields = ["state", "leased_at", "lease_expires_at", "finished_at", "failure_reason"]


@admin.register(PerformanceSignal)
class PerformanceSignalAdmin(ReadOnlyModelAdmin):
    list_display = ["task", "value", "corpus_size", "mechanism", "ledger_index", "received_at"]
    list_filter = ["mechanism"]
    search_fields = ["task__local_problem__handle"]


@admin.register(SearchRound)
class SearchRoundAdmin(admin.ModelAdmin):
    list_display = ["id", "problem_class", "strategy", "seed", "state", "started_at", "finished_at"]
    list_filter = ["state", "strategy", "toolchain"]
    search_fields = ["problem_class", "stop_reason"]
    readonly_fields = ["state", "stop_reason", "result", "started_at", "finished_at"]


@admin.register(Attestation)
class AttestationAdmin(ReadOnlyModelAdmin):
    list_display = ["origin", "tree_size", "verdict", "code_version", "created_at"]
    list_filter = ["verdict"]
    search_fields = ["origin", "decisions_digest"]
