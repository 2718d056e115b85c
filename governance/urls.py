from django.urls import path

from governance import api

app_name = "ledger"

urlpatterns = [
    path("checkpoint", api.CheckpointView.as_view(), name="checkpoint"),
    path("checkpoints", api.CheckpointsView.as_view(), name="checkpoints"),
    path("key", api.VerifierKeyView.as_view(), name="key"),
    path("entries", api.EntriesView.as_view(), name="entries"),
    path("proofs/inclusion", api.InclusionProofView.as_view(), name="inclusion-proof"),
    path("proofs/consistency", api.ConsistencyProofView.as_view(), name="consistency-proof"),
]
