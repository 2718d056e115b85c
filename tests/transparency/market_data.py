"""A small real market for the public pages' tests: an in-process federation that runs a plan round and a
portfolio round with real signals, charges and ledger entries, and a board that decided a proposal."""

from __future__ import annotations

from orchestration import orchestrator
from tests.orchestration.federation import ORCHESTRATION, Federation, activate

PORTFOLIO_POLICY = {**ORCHESTRATION, "pool_budget": 6, "pool_strategy": "random", "portfolio_size": 2}


def run_market(tmp_path, monkeypatch, *, members: int = 4, n: int = 300) -> tuple[Federation, list]:
    """A plan round, then (under an orchestration policy with portfolios) a portfolio round; their outcomes."""
    federation = Federation(tmp_path, members=members, n=n)
    monkeypatch.setattr(orchestrator, "_wait", federation.wait)
    outcomes = [orchestrator.run_round(federation.settings())]
    activate("orchestration", PORTFOLIO_POLICY)
    outcomes.append(orchestrator.run_portfolio_round(federation.settings(seed=3)))
    return federation, outcomes
