"""Background work through Django's tasks framework (the immediate backend unless configured)."""

from django.tasks import task

from governance.services.ledger import checkpoint_issue_if_due


@task
def checkpoint_if_due() -> int | None:
    """Issue a checkpoint after appends, at most one per OPM_CHECKPOINT_INTERVAL seconds."""
    checkpoint = checkpoint_issue_if_due()
    return checkpoint.size if checkpoint else None
