"""Board membership: the `board` group, its members and the operator account.

Membership is governed: once the first governance policy is active, people join or leave the board only by
an accepted membership proposal (governance.services.proposals). Before that, the operator seats the
founding members (the bootstrap). Every change of membership is ledgered.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AbstractUser, Group, Permission
from django.db import transaction

from governance import events
from governance.models import Policy, PolicyKind, Proposal
from governance.selectors import BOARD_GROUP
from opm_site.errors import ErrorCode, OpmError

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


def board_governed() -> bool:
    """True once a governance policy was ever active: from then on membership changes need a proposal."""
    return Policy.objects.filter(kind=PolicyKind.GOVERNANCE, activated_at__isnull=False).exists()


def board_member_ensure(
    *, username: str, password: str, email: str = "", actor: str = "operator"
) -> tuple[AbstractUser, bool]:
    """Create (or refresh) a board member's account: a staff user in the `board` group. Returns (user, created).

    Seating someone new is the bootstrap (ledgered as `board.member_added` without a proposal) and is refused
    once the board is governed; refreshing an existing member's password is always allowed.
    """
    with transaction.atomic(durable=True):
        group = board_group_ensure()
        user, created = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
        joining = not user.groups.filter(pk=group.pk).exists()
        if joining and board_governed():
            raise OpmError(
                ErrorCode.INVALID_TRANSITION,
                f"the board is governed: seating {username} needs an accepted add_board_member proposal",
            )
        user.is_staff = True
        user.is_active = True
        user.set_password(password)
        user.save()
        if joining:
            user.groups.add(group)
            events.record_board_member_added(member=user, proposal=None, actor=f"{actor} (bootstrap)")
    return user, created


def board_member_add(*, member: AbstractBaseUser, proposal: Proposal) -> None:
    """Seat a member as an accepted proposal decided, in the caller's transaction."""
    member.is_staff = True
    member.save(update_fields=["is_staff"])
    member.groups.add(board_group_ensure())
    events.record_board_member_added(member=member, proposal=proposal, actor=events.SYSTEM)


def board_member_remove(*, member: AbstractBaseUser, proposal: Proposal) -> None:
    """Unseat a member as an accepted proposal decided, in the caller's transaction (the account stays)."""
    member.groups.remove(Group.objects.get(name=BOARD_GROUP))
    events.record_board_member_removed(member=member, proposal=proposal)


def operator_ensure(*, username: str, password: str) -> tuple[AbstractUser, bool]:
    """Create (or refresh) the operator's superuser account. Returns (user, created)."""
    with transaction.atomic(durable=True):
        user, created = get_user_model().objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
    return user, created
