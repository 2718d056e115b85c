"""Governance writes (every write is a service), split by sub-domain."""

from .board import BOARD_GROUP, board_governed, board_group_ensure, board_member_ensure, operator_ensure
from .ledger import LedgerRecord, checkpoint_issue, checkpoint_issue_if_due, ledger_append, ledger_append_many
from .policies import policy_activate, policy_bootstrap, policy_create
from .proposals import is_board_member, proposal_open, proposal_vote, proposals_expire, tally_of

__all__ = [
    "BOARD_GROUP",
    "LedgerRecord",
    "board_governed",
    "board_group_ensure",
    "board_member_ensure",
    "checkpoint_issue",
    "checkpoint_issue_if_due",
    "is_board_member",
    "ledger_append",
    "ledger_append_many",
    "operator_ensure",
    "policy_activate",
    "policy_bootstrap",
    "policy_create",
    "proposal_open",
    "proposal_vote",
    "proposals_expire",
    "tally_of",
]
