"""Database constraint builders shared by the apps' models."""

from django.db import models
from django.db.models import Q


def choices_check(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    """A database check that a text field holds one of its choices (the ORM alone does not enforce it)."""
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)
