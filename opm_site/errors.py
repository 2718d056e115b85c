"""The domain's one exception base: a stable error code (part of the API contract), an HTTP status, extras.

The API renders these as RFC 9457 problem details (opm_site.problems); commands turn them into
CommandError; the admin reports them with message_user.
"""

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable, documented error codes. Add codes; never rename one."""

    INVALID_RANGE = "invalid_range"
    INVALID_ENTRY = "invalid_entry"
    LEDGER_EMPTY = "ledger_empty"
    NOT_FOUND = "not_found"
    VALIDATION_FAILED = "validation_failed"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_AUTHENTICATED = "not_authenticated"
    PERMISSION_DENIED = "permission_denied"
    THROTTLED = "throttled"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_ACCEPTABLE = "not_acceptable"
    PARSE_ERROR = "parse_error"
    SERVER_ERROR = "server_error"
    SERVICE_UNAVAILABLE = "service_unavailable"
    # registry and governance
    INVALID_TRANSITION = "invalid_transition"
    INVALID_MANIFEST = "invalid_manifest"
    INVALID_CONTRACT = "invalid_contract"
    INVALID_MESSAGE = "invalid_message"
    INVALID_POLICY = "invalid_policy"
    INVALID_VERSION = "invalid_version"
    CONTRACT_NOT_APPROVED = "contract_not_approved"
    UNKNOWN_PASS = "unknown_pass"
    DEPENDENCY_CYCLE = "dependency_cycle"
    PLAN_VIOLATES_EDGE = "plan_violates_edge"
    CONFORMANCE_REQUIRED = "conformance_required"
    NO_GOVERNANCE_POLICY = "no_governance_policy"
    NOT_BOARD_MEMBER = "not_board_member"
    SELF_VOTE = "self_vote"
    DOUBLE_VOTE = "double_vote"
    PROPOSAL_CLOSED = "proposal_closed"
    DUPLICATE_PROPOSAL = "duplicate_proposal"
    # privacy budgets
    BUDGET_EXHAUSTED = "budget_exhausted"
    NO_PRIVACY_POLICY = "no_privacy_policy"
    TIGHTEN_NOT_ALLOWED = "tighten_not_allowed"
    INVALID_CHARGE = "invalid_charge"
    # the adapters' work loop
    INVALID_KEY = "invalid_key"
    RELEASE_NOT_ACTIVE = "release_not_active"
    DEPLOYMENT_REVOKED = "deployment_revoked"
    NOT_YOUR_TASK = "not_your_task"
    LEASE_EXPIRED = "lease_expired"
    TASK_NOT_LEASED = "task_not_leased"
    BAD_SIGNATURE = "bad_signature"
    SIGNAL_CONFLICT = "signal_conflict"
    INVALID_SIGNAL = "invalid_signal"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    DEPLOYMENT_EXISTS = "deployment_exists"
    # witnesses
    INVALID_COSIGNATURE = "invalid_cosignature"
    UNKNOWN_CHECKPOINT = "unknown_checkpoint"
    COSIGNATURE_CONFLICT = "cosignature_conflict"


class OpmError(Exception):
    """A failure the caller can act on, with its error code and HTTP status."""

    status: int = 400

    def __init__(self, code: ErrorCode, detail: str, *, status: int | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        if status is not None:
            self.status = status
        self.extra = extra
