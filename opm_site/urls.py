"""Top-level routes: the board's admin; the public API joins under /api/v1/ in later work."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "OpenPassMarket governance"
admin.site.site_title = "OpenPassMarket"
admin.site.index_title = "Board workplace"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
