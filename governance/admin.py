"""Governance admin: the board's proposals, votes and policies; the ledger and checkpoints are read-only."""

import base64
import json

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from opm_site.admin import ReadOnlyModelAdmin, run_service
from registry import selectors as registry_selectors

from . import selectors, services
from .models import Checkpoint, LedgerEntry, Policy, Proposal, Vote


class VoteInline(admin.TabularInline):
    model = Vote
    extra = 0
    can_delete = False
    readonly_fields = ["voter", "choice", "comment", "cast_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def _pre(document) -> str:
    return format_html("<pre style='white-space: pre-wrap'>{}</pre>", json.dumps(document, indent=2, sort_keys=True))


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    """Proposals are opened by actions on releases, contracts and policies; votes are buttons on this page."""

    list_display = ["id", "kind", "target", "status", "proposer", "opened_at", "deadline", "decided_at"]
    list_filter = ["status", "kind"]
    search_fields = ["rationale", "release__name", "contract__name", "proposer__username"]
    fields = [
        "kind",
        "target",
        "status",
        "proposer",
        "rationale",
        "opened_at",
        "deadline",
        "decided_at",
        "decision_reason",
        "tally",
        "rules",
        "evidence",
    ]
    readonly_fields = fields
    inlines = [VoteInline]
    change_form_template = "admin/governance/proposal/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="target")
    def target(self, proposal: Proposal) -> str:
        return str(proposal.release or proposal.contract or proposal.policy)

    @admin.display(description="votes so far")
    def tally(self, proposal: Proposal) -> str:
        t = services.tally_of(proposal)
        return f"{t.yes} yes, {t.no} no, {t.abstain} abstain"

    @admin.display(description="rules")
    def rules(self, proposal: Proposal) -> str:
        doc = proposal.governance_policy.document if proposal.governance_policy else {}
        if not doc:
            return "-"
        threshold = doc["threshold"]
        return (
            f"quorum {doc['quorum']} votes, at least {threshold['numerator']}/{threshold['denominator']} yes "
            f"(governance policy v{proposal.governance_policy.version})"
        )

    @admin.display(description="evidence")
    def evidence(self, proposal: Proposal) -> str:
        """What the board decides on: the manifest and conformance report, or the policy's diff, or the schemas."""
        if proposal.release:
            runs = registry_selectors.release_latest_conformance(release=proposal.release)
            reports = format_html_join(
                "", "<h4>Conformance vs {}: {}</h4>{}", ((r.contract, r.verdict, _pre(r.report)) for r in runs)
            )
            return format_html(
                "<h4>Manifest</h4>{}{}", _pre(proposal.release.manifest), reports or "no conformance run"
            )
        if proposal.policy:
            return policy_diff_html(proposal.policy)
        return format_html("<h4>Message schemas</h4>{}", _pre(proposal.contract.message_schemas))

    def get_urls(self):
        vote = self.admin_site.admin_view(require_POST(self.vote_view))
        return [path("<int:pk>/vote/", vote, name="governance_proposal_vote"), *super().get_urls()]

    def vote_view(self, request: HttpRequest, pk: int) -> HttpResponseRedirect:
        proposal = get_object_or_404(Proposal, pk=pk)
        choice = request.POST.get("choice", "")
        run_service(
            self,
            request,
            lambda: services.proposal_vote(
                proposal=proposal, voter=request.user, choice=choice, comment=request.POST.get("comment", "")
            ),
            f"Your {choice} vote on #{proposal.pk} is recorded in the ledger.",
        )
        return HttpResponseRedirect(reverse("admin:governance_proposal_change", args=[pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        proposal = self.get_object(request, object_id)
        can_vote = (
            proposal is not None
            and proposal.status == "open"
            and services.is_board_member(request.user)
            and proposal.proposer_id != request.user.pk
            and not proposal.votes.filter(voter=request.user).exists()
        )
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "can_vote": can_vote})


def policy_diff_html(policy: Policy) -> str:
    rows = selectors.policy_diff(policy=policy)
    if not rows:
        return "identical to the active version"
    body = format_html_join(
        "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", ((k, json.dumps(a), json.dumps(b)) for k, a, b in rows)
    )
    return format_html("<table><tr><th>setting</th><th>active</th><th>this version</th></tr>{}</table>", body)


@admin.register(Vote)
class VoteAdmin(ReadOnlyModelAdmin):
    list_display = ["proposal", "voter", "choice", "cast_at"]
    list_filter = ["choice"]
    search_fields = ["voter__username", "comment"]


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    """New versions are added here (validated by their kind's schema); activation needs a board decision."""

    list_display = ["kind", "version", "status", "created_by", "created_at", "activated_at"]
    list_filter = ["kind", "status"]
    search_fields = ["kind"]
    actions = ["propose_activation"]

    def get_fields(self, request, obj=None):
        return ["kind", "document"] if obj is None else ["kind", "version", "status", "document_pretty", "diff"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["kind", "version", "status", "document_pretty", "diff"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="document")
    def document_pretty(self, policy: Policy) -> str:
        return _pre(policy.document)

    @admin.display(description="diff against the active version")
    def diff(self, policy: Policy) -> str:
        return policy_diff_html(policy)

    def save_model(self, request, obj, form, change):
        if change:
            return  # immutable once proposed: a change is a new version
        created = services.policy_create(kind=obj.kind, document=obj.document, created_by=request.user)
        obj.pk, obj.version, obj.status = created.pk, created.version, created.status

    def save_form(self, request, form, change):
        return form.save(commit=False)

    @admin.action(description="Propose activating the selected policy version")
    def propose_activation(self, request, queryset):
        for policy in queryset:
            run_service(
                self,
                request,
                lambda p=policy: services.proposal_open(kind="activate_policy", proposer=request.user, policy=p),
                f"Proposed activating {policy}.",
            )


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
        checkpoint = selectors.checkpoints().filter(size__gt=entry.index).order_by("-size").first()
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
