"""Public pages: thin views over selectors; every page reads only and needs no login."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from governance import selectors as governance_selectors
from transparency.csp import public_page


@public_page
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "transparency/home.html",
        {"checkpoint": governance_selectors.latest_checkpoint(), "ledger_size": governance_selectors.ledger_size()},
    )
