"""Orchestration writes (every write is a service), split by sub-domain."""

from .attestations import attestation_record
from .budgets import budget_open, budget_reserve, budget_tighten, budgets_apply_policy
from .deployments import (
    deployment_authenticate,
    deployment_enrol,
    deployment_key_rotate,
    deployment_revoke,
    participant_authenticate,
    participant_create,
    participant_key_issue,
    participant_set_active,
    principal_authenticate,
)
from .rounds import (
    plan_current,
    plan_row,
    portfolio_row,
    round_dispatch,
    round_finish,
    round_pool,
    round_shortlist,
    round_start,
)
from .witnesses import checkpoint_cosign
from .work import (
    local_problem_register,
    signal_submit,
    task_fail,
    task_heartbeat,
    tasks_expire,
    tasks_lease,
)

__all__ = [
    "attestation_record",
    "budget_open",
    "budget_reserve",
    "budget_tighten",
    "budgets_apply_policy",
    "checkpoint_cosign",
    "deployment_authenticate",
    "deployment_enrol",
    "deployment_key_rotate",
    "deployment_revoke",
    "participant_authenticate",
    "participant_create",
    "participant_set_active",
    "plan_current",
    "plan_row",
    "portfolio_row",
    "round_pool",
    "round_dispatch",
    "round_finish",
    "round_shortlist",
    "round_start",
    "participant_key_issue",
    "principal_authenticate",
    "local_problem_register",
    "signal_submit",
    "task_fail",
    "task_heartbeat",
    "tasks_expire",
    "tasks_lease",
]
