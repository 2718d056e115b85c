"""The admin site with the board dashboard on its index page."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from governance import selectors as governance_selectors
from governance.services import is_board_member
from orchestration import selectors as orchestration_selectors
from registry import selectors as registry_selectors

DASHBOARD_ROUNDS = 10
DASHBOARD_BUDGETS = 10


class OpmAdminSite(admin.AdminSite):
    site_header = "OpenPassMarket governance"
    site_title = "OpenPassMarket"
    index_title = "Board workplace"

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """Reads only, in a fixed number of queries whatever the number of rounds or participants: proposals past
        their deadline are shown as such and closed by `manage.py proposals expire`."""
        rounds = orchestration_selectors.rounds_recent(limit=DASHBOARD_ROUNDS)
        context = {
            "is_board_member": is_board_member(request.user),
            "awaiting_vote": governance_selectors.proposals_awaiting_vote(user=request.user)[:20],
            "overdue": governance_selectors.proposals_overdue()[:20],
            "recently_decided": governance_selectors.proposals_recently_decided(limit=10),
            "releases_by_state": sorted(registry_selectors.release_counts_by_state().items()),
            "latest_checkpoint": governance_selectors.latest_checkpoint(),
            "ledger_size": governance_selectors.ledger_size(),
            "recent_rounds": [(r, orchestration_selectors.round_outcome(r)) for r in rounds],
            "budgets": orchestration_selectors.budgets_most_spent(limit=DASHBOARD_BUDGETS),
            **(extra_context or {}),
        }
        return super().index(request, extra_context=context)
