"""Governance admin: the board's proposals, votes and policies; the ledger and checkpoints are read-only.

Proposals and votes are made by buttons and actions that call the services; policies are added through
`policy_create`; board membership (the `board` group) changes only by an accepted membership proposal, so the
user and group pages cannot change it.
"""

import base64
import json
import re

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from opm_site.admin import (
    BoundedKeysAdmin,
    ReadOnlyModelAdmin,
    ServiceAddAdmin,
    SummaryAdmin,
    describe,
    raw_json,
    record_fieldset,
    run_service,
)
from opm_site.errors import OpmError
from registry.admin import release_summary_context

from . import selectors, services
from .models import Checkpoint, LedgerEntry, Policy, Proposal, ProposalKind, Vote


class VoteInline(admin.TabularInline):
    model = Vote
    extra = 0
    can_delete = False
    readonly_fields = ["voter", "choice", "comment", "cast_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _diff_rows(policy: Policy, against: Policy | None) -> list[tuple[str, str, str]]:
    return [(k, _json(a), _json(b)) for k, a, b in selectors.policy_diff(policy=policy, against=against)]


def _rules(proposal: Proposal) -> str:
    """The governance policy's quorum and threshold, in words (a document it cannot read is said so)."""
    policy = proposal.governance_policy
    doc = policy.document if policy and isinstance(policy.document, dict) else {}
    threshold = doc.get("threshold")
    if not doc or not isinstance(threshold, dict):
        return "no governance policy recorded" if policy is None else f"governance policy v{policy.version}"
    return (
        f"quorum {doc.get('quorum')} votes, at least {threshold.get('numerator')}/{threshold.get('denominator')} yes "
        f"(governance policy v{policy.version})"
    )


@admin.register(Proposal)
class ProposalAdmin(SummaryAdmin):
    """Proposals are opened by actions on releases, contracts and policies; votes are buttons at the top of the
    page, above a summary of what is decided (a release's manifest and conformance, a policy's diff, a member)."""

    list_display = ["id", "kind", "target", "status", "proposer", "deadline", "decided_at"]
    list_select_related = ["proposer", "release", "contract", "policy", "member"]
    list_filter = ["status", "kind"]
    search_fields = ["rationale", "release__name", "contract__name", "proposer__username"]
    record_fields = [
        "kind",
        "status",
        "proposer",
        "rationale",
        "opened_at",
        "deadline",
        "decided_at",
        "decision_reason",
    ]
    fieldsets = [record_fieldset(record_fields)]
    readonly_fields = record_fields
    inlines = [VoteInline]
    change_form_template = "admin/governance/proposal/change_form.html"
    change_list_template = "admin/governance/proposal/change_list.html"
    summary_template = "admin/governance/proposal/summary.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # decided by votes (the buttons at the top), never edited

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="target")
    def target(self, proposal: Proposal) -> str:
        return str(proposal.target)

    def summary_context(self, request, obj):
        tally = services.tally_of(obj)
        electorate = [user.get_username() for user in selectors.proposal_electorate(proposal=obj)]
        context: dict = {
            "proposal": obj,
            "tally": tally,
            "rules": _rules(obj),
            "electorate": electorate,
            "overdue": obj.status == "open" and obj.deadline <= timezone.now(),
        }
        if obj.release_id:
            context |= release_summary_context(obj.release, passes_open=False)
        elif obj.policy_id:
            context |= policy_context(obj.policy)
        elif obj.member_id:
            context["member_seated"] = selectors.board_members().filter(pk=obj.member_id).exists()
        elif obj.contract_id:
            schemas = obj.contract.message_schemas if isinstance(obj.contract.message_schemas, dict) else {}
            context["messages"] = sorted(schemas)
            context["raw_schemas"] = raw_json(obj.contract.message_schemas)
        return context

    def get_urls(self):
        vote = self.admin_site.admin_view(require_POST(self.vote_view))
        membership = self.admin_site.admin_view(self.membership_view)
        return [
            path("<int:pk>/vote/", vote, name="governance_proposal_vote"),
            path("membership/", membership, name="governance_proposal_membership"),
            *super().get_urls(),
        ]

    def membership_view(self, request: HttpRequest) -> HttpResponse:
        """Open a proposal to add a person to the board or remove one; the board decides it by vote."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = MembershipProposalForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                proposal = services.proposal_open(
                    kind=form.cleaned_data["kind"],
                    proposer=request.user,
                    member=form.cleaned_data["member"],
                    rationale=form.cleaned_data["rationale"],
                )
            except OpmError as exc:
                form.add_error(None, describe(exc))
            else:
                self.message_user(request, f"Opened {proposal}; the board decides it by vote.")
                return HttpResponseRedirect(reverse("admin:governance_proposal_change", args=[proposal.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Propose a board membership change",
            "form": form,
            "members": selectors.board_members().order_by("username"),
        }
        return TemplateResponse(request, "admin/governance/proposal/membership.html", context)

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
            and proposal.deadline > timezone.now()
            and proposal.electorate.filter(member=request.user).exists()
            and proposal.proposer_id != request.user.pk
            and not proposal.votes.filter(voter=request.user).exists()
        )
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "can_vote": can_vote})


class MembershipProposalForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(k.value, k.label) for k in (ProposalKind.ADD_BOARD_MEMBER, ProposalKind.REMOVE_BOARD_MEMBER)],
        label="Proposal",
    )
    member = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        label="Person",
        help_text="An existing account (the operator creates accounts; the board decides who sits on it).",
    )
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), required=False)


def policy_context(policy: Policy) -> dict:
    """What `admin/governance/policy/settings.html` shows: the settings, the changes from the previous version
    and, for a version not yet active, from the active one (what activating it would change)."""
    previous = selectors.policy_previous(policy=policy)
    active = selectors.policy_active(kind=policy.kind)
    if active is not None and active.pk in (policy.pk, previous and previous.pk):
        active = None  # this version, or the previous one: already shown
    document = policy.document if isinstance(policy.document, dict) else {}
    return {
        "policy": policy,
        "settings": [(key, _json(value)) for key, value in sorted(document.items())],
        "previous": previous,
        "previous_diff": _diff_rows(policy, previous) if previous else [],
        "active": active,
        "active_diff": _diff_rows(policy, active) if active else [],
    }


@admin.register(Vote)
class VoteAdmin(ReadOnlyModelAdmin):
    list_display = ["proposal", "voter", "choice", "cast_at"]
    list_select_related = ["proposal__release", "proposal__contract", "proposal__policy", "proposal__member", "voter"]
    list_filter = ["choice"]
    search_fields = ["voter__username", "comment"]


@admin.register(Policy)
class PolicyAdmin(SummaryAdmin, ServiceAddAdmin):
    """New versions are added here through `policy_create` (validated by their kind's schema; a violation is a
    form error); versions are immutable and activation needs a board decision."""

    list_display = ["kind", "version", "status", "created_by", "created_at", "activated_at"]
    list_select_related = ["created_by"]
    list_filter = ["kind", "status"]
    search_fields = ["kind"]
    actions = ["propose_activation"]
    summary_template = "admin/governance/policy/summary.html"
    record_fields = ["kind", "version", "status", "created_by", "created_at", "activated_at"]

    def get_fields(self, request, obj=None):
        return ["kind", "document"] if obj is None else self.record_fields

    def get_fieldsets(self, request, obj=None):
        return (
            [(None, {"fields": self.get_fields(request, obj)})]
            if obj is None
            else [record_fieldset(self.record_fields)]
        )

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.record_fields

    def summary_context(self, request, obj):
        return {
            **policy_context(obj),
            "proposals": list(selectors.proposals_about(policy=obj)),
            "raw": raw_json(obj.document),
        }

    def create(self, request, data):
        return services.policy_create(kind=data["kind"], document=data["document"], created_by=request.user)

    @admin.action(description="Propose activating the selected policy version")
    def propose_activation(self, request, queryset):
        for policy in queryset:
            run_service(
                self,
                request,
                lambda p=policy: services.proposal_open(kind="activate_policy", proposer=request.user, policy=p),
                f"Proposed activating {policy}.",
            )


_LONG_HEX = re.compile(r"[0-9a-f]{20,}")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyModelAdmin):
    list_display = ["index", "kind", "actor", "short_subject", "time"]
    list_filter = ["kind"]
    search_fields = ["kind", "actor", "subject"]
    show_full_result_count = False
    fields = ["index", "time", "kind", "actor", "subject", "payload", "leaf_bytes", "leaf_hash_b64", "proof"]
    readonly_fields = fields

    @admin.display(description="subject", ordering="subject")
    def short_subject(self, entry: LedgerEntry) -> str:
        """Subjects that name a content hash (`plan:<64 hex>`) show its first 12 digits, the whole in a tooltip."""
        if not _LONG_HEX.search(entry.subject):
            return entry.subject
        return format_html(
            '<span title="{}">{}</span>', entry.subject, _LONG_HEX.sub(lambda m: m.group(0)[:12] + "…", entry.subject)
        )

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


# --- accounts: the `board` group's membership is governed ------------------------------------------------

_GOVERNED = "Board membership changes only by an accepted membership proposal (Proposals: propose a membership change)."


class GovernedUserChangeForm(UserChangeForm):
    """The operator manages accounts, not who sits on the board."""

    def clean_groups(self):
        groups = self.cleaned_data.get("groups")
        was = self.instance.pk is not None and self.instance.groups.filter(name=services.BOARD_GROUP).exists()
        now = groups is not None and groups.filter(name=services.BOARD_GROUP).exists()
        if was != now:
            raise ValidationError(_GOVERNED)
        return groups


User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class GovernedUserAdmin(BoundedKeysAdmin, UserAdmin):
    form = GovernedUserChangeForm

    def has_delete_permission(self, request, obj=None) -> bool:
        """A board member's account stays: their seat, votes and proposals are on the record."""
        if obj is not None and obj.groups.filter(name=services.BOARD_GROUP).exists():
            return False
        return super().has_delete_permission(request, obj)


class GovernedGroupForm(forms.ModelForm):
    class Meta:
        model = Group
        fields = ["name", "permissions"]

    def clean_name(self):
        name = self.cleaned_data["name"]
        if name == services.BOARD_GROUP and self.instance.name != services.BOARD_GROUP:
            raise ValidationError(_GOVERNED)
        return name


@admin.register(Group)
class GovernedGroupAdmin(BoundedKeysAdmin, GroupAdmin):
    """The `board` group's rights are set by `board_group_ensure` and its members by proposals."""

    form = GovernedGroupForm

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.name == services.BOARD_GROUP:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.name == services.BOARD_GROUP:
            return False
        return super().has_delete_permission(request, obj)
