"""Orchestration writes (STYLE.md: every write is a service), split by sub-domain."""

from .budgets import budget_open, budget_reserve, budget_tighten, budgets_apply_policy
from .work import (
    deployment_authenticate,
    deployment_enrol,
    local_problem_register,
    signal_submit,
    task_fail,
    task_heartbeat,
    tasks_expire,
    tasks_lease,
)

__all__ = [
    "budget_open",
    "budget_reserve",
    "budget_tighten",
    "budgets_apply_policy",
    "deployment_authenticate",
    "deployment_enrol",
    "local_problem_register",
    "signal_submit",
    "task_fail",
    "task_heartbeat",
    "tasks_expire",
    "tasks_lease",
]
