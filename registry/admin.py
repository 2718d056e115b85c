"""Registry admin: the board browses contracts, passes, releases and conformance runs."""

from django.contrib import admin

from opm_site.admin import ReadOnlyModelAdmin

from .models import (
    AdapterRelease,
    ConformanceRun,
    Contract,
    ContractImplementation,
    ContractSupersession,
    PassDependency,
    PassOffer,
    PassSpec,
)


class ContractImplementationInline(admin.TabularInline):
    model = ContractImplementation
    extra = 0
    autocomplete_fields = ["contract"]


class PassOfferInline(admin.TabularInline):
    model = PassOffer
    extra = 0
    autocomplete_fields = ["pass_spec"]


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "status", "created_at", "approved_at"]
    list_filter = ["status", "name"]
    search_fields = ["name", "version", "description"]
    readonly_fields = ["status", "approved_at", "created_at"]


@admin.register(ContractSupersession)
class ContractSupersessionAdmin(admin.ModelAdmin):
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
class PassDependencyAdmin(admin.ModelAdmin):
    list_display = ["source", "kind", "target"]
    list_filter = ["kind", "source__toolchain"]
    search_fields = ["source__name", "target__name"]
    autocomplete_fields = ["source", "target"]


@admin.register(AdapterRelease)
class AdapterReleaseAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "vendor", "toolchain", "toolchain_version", "state", "submitted_at"]
    list_filter = ["state", "toolchain", "vendor"]
    search_fields = ["name", "version", "vendor", "artifact_digest"]
    readonly_fields = ["state", "state_changed_at", "submitted_at"]
    inlines = [ContractImplementationInline, PassOfferInline]


@admin.register(ConformanceRun)
class ConformanceRunAdmin(ReadOnlyModelAdmin):
    list_display = ["release", "contract", "verdict", "harness_version", "finished_at"]
    list_filter = ["verdict", "contract__name"]
    search_fields = ["release__name", "contract__name"]
