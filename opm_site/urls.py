"""Top-level routes: the board's admin, the API under /api/v1/, and the public transparency site at /."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from opm_site import docs
from opm_site.health import HealthView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/ledger/", include("governance.urls")),
    path("api/v1/ledger/", include("orchestration.witness_urls")),
    path("api/v1/", include("orchestration.urls")),
    path("api/v1/registry/", include("registry.urls")),
    path("api/v1/health", HealthView.as_view(), name="health"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/schema/swagger/", docs.swagger_ui, name="swagger-ui"),
    path("api/v1/schema/redoc/", docs.redoc, name="redoc"),
    path("", include("transparency.urls")),
]

handler404 = "opm_site.problems.not_found"
handler500 = "opm_site.problems.server_error"
