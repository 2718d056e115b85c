from django.shortcuts import redirect
from django.urls import path

from transparency import market_views, views

app_name = "public"


urlpatterns = [
    path("", views.home, name="home"),
    path("markets/", market_views.markets, name="markets"),
    # A problem class holds a slash (`llvm/text-bytes`): the path converter takes it whole.
    path("markets/<path:problem_class>/", market_views.market, name="market"),
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
