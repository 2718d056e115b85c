"""Governance admin: proposals, votes and policies; the ledger and checkpoints are read-only."""

import base64

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from opm_site.admin import ReadOnlyModelAdmin

from . import selectors
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
    fields = ["index", "time", "kind", "actor", "subject", "payload", "leaf_bytes", "leaf_hash_b64", "proof"]
    readonly_fields = fields

    @admin.display(description="leaf (RFC 8785 bytes)")
    def leaf_bytes(self, entry: LedgerEntry) -> str:
        return bytes(entry.leaf).decode("utf-8")

    @admin.display(description="leaf hash")
    def leaf_hash_b64(self, entry: LedgerEntry) -> str:
        return base64.b64encode(bytes(entry.leaf_hash)).decode()

    @admin.display(description="inclusion proof")
    def proof(self, entry: LedgerEntry) -> str:
        """Against the latest checkpoint that covers the entry, so anyone can check it with the public note."""
        checkpoint = selectors.checkpoints().filter(size__gt=entry.index).first()
        if checkpoint is None:
            return "not yet covered by a checkpoint (manage.py ledger checkpoint issues one)"
        _, size, hashes = selectors.inclusion_proof(index=entry.index, tree_size=checkpoint.size)
        lines = [base64.b64encode(h).decode() for h in hashes] or ["(empty: the tree has one leaf)"]
        return format_html(
            "in the checkpoint of size {}:<br><code>{}</code>",
            size,
            format_html_join("", "{}<br>", ((x,) for x in lines)),
        )


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyModelAdmin):
    list_display = ["origin", "size", "issued_at"]
    list_filter = ["origin"]
    search_fields = ["origin"]
