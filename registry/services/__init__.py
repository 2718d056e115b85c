"""Registry writes (every write is a service), split by sub-domain."""

from .catalogue import CatalogueSyncSummary, pass_catalogue_sync
from .conformance import conformance_missing, conformance_record
from .contracts import (
    contract_create,
    contract_mark_approved,
    contract_mark_withdrawn,
    contract_validate_message,
    parse_version,
)
from .edges import pass_dependency_add, plan_check_edges
from .releases import TRANSITIONS, release_submit, release_transition
from .vendors import vendor_authenticate, vendor_key_issue

__all__ = [
    "TRANSITIONS",
    "CatalogueSyncSummary",
    "conformance_missing",
    "conformance_record",
    "contract_create",
    "contract_mark_approved",
    "contract_mark_withdrawn",
    "contract_validate_message",
    "parse_version",
    "pass_catalogue_sync",
    "pass_dependency_add",
    "plan_check_edges",
    "release_submit",
    "release_transition",
    "vendor_authenticate",
    "vendor_key_issue",
]
