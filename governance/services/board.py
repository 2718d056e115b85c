"""Board membership: the `board` group, its members and the operator account."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group, Permission
from django.db import transaction

BOARD_GROUP = "board"

# The board reads everything in the three apps and will act on proposals, votes and policies.
_BOARD_APPS = ("registry", "governance", "orchestration")
_BOARD_WRITES = {("governance", "add_proposal"), ("governance", "add_vote"), ("governance", "add_policy")}


def board_group_ensure() -> Group:
    """The `board` group with view rights on every marketplace model (idempotent)."""
    with transaction.atomic():
        group, _ = Group.objects.get_or_create(name=BOARD_GROUP)
        perms = Permission.objects.filter(content_type__app_label__in=_BOARD_APPS).select_related("content_type")
        wanted = [
            p
            for p in perms
            if p.codename.startswith("view_") or (p.content_type.app_label, p.codename) in _BOARD_WRITES
        ]
        group.permissions.set(wanted)
    return group


def board_member_ensure(*, username: str, password: str, email: str = "") -> tuple[AbstractUser, bool]:
    """Create (or refresh) a board member: a staff user in the `board` group. Returns (user, created)."""
    with transaction.atomic(durable=True):
        group = board_group_ensure()
        user, created = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
        user.is_staff = True
        user.is_active = True
        user.set_password(password)
        user.save()
        user.groups.add(group)
    return user, created


def operator_ensure(*, username: str, password: str) -> tuple[AbstractUser, bool]:
    """Create (or refresh) the operator's superuser account. Returns (user, created)."""
    with transaction.atomic(durable=True):
        user, created = get_user_model().objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
    return user, created
