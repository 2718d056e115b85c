"""Registry admin: the board browses contracts, passes, releases and conformance runs.

Contract versions and pass dependencies are added through their services; nothing is changed or deleted
here (a release changes state only by a board decision)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.urls import reverse

from governance import selectors as governance_selectors
from governance import services as governance_services
from opm_site.admin import (
    BoundedModelMultipleChoiceField,
    ReadOnlyModelAdmin,
    ServiceAddAdmin,
    SummaryAdmin,
    raw_json,
    record_fieldset,
    run_service,
    short_hash,
)

from . import selectors, services
from .models import (
    AdapterRelease,
    ConformanceRun,
    Contract,
    ContractSupersession,
    PassDependency,
    PassSpec,
    VendorKey,
)


def _sandbox(run: ConformanceRun) -> str:
    report = run.report if isinstance(run.report, dict) else {}
    return str(report.get("sandbox", ""))


def release_summary_context(release: AdapterRelease, *, passes_open: bool) -> dict[str, Any]:
    """What `admin/registry/adapterrelease/manifest.html` shows: the manifest's facts, the offered passes in
    columns (open on the release's page, collapsed on a proposal), and the latest conformance run per contract."""
    manifest = release.manifest if isinstance(release.manifest, dict) else {}
    description = manifest.get("description")
    return {
        "release": release,
        "release_url": reverse("admin:registry_adapterrelease_change", args=[release.pk]),
        "digest": short_hash(release.artifact_digest, length=19),
        "contracts": list(release.contracts.order_by("name", "version")),
        "description": description if isinstance(description, str) else "",
        "passes": selectors.release_pass_names(release=release),
        "passes_open": passes_open,
        "raw_manifest": raw_json(release.manifest),
        "conformance": [
            {
                "run": run,
                "url": reverse("admin:registry_conformancerun_change", args=[run.pk]),
                "sandbox": _sandbox(run),
                "checks": selectors.conformance_checks(run=run),
            }
            for run in selectors.release_latest_conformance(release=release)
        ],
    }


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
class AdapterReleaseAdmin(SummaryAdmin):
    """A release's page is its manifest summarised (passes in columns, not one per line), its conformance checks
    and its proposals; the manifest as submitted is one click away."""

    list_display = ["name", "version", "vendor", "toolchain", "toolchain_version", "state", "submitted_at"]
    list_filter = ["state", "toolchain", "vendor"]
    search_fields = ["name", "version", "vendor", "artifact_digest"]
    record_fields = [
        "name",
        "version",
        "vendor",
        "toolchain",
        "toolchain_version",
        "artifact_digest",
        "state",
        "state_changed_at",
        "submitted_at",
    ]
    fieldsets = [record_fieldset(record_fields)]
    readonly_fields = record_fields
    summary_template = "admin/registry/adapterrelease/summary.html"
    actions = ["propose_approval", "propose_suspension", "propose_reinstatement", "propose_revocation"]

    def summary_context(self, request, obj):
        return {
            **release_summary_context(obj, passes_open=True),
            "proposals": list(governance_selectors.proposals_about(release=obj)),
        }

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
class ConformanceRunAdmin(SummaryAdmin, ReadOnlyModelAdmin):
    list_display = ["release", "contract", "verdict", "harness_version", "finished_at"]
    list_select_related = ["release", "contract"]
    list_filter = ["verdict", "contract__name"]
    search_fields = ["release__name", "contract__name"]
    record_fields = ["release", "contract", "verdict", "harness_version", "started_at", "finished_at"]
    fieldsets = [record_fieldset(record_fields)]
    readonly_fields = record_fields
    summary_template = "admin/registry/conformancerun/summary.html"

    def summary_context(self, request, obj):
        checks = selectors.conformance_checks(run=obj)
        return {
            "run": obj,
            "checks": checks,
            "passed": sum(1 for check in checks if check.passed),
            "sandbox": _sandbox(obj),
            "raw": raw_json(obj.report),
        }


@admin.register(VendorKey)
class VendorKeyAdmin(ReadOnlyModelAdmin):
    """Keys are issued by `manage.py vendors key`; the secret is never stored."""

    list_display = ["vendor", "prefix", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["vendor", "prefix"]
