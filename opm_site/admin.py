"""Admin building blocks shared by the apps."""

from collections.abc import Callable

from django.contrib import admin, messages
from django.http import HttpRequest

from opm_site.errors import OpmError


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """For records nobody may edit through the site: ledger entries, checkpoints, charges, signals."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def run_service(modeladmin: admin.ModelAdmin, request: HttpRequest, call: Callable[[], object], success: str) -> bool:
    """Call a service from the admin and report its outcome with message_user (STYLE.md: admin stays thin)."""
    try:
        call()
    except OpmError as exc:
        details = exc.extra.get("errors")
        suffix = f" ({'; '.join(map(str, details[:5]))})" if details else ""
        modeladmin.message_user(request, f"{exc.detail}{suffix} [{exc.code}]", level=messages.ERROR)
        return False
    modeladmin.message_user(request, success, level=messages.SUCCESS)
    return True
