from django.urls import path

from transparency import log_views, views

app_name = "public"

urlpatterns = [
    path("", views.home, name="home"),
    path("log/", log_views.log, name="log"),
    path("log/checkpoints/", log_views.checkpoints, name="checkpoints"),
    path("log/entries/", log_views.entries, name="entries"),
    path("log/entries/<int:index>/", log_views.entry, name="entry"),
]
