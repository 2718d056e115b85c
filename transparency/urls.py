from django.urls import path

from transparency import log_views, market_views, views

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
    path("log/", log_views.log, name="log"),
    path("log/checkpoints/", log_views.checkpoints, name="checkpoints"),
    path("log/entries/", log_views.entries, name="entries"),
    path("log/entries/<int:index>/", log_views.entry, name="entry"),
]
