"""A real log for the public log pages' tests: entries appended by the ledger service, checkpoints signed by
`checkpoint_issue`, so every hash, proof and note the pages show is what production would show."""

from django.db import transaction

from governance.models import Checkpoint, LedgerEntry
from governance.services import checkpoint_issue, ledger_append

KINDS = ("test.alpha", "test.beta", "test.gamma")


def grow_log(entries: int, *, checkpoint_every: int = 1) -> None:
    """Append `entries` entries cycling through KINDS (nested payloads included) and sign a checkpoint after
    every `checkpoint_every` of them and at the end."""
    start = LedgerEntry.objects.count()
    for n in range(start, start + entries):
        with transaction.atomic():
            ledger_append(
                kind=KINDS[n % len(KINDS)],
                actor="ada" if n % 2 else "operator",
                subject=f"thing:{n}",
                payload={"n": n, "note": f"entry <{n}> & co", "detail": {"tags": ["x", n], "ok": n % 2 == 0}},
            )
        if (n + 1) % checkpoint_every == 0:
            checkpoint_issue()
    checkpoint_issue()


def checkpoint_count() -> int:
    return Checkpoint.objects.count()
