from django.urls import path

from registry import api

app_name = "registry"

urlpatterns = [
    path("contracts", api.ContractsView.as_view(), name="contracts"),
    path("discovery", api.DiscoveryView.as_view(), name="discovery"),
    path("passes/<str:toolchain>", api.PassCatalogueView.as_view(), name="passes"),
]
