"""Admin building blocks shared by the apps.

Nothing in the admin writes a model directly: records are read-only (`ReadOnlyModelAdmin`), or their add
form is saved by the service that owns the write (`ServiceAddAdmin`), or an action or button calls a service
(`run_service`). A service's refusal is shown to the user, never raised as a server error.
"""

import json
import math
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from opm_site.errors import OpmError


def describe(exc: OpmError) -> str:
    """A service's refusal as one line for a person: the detail, the first violations, the error code."""
    details = exc.extra.get("errors")
    suffix = f" ({'; '.join(map(str, details[:5]))})" if details else ""
    return f"{exc.detail}{suffix} [{exc.code}]"


_INT64 = range(-(2**63), 2**63)


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Refuses integer keys beyond 64 bits as invalid choices before querying: SQLite raises OverflowError on
    them (a server error), where any other unknown key is a form error."""

    def _check_values(self, value):
        if isinstance(self.queryset.model._meta.pk, models.IntegerField | models.AutoField) and not self.to_field_name:
            for key in value:
                try:
                    out_of_range = int(key) not in _INT64
                except (TypeError, ValueError):
                    continue  # Django reports it as not a valid key
                if out_of_range:
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": key}
                    )
        return super()._check_values(value)


class KeyCheckedAutocompleteSelect(AutocompleteSelect):
    """Re-renders a refused form without querying for submitted keys that are not keys at all (Django's widget
    would raise on `x` or on an integer beyond 64 bits: a server error instead of the form's own message)."""

    def optgroups(self, name, value, attr=None):
        target = self.field.target_field
        kept = []
        for key in value:
            try:
                parsed = target.to_python(key)
            except ValidationError:
                continue
            if not isinstance(parsed, int) or parsed in _INT64:
                kept.append(key)
        return super().optgroups(name, kept, attr)


class BoundedKeysAdmin(admin.ModelAdmin):
    """Foreign-key and many-to-many fields whose malformed or out-of-range keys are form errors, never 500s."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("form_class", BoundedModelMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = KeyCheckedAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """For records nobody may edit through the site: ledger entries, checkpoints, charges, signals."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class _ServiceCreateForm:
    """Mixed into an admin add form: once the form and the model's own checks pass, the service creates the
    row (inside its own transaction, ledgering what it ledgers); its OpmError becomes a form error."""

    create_with_service: Callable[[dict[str, Any]], models.Model]

    def _post_clean(self) -> None:
        super()._post_clean()
        if self._errors:
            return
        try:
            self.instance = type(self).create_with_service(self.cleaned_data)
        except OpmError as exc:
            self.add_error(None, describe(exc))


class ServiceAddAdmin(BoundedKeysAdmin):
    """Rows are only added, and only by a service (`create`); nobody changes or deletes them here."""

    def create(self, request: HttpRequest, data: dict[str, Any]) -> models.Model:
        """Call the service that creates the row from the add form's cleaned data."""
        raise NotImplementedError

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        # No request-wide transaction around the form: the service opens its own (durable) one.
        return self._changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None or change:
            return form
        create = staticmethod(lambda data: self.create(request, data))
        return type(form.__name__, (_ServiceCreateForm, form), {"create_with_service": create})

    def save_form(self, request: HttpRequest, form, change: bool):
        return form.instance  # created by the service while the form validated

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        pass

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        pass


def run_service(modeladmin: admin.ModelAdmin, request: HttpRequest, call: Callable[[], object], success: str) -> bool:
    """Call a service from the admin and report its outcome with message_user (the admin stays thin)."""
    try:
        call()
    except OpmError as exc:
        modeladmin.message_user(request, describe(exc), level=messages.ERROR)
        return False
    modeladmin.message_user(request, success, level=messages.SUCCESS)
    return True


# --- readable pages: summaries on top, the raw record one click away ----------------------------------------


class SummaryAdmin(admin.ModelAdmin):
    """A change page that opens with a short summary (`summary_template`, given `summary_context`; it ends with
    the raw JSON in a collapsed <details>), the record's own fields in a collapsed fieldset below it."""

    change_form_template = "admin/opm/change_form.html"
    summary_template = ""

    def summary_context(self, request: HttpRequest, obj: models.Model) -> dict[str, Any]:
        """What the summary template shows about `obj` (reads only: selectors)."""
        return {}

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.summary_template:
            context = {**context, "summary_template": self.summary_template, **self.summary_context(request, obj)}
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


def record_fieldset(fields: list[str], name: str = "Record (every field as stored)") -> tuple:
    """The model's own fields in a fieldset that starts collapsed (a <details> block)."""
    return (name, {"fields": fields, "classes": ["collapse"]})


def raw_json(document: object) -> SafeString:
    """A JSON document as stored, indented, escaped."""
    return format_html('<pre class="opm-raw">{}</pre>', json.dumps(document, indent=2, sort_keys=True, default=str))


def short_hash(value: str | None, url: str | None = None, length: int = 12) -> SafeString:
    """A hash cut to `length` characters, the full value in its tooltip; a link when `url` is given."""
    if not value:
        return format_html("{}", "—")
    text = value if len(value) <= length else value[:length] + "…"
    if url:
        return format_html('<a href="{}" title="{}"><code>{}</code></a>', url, value, text)
    return format_html('<code title="{}">{}</code>', value, text)


def percent(value: float | None, std: float | None = None) -> str:
    """A fraction as a signed percentage: as many decimals as the noise `std` leaves meaningful (two significant
    digits of it), else three significant digits."""
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return "—"
    if std is not None and isinstance(std, int | float) and math.isfinite(std) and std > 0:
        decimals = max(0, 1 - math.floor(math.log10(std * 100)))
    elif value == 0:
        decimals = 1
    else:
        decimals = max(0, 2 - math.floor(math.log10(abs(value * 100))))
    return f"{value * 100:+.{min(decimals, 6)}f}%"
