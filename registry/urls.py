from django.urls import path

from registry import api

app_name = "registry"

urlpatterns = [
    path("contracts", api.ContractsView.as_view(), name="contracts"),
    path("discovery", api.DiscoveryView.as_view(), name="discovery"),
    path("passes/<str:toolchain>", api.PassCatalogueView.as_view(), name="passes"),
    path("releases", api.ReleasesView.as_view(), name="releases"),
    path("releases/<int:pk>", api.ReleaseView.as_view(), name="release"),
]
