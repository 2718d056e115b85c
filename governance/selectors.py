"""Governance reads: the ledger's size, entries, roots, proofs and checkpoints (O(log n) reads each)."""

from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from adapters.ledger import merkle
from governance.ledger_store import read_nodes
from governance.models import Checkpoint, LedgerEntry, LedgerHead, Policy, PolicyStatus, Proposal, ProposalStatus
from opm_site.errors import ErrorCode, OpmError
from registry.models import AdapterRelease

MAX_ENTRIES_PER_PAGE = 1000
BOARD_GROUP = "board"


def _range_error(detail: str) -> OpmError:
    return OpmError(ErrorCode.INVALID_RANGE, detail, status=400)


def ledger_size() -> int:
    head = LedgerHead.objects.filter(pk=1).only("size").first()
    return head.size if head else 0


def ledger_root(size: int) -> bytes:
    """MTH of the first `size` entries, from stored subtree hashes."""
    return merkle.tree_hash(size, read_nodes)


def ledger_entries(*, start: int, end: int) -> QuerySet[LedgerEntry]:
    """Entries with start <= index < end; the range must lie in the log and hold at most a page."""
    size = ledger_size()
    if start < 0 or end < 0:
        raise _range_error("start and end must be non-negative")
    if start > end:
        raise _range_error(f"start ({start}) is greater than end ({end})")
    if end > size:
        raise _range_error(f"end ({end}) is beyond the log's size ({size})")
    if end - start > MAX_ENTRIES_PER_PAGE:
        raise _range_error(f"at most {MAX_ENTRIES_PER_PAGE} entries per request (asked for {end - start})")
    return LedgerEntry.objects.filter(index__gte=start, index__lt=end).order_by("index")


def ledger_entry_ids(*, indexes) -> dict[int, int]:
    """Entry ids by ledger index (pages link entries by id; records cite them by index)."""
    wanted = [i for i in indexes if isinstance(i, int)]
    return dict(LedgerEntry.objects.filter(index__in=wanted).values_list("index", "pk")) if wanted else {}


def inclusion_proof(*, index: int, tree_size: int | None = None) -> tuple[LedgerEntry, int, list[bytes]]:
    """(entry, tree size, RFC 9162 inclusion proof of entry `index` in the tree of that size)."""
    size = ledger_size()
    tree_size = size if tree_size is None else tree_size
    if tree_size < 1 or tree_size > size:
        raise _range_error(f"tree_size must be between 1 and the log's size ({size}), got {tree_size}")
    if not 0 <= index < tree_size:
        raise _range_error(f"index must be between 0 and tree_size - 1 ({tree_size - 1}), got {index}")
    entry = LedgerEntry.objects.get(index=index)
    return entry, tree_size, merkle.inclusion_proof(index, tree_size, read_nodes)


def consistency_proof(*, first: int, second: int) -> list[bytes]:
    """RFC 9162 consistency proof between the trees of sizes `first` and `second`."""
    size = ledger_size()
    if first < 1 or second < 1:
        raise _range_error("first and second must be at least 1")
    if first > second:
        raise _range_error(f"first ({first}) is greater than second ({second})")
    if second > size:
        raise _range_error(f"second ({second}) is beyond the log's size ({size})")
    return merkle.consistency_proof(first, second, read_nodes)


def checkpoints() -> QuerySet[Checkpoint]:
    """Every checkpoint this log ever issued, oldest first."""
    return Checkpoint.objects.filter(origin=settings.OPM_LOG_ORIGIN).order_by("size")


def latest_checkpoint() -> Checkpoint | None:
    return checkpoints().order_by("-size").first()


def checkpoint_of_size(*, size: int) -> Checkpoint:
    """The checkpoint this log issued at tree size `size`; 404 `unknown_checkpoint` when it issued none."""
    checkpoint = checkpoints().filter(size=size).first()
    if checkpoint is None:
        raise OpmError(ErrorCode.UNKNOWN_CHECKPOINT, f"the log issued no checkpoint of size {size}", status=404)
    return checkpoint


# --- The public site's log pages: keyset pages (never OFFSET) and the kind vocabulary ----------------------

ENTRY_LIST_COLUMNS = ("index", "time", "kind", "actor", "subject")
"""What a list row shows; payload and leaf bytes stay on the entry's own page."""

# A skip scan over the (kind, index) index: one index probe per distinct kind, whatever the number of entries.
_KINDS_SQL = """
WITH RECURSIVE kinds(kind) AS (
    SELECT (SELECT kind FROM governance_ledgerentry ORDER BY kind LIMIT 1)
    UNION ALL
    SELECT (SELECT e.kind FROM governance_ledgerentry e WHERE e.kind > kinds.kind ORDER BY e.kind LIMIT 1)
    FROM kinds WHERE kinds.kind IS NOT NULL
)
SELECT kind FROM kinds WHERE kind IS NOT NULL
"""


def ledger_kinds() -> list[str]:
    """Every kind the log holds, sorted, in one query whose cost grows with the number of kinds only.

    Read from the entries themselves rather than from the code's writers, so kinds added later (or appended
    by an older release) are searchable too, and nothing needs invalidating as the log grows.
    """
    with connection.cursor() as cursor:
        cursor.execute(_KINDS_SQL)
        return [row[0] for row in cursor.fetchall()]


