"""Formatting and links shared by the public pages."""

import json

from django import template
from django.urls import reverse

register = template.Library()


@register.filter
def entry_url(index: int | None) -> str:
    """The public log's page for ledger entry `index` (the log section's `public:entry`)."""
    if index is None:
        return ""
    return reverse("public:entry", args=[int(index)])


@register.filter
def short_hash(value: str | None) -> str:
    return (value or "")[:12]


@register.filter
def percent(value: float | None, places: int = 3) -> str:
    """A fraction as a signed percentage with the demo's precision (+1.234%)."""
    if value is None:
        return "—"
    return f"{value:+.{int(places)}%}"


@register.filter
def percent_abs(value: float | None, places: int = 3) -> str:
    if value is None:
        return "—"
    return f"{value:.{int(places)}%}"


@register.filter
def epsilon(value: float | None) -> str:
    """Epsilon as the demo prints it (three decimals)."""
    return "—" if value is None else f"{value:.3f}"


@register.filter
def rho(nano: int | None) -> str:
    """Nano-rho as rho (nine decimals, exact)."""
    if nano is None:
        return "—"
    return f"{nano / 1_000_000_000:.9f}"


@register.filter
def get(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def num(value: float | None) -> str:
    """A float as Python's shortest general form (1e-06, 0.5), not the template's six-decimal rendering."""
    return "—" if value is None else f"{value:g}"


@register.filter
def setting(value) -> str:
    """A policy setting as its document writes it: JSON for objects and lists, the value itself otherwise."""
    if isinstance(value, dict | list | bool) or value is None:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)
