from django.shortcuts import redirect
from django.urls import path, register_converter

from transparency import market_views, views

app_name = "public"


class ProblemClassConverter:
    """A problem class such as `llvm/text-bytes`: toolchain, a slash, objective (letters, digits, `._-`)."""

    regex = r"[A-Za-z0-9._-]+/[A-Za-z0-9._-]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ProblemClassConverter, "problem_class")

urlpatterns = [
    path("", views.home, name="home"),
    path("markets/", market_views.markets, name="markets"),
    path("markets/<problem_class:problem_class>/", market_views.market, name="market"),
    path("rounds/", market_views.rounds, name="rounds"),
    path("rounds/<int:pk>/", market_views.round_detail, name="round"),
    path("privacy/", market_views.privacy, name="privacy"),
    path("privacy/<slug:name>/", market_views.privacy_participant, name="privacy-participant"),
    path("governance/", market_views.governance, name="governance"),
    path("governance/proposals/<int:pk>/", market_views.proposal, name="proposal"),
    # Placeholder, replaced by the log section: its `entry` page. Until then the entry's range in the JSON API.
    path(
        "log/entries/<int:index>/",
        lambda request, index: redirect(f"/api/v1/ledger/entries?start={index}&end={index + 1}"),
        name="entry",
    ),
]
