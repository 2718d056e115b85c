"""Registry admin: the board browses contracts, passes, releases and conformance runs.

Contract versions and pass dependencies are added through their services; nothing is changed or deleted
here (a release changes state only by a board decision)."""

from django import forms
from django.contrib import admin

from governance import services as governance_services
from opm_site.admin import BoundedModelMultipleChoiceField, ReadOnlyModelAdmin, ServiceAddAdmin, run_service

from . import services
from .models import (
    AdapterRelease,
    ConformanceRun,
    Contract,
    ContractImplementation,
    ContractSupersession,
    PassDependency,
    PassOffer,
    PassSpec,
    VendorKey,
)


class ManifestEdgeInline(admin.TabularInline):
    """Edges come from the submitted manifest and never change."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ContractImplementationInline(ManifestEdgeInline):
    model = ContractImplementation


class PassOfferInline(ManifestEdgeInline):
    model = PassOffer


def _propose(modeladmin, request, queryset, kind: str, field: str) -> None:
    """Open one proposal per selected object; each refusal is reported with its error code."""
    for obj in queryset:
        run_service(
            modeladmin,
            request,
            lambda o=obj: governance_services.proposal_open(kind=kind, proposer=request.user, **{field: o}),
            f"Opened a proposal to {kind.replace('_', ' ')}: {obj}.",
        )


class ContractAddForm(forms.ModelForm):
    supersedes_versions = BoundedModelMultipleChoiceField(
        queryset=Contract.objects.all(),
        required=False,
        label="Supersedes",
        help_text="Older versions of the same contract this version replaces.",
    )

    class Meta:
        model = Contract
        fields = ["name", "version", "description", "message_schemas"]


@admin.register(Contract)
class ContractAdmin(ServiceAddAdmin):
    """Versions are immutable: added through `contract_create` (status proposed), approved by a proposal."""

    list_display = ["name", "version", "status", "created_at", "approved_at"]
    list_filter = ["status", "name"]
    search_fields = ["name", "version", "description"]
    readonly_fields = ["status", "approved_at", "created_at"]
    actions = ["propose_approval"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None and not change:
            kwargs["form"] = ContractAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "version", "description", "message_schemas", "supersedes_versions"]
        return ["name", "version", "description", "message_schemas", *self.readonly_fields]

    def create(self, request, data):
        return services.contract_create(
            name=data["name"],
            version=data["version"],
            message_schemas=data["message_schemas"],
            description=data["description"],
            supersedes=list(data["supersedes_versions"]),
        )

    @admin.action(description="Propose approving the selected contract versions")
    def propose_approval(self, request, queryset):
        _propose(self, request, queryset, "approve_contract", "contract")


@admin.register(ContractSupersession)
class ContractSupersessionAdmin(ReadOnlyModelAdmin):
    """Recorded with the newer version by `contract_create`."""

    list_display = ["newer", "older", "created_at"]
    search_fields = ["newer__name", "older__name"]
    list_filter = ["newer__name"]


@admin.register(PassSpec)
class PassSpecAdmin(ReadOnlyModelAdmin):
    """Filled from the toolchains' own registries by `manage.py passes sync`, never by hand."""

    list_display = ["name", "toolchain", "kind", "parameter_syntax", "available", "toolchain_version"]
    list_filter = ["toolchain", "kind", "available"]
    search_fields = ["name", "description"]


@admin.register(PassDependency)
class PassDependencyAdmin(ServiceAddAdmin):
    """Added through `pass_dependency_add`, which refuses an edge that would close a requires-before cycle."""

    list_display = ["source", "kind", "target"]
    list_filter = ["kind", "source__toolchain"]
    search_fields = ["source__name", "target__name"]
    autocomplete_fields = ["source", "target"]

    def create(self, request, data):
        return services.pass_dependency_add(
            source=data["source"], target=data["target"], kind=data["kind"], rationale=data["rationale"]
        )


@admin.register(AdapterRelease)
class AdapterReleaseAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "vendor", "toolchain", "toolchain_version", "state", "submitted_at"]
    list_filter = ["state", "toolchain", "vendor"]
    search_fields = ["name", "version", "vendor", "artifact_digest"]
    readonly_fields = [
        "name",
        "version",
        "vendor",
        "toolchain",
        "toolchain_version",
        "manifest",
        "artifact_digest",
        "state",
        "state_changed_at",
        "submitted_at",
    ]
    inlines = [ContractImplementationInline, PassOfferInline]
    actions = ["propose_approval", "propose_suspension", "propose_reinstatement", "propose_revocation"]

    def has_add_permission(self, request) -> bool:
        return False  # vendors submit releases with a manifest through the API (release_submit)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # immutable; its state changes only by a board decision (ledgered)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Propose approving the selected releases")
    def propose_approval(self, request, queryset):
        _propose(self, request, queryset, "approve_release", "release")

    @admin.action(description="Propose suspending the selected releases")
    def propose_suspension(self, request, queryset):
        _propose(self, request, queryset, "suspend_release", "release")

    @admin.action(description="Propose reinstating the selected releases")
    def propose_reinstatement(self, request, queryset):
        _propose(self, request, queryset, "reinstate_release", "release")

    @admin.action(description="Propose revoking the selected releases")
    def propose_revocation(self, request, queryset):
        _propose(self, request, queryset, "revoke_release", "release")


@admin.register(ConformanceRun)
class ConformanceRunAdmin(ReadOnlyModelAdmin):
    list_display = ["release", "contract", "verdict", "harness_version", "finished_at"]
    list_filter = ["verdict", "contract__name"]
    search_fields = ["release__name", "contract__name"]


@admin.register(VendorKey)
class VendorKeyAdmin(ReadOnlyModelAdmin):
    """Keys are issued by `manage.py vendors key`; the secret is never stored."""

    list_display = ["vendor", "prefix", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["vendor", "prefix"]
