"""Orchestration writes (STYLE.md: every write is a service), split by sub-domain."""

from .budgets import budget_open, budget_reserve, budget_tighten, budgets_apply_policy

__all__ = ["budget_open", "budget_reserve", "budget_tighten", "budgets_apply_policy"]