@contextmanager
def _planned_for_this_kind(kind: str | None):
    """On PostgreSQL, plan a kind-filtered query for the kind asked, not a generic prepared plan.

    Our connections prepare repeated statements (server-side binding), and PostgreSQL soon switches a prepared
    statement to a generic plan, which guesses every kind is 1/(number of kinds) of the log: it then walks the
    index on `index` and filters, reading most of a million rows for a rare kind (benchmarks/public_log.py),
    where the (kind, index) index answers in a few probes.
    """
    if kind is None or connection.vendor != "postgresql":
        yield
        return
    # No savepoint: one statement more, not three. Inside a caller's transaction the setting lasts until it ends,
    # which only costs its later statements some planning time.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield


def ledger_entries_newest(*, kind: str | None = None, at_most: int | None = None, limit: int) -> list[LedgerEntry]:
    """Up to `limit` entries with index <= `at_most` (and of `kind`), newest first; a keyset page over the
    (kind, index) or index index, so a page deep in a large log costs what the first one does."""
    entries = LedgerEntry.objects.only(*ENTRY_LIST_COLUMNS)
    if kind is not None:
        entries = entries.filter(kind=kind)
    if at_most is not None:
        entries = entries.filter(index__lte=at_most)
    with _planned_for_this_kind(kind):
        return list(entries.order_by("-index")[:limit])


def ledger_entries_newer_top(*, kind: str | None = None, above: int, limit: int) -> int | None:
    """The top index of the page of `limit` entries just newer than `above` (None when there is none)."""
    entries = LedgerEntry.objects.filter(index__gt=above)
    if kind is not None:
        entries = entries.filter(kind=kind)
    with _planned_for_this_kind(kind):
        indexes = list(entries.order_by("index").values_list("index", flat=True)[:limit])
    return indexes[-1] if indexes else None


def ledger_entry(*, index: int) -> LedgerEntry | None:
    return LedgerEntry.objects.filter(index=index).first()


def checkpoints_newest(*, at_most: int | None = None, limit: int) -> list[Checkpoint]:
    """Up to `limit` checkpoints with size <= `at_most`, newest first (keyset over (origin, size))."""
    found = checkpoints()
    if at_most is not None:
        found = found.filter(size__lte=at_most)
    return list(found.order_by("-size")[:limit])


def checkpoints_newer_top(*, above: int, limit: int) -> int | None:
    """The size of the newest checkpoint of the page just newer than size `above` (None when there is none)."""
    sizes = list(checkpoints().filter(size__gt=above).order_by("size").values_list("size", flat=True)[:limit])
    return sizes[-1] if sizes else None


def policy_active(*, kind: str) -> Policy | None:
    return Policy.objects.filter(kind=kind, status=PolicyStatus.ACTIVE).first()


def policy_diff(*, policy: Policy, against: Policy | None = None) -> list[tuple[str, object, object]]:
    """(key, other value, this version's value) for every top-level key that differs from `against` (by default
    the active version of the kind; against nothing, every key is new)."""
    other = against if against is not None else policy_active(kind=policy.kind)
    old = other.document if other and other.pk != policy.pk and isinstance(other.document, dict) else {}
    new = policy.document if isinstance(policy.document, dict) else {}
    keys = sorted(set(old) | set(new))
    missing = "—"
    return [(k, old.get(k, missing), new.get(k, missing)) for k in keys if old.get(k) != new.get(k)]


def policy_previous(*, policy: Policy) -> Policy | None:
    """The version of the same kind just before this one (None for version 1)."""
    return Policy.objects.filter(kind=policy.kind, version__lt=policy.version).order_by("-version").first()


def proposals_about(*, release: AdapterRelease | None = None, policy: Policy | None = None) -> QuerySet[Proposal]:
    """The proposals on a release or a policy version, newest first."""
    target = {"release": release} if release is not None else {"policy": policy}
    return Proposal.objects.filter(**target).select_related("proposer").order_by("-opened_at", "-pk")


def board_members() -> QuerySet:
    """The board as it is now: active users in the `board` group."""
    return get_user_model().objects.filter(is_active=True, groups__name=BOARD_GROUP)


def proposals_awaiting_vote(*, user) -> QuerySet[Proposal]:
    """Open proposals, before their deadline, the user may still vote on (an elector, not the proposer, not
    voted yet)."""
    return (
        Proposal.objects.filter(status=ProposalStatus.OPEN, deadline__gt=timezone.now(), electorate__member=user)
        .exclude(proposer=user)
        .exclude(votes__voter=user)
        .select_related("proposer", "release", "contract", "policy", "member")
        .order_by("deadline")
    )


def proposals_recently_decided(*, limit: int = 10) -> QuerySet[Proposal]:
    return (
        Proposal.objects.exclude(status=ProposalStatus.OPEN)
        .select_related("proposer", "release", "contract", "policy", "member")
        .order_by("-decided_at")[:limit]
    )


def proposals_overdue() -> QuerySet[Proposal]:
    """Open proposals past their deadline: nobody can vote on them; `manage.py proposals expire` closes them."""
    return (
        Proposal.objects.filter(status=ProposalStatus.OPEN, deadline__lte=timezone.now())
        .select_related("proposer", "release", "contract", "policy", "member")
        .order_by("deadline")
    )


def proposal_electorate(*, proposal: Proposal) -> QuerySet:
    """The users entitled to vote on a proposal (the board when it opened), by username."""
    return get_user_model().objects.filter(pk__in=proposal.electorate.values("member_id")).order_by("username")
