"""Governance admin: proposals, votes and policies; the ledger and checkpoints are read-only."""

from django.contrib import admin

from opm_site.admin import ReadOnlyModelAdmin

from .models import Checkpoint, LedgerEntry, Policy, Proposal, Vote


class VoteInline(admin.TabularInline):
    model = Vote
    extra = 0
    can_delete = False
    readonly_fields = ["voter", "choice", "comment", "cast_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "proposer", "opened_at", "deadline", "decided_at"]
    list_filter = ["status", "kind"]
    search_fields = ["rationale", "release__name", "contract__name", "proposer__username"]
    readonly_fields = ["status", "decided_at", "decision_reason", "governance_policy"]
    inlines = [VoteInline]


@admin.register(Vote)
class VoteAdmin(ReadOnlyModelAdmin):
    list_display = ["proposal", "voter", "choice", "cast_at"]
    list_filter = ["choice"]
    search_fields = ["voter__username", "comment"]


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["kind", "version", "status", "created_by", "created_at", "activated_at"]
    list_filter = ["kind", "status"]
    search_fields = ["kind"]
    readonly_fields = ["status", "activated_at", "created_at"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyModelAdmin):
    list_display = ["index", "kind", "actor", "subject", "time"]
    list_filter = ["kind"]
    search_fields = ["kind", "actor", "subject"]
    show_full_result_count = False


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyModelAdmin):
    list_display = ["origin", "size", "issued_at"]
    list_filter = ["origin"]
    search_fields = ["origin"]
