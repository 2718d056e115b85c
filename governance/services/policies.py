"""Versioned policies: validated on creation, immutable once proposed, exactly one active per kind."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from governance import events
from governance.models import Policy, PolicyKind, PolicyStatus, Proposal
from governance.policy_schemas import POLICY_SCHEMAS
from opm_site.errors import ErrorCode, OpmError
from registry.schemas import schema_errors


def policy_create(*, kind: str, document: dict[str, Any], created_by: AbstractBaseUser | None) -> Policy:
    """A new version of a kind's policy, status proposed (a change is always a new version)."""
    if kind not in PolicyKind.values:
        raise OpmError(ErrorCode.INVALID_POLICY, f"unknown policy kind {kind!r}")
    errors = schema_errors(POLICY_SCHEMAS[kind], document)
    if errors:
        raise OpmError(ErrorCode.INVALID_POLICY, f"the {kind} policy has {len(errors)} violations", errors=errors)
    with transaction.atomic():
        latest = Policy.objects.select_for_update().filter(kind=kind).aggregate(v=Max("version"))["v"] or 0
        return Policy.objects.create(
            kind=kind, version=latest + 1, document=document, status=PolicyStatus.PROPOSED, created_by=created_by
        )


def policy_activate(*, policy: Policy, proposal: Proposal | None, actor: str) -> Policy:
    """Switch the kind's active policy atomically (the partial unique constraint backs this up)."""
    with transaction.atomic():
        current = Policy.objects.select_for_update().filter(kind=policy.kind, status=PolicyStatus.ACTIVE).first()
        if current is not None:
            current.status = PolicyStatus.RETIRED
            current.save(update_fields=["status"])
        policy.status = PolicyStatus.ACTIVE
        policy.activated_at = timezone.now()
        policy.save(update_fields=["status", "activated_at"])
        events.record_policy_activated(policy=policy, retired=current, proposal=proposal, actor=actor)
        if policy.kind == PolicyKind.PRIVACY:
            from orchestration.services import budgets_apply_policy  # orchestration builds on governance

            budgets_apply_policy(policy=policy)
    return policy


def policy_bootstrap(*, document: dict[str, Any], operator: AbstractBaseUser) -> Policy:
    """The genesis governance policy: the one activation no quorum can precede, ledgered as such.

    Allowed only while no governance policy was ever active.
    """
    with transaction.atomic(durable=True):
        if Policy.objects.filter(kind=PolicyKind.GOVERNANCE, activated_at__isnull=False).exists():
            raise OpmError(
                ErrorCode.INVALID_TRANSITION, "a governance policy was already active: changes need a proposal"
            )
        policy = policy_create(kind=PolicyKind.GOVERNANCE, document=document, created_by=operator)
        return policy_activate(policy=policy, proposal=None, actor=events.actor_of(operator) + " (bootstrap)")


def policy_mark_rejected(*, policy: Policy) -> Policy:
    policy.status = PolicyStatus.REJECTED
    policy.save(update_fields=["status"])
    return policy
