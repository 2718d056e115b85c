"""Long orchestration work through Django's tasks framework (the immediate backend unless configured)."""

from django.tasks import task

from orchestration.models import RoundKind
from orchestration.orchestrator import RoundSettings, run_portfolio_round, run_round
from orchestration.public_corpus import public_corpus


@task
def orchestrate_round(problem_class: str, strategy: str, seed: int | None = None, kind: str = RoundKind.PLAN) -> dict:
    """One search round for a problem class, run by a task worker; returns its outcome for the caller."""
    run = run_portfolio_round if kind == RoundKind.PORTFOLIO else run_round
    outcome = run(RoundSettings(problem_class, strategy, public_corpus(problem_class), seed=seed))
    return {
        "round": outcome.round.pk,
        "state": outcome.round.state,
        "reason": outcome.round.stop_reason,
        "promoted_version": outcome.promoted_version,
    }
