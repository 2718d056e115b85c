"""Governance writes (STYLE.md: every write is a service), split by sub-domain."""

from .board import BOARD_GROUP, board_group_ensure, board_member_ensure, operator_ensure
from .ledger import LedgerRecord, checkpoint_issue, checkpoint_issue_if_due, ledger_append, ledger_append_many

__all__ = [
    "BOARD_GROUP",
    "LedgerRecord",
    "board_group_ensure",
    "board_member_ensure",
    "checkpoint_issue",
    "checkpoint_issue_if_due",
    "ledger_append",
    "ledger_append_many",
    "operator_ensure",
]
