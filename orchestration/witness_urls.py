"""Witness routes, mounted under /api/v1/ledger/ beside the ledger's own (governance.urls)."""

from django.urls import path

from orchestration import witness_api

app_name = "witness"

urlpatterns = [
    path("checkpoint/cosigned", witness_api.CosignedCheckpointView.as_view(), name="cosigned-checkpoint"),
    path("cosignatures", witness_api.CosignaturesView.as_view(), name="cosignatures"),
    path("witness", witness_api.WitnessView.as_view(), name="witness"),
    path("witnesses", witness_api.WitnessesView.as_view(), name="witnesses"),
]
