"""Every marketplace model is visible in the admin; ledger, charges and signals are read-only there."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django.utils.html import escape

from tests.governance import factories as gf
from tests.orchestration import factories as of
from tests.registry import factories as rf

pytestmark = pytest.mark.django_db

FACTORIES = {
    "auth.User": gf.UserFactory,
    "auth.Group": gf.GroupFactory,
    "registry.Contract": rf.ContractFactory,
    "registry.ContractSupersession": rf.ContractSupersessionFactory,
    "registry.PassSpec": rf.PassSpecFactory,
    "registry.PassDependency": rf.PassDependencyFactory,
    "registry.AdapterRelease": rf.AdapterReleaseFactory,
    "registry.ConformanceRun": rf.ConformanceRunFactory,
    "registry.VendorKey": rf.VendorKeyFactory,
    "governance.Policy": gf.PolicyFactory,
    "governance.Proposal": gf.ProposalFactory,
    "governance.Vote": gf.VoteFactory,
    "governance.LedgerEntry": gf.LedgerEntryFactory,
    "governance.Checkpoint": gf.CheckpointFactory,
    "orchestration.Participant": of.ParticipantFactory,
    "orchestration.AdapterDeployment": of.AdapterDeploymentFactory,
    "orchestration.LocalProblem": of.LocalProblemFactory,
    "orchestration.PrivacyBudget": of.PrivacyBudgetFactory,
    "orchestration.PrivacyCharge": of.PrivacyChargeFactory,
    "orchestration.Plan": of.PlanFactory,
    "orchestration.PlanDelta": of.PlanDeltaFactory,
    "orchestration.Portfolio": of.PortfolioFactory,
    "orchestration.PortfolioDelta": of.PortfolioDeltaFactory,
    "orchestration.EvaluationTask": of.EvaluationTaskFactory,
    "orchestration.PerformanceSignal": of.PerformanceSignalFactory,
    "orchestration.SearchRound": of.SearchRoundFactory,
    "orchestration.Attestation": of.AttestationFactory,
    "orchestration.CheckpointCosignature": of.CheckpointCosignatureFactory,
}
# Added only through the service that owns the write; never changed or deleted in the admin.
SERVICE_ADD = {"registry.Contract", "registry.PassDependency", "governance.Policy", "orchestration.Participant"}
# Accounts are the operator's (Django's own pages), except who sits on the board.
ACCOUNTS = {"auth.User", "auth.Group"}
READ_ONLY = set(FACTORIES) - SERVICE_ADD - ACCOUNTS
# Edge tables shown inline on their release or proposal, and the Merkle tree's internal storage (served by the API).
INLINE_ONLY = {
    "registry.ContractImplementation",
    "registry.PassOffer",
    "governance.Elector",
    "governance.LedgerNode",
    "governance.LedgerHead",
    "orchestration.PortfolioMember",
}

MARKET_MODELS = [
    model for label in ("registry", "governance", "orchestration") for model in apps.get_app_config(label).get_models()
]


def test_every_model_has_a_factory_here():
    labels = {model._meta.label for model in MARKET_MODELS}
    assert labels - INLINE_ONLY == set(FACTORIES) - ACCOUNTS
    assert {model._meta.label for model in admin.site._registry} == set(FACTORIES)


@pytest.mark.parametrize("label", sorted(FACTORIES))
def test_changelist_and_change_page_load(admin_client, label):
    model = apps.get_model(label)
    assert admin.site.is_registered(model)
    obj = FACTORIES[label]()
    opts = model._meta

    changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    assert escape(str(opts.verbose_name_plural)).lower() in changelist.content.decode().lower()

    searched = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), {"q": "x"})
    assert searched.status_code == 200

    change = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    assert change.status_code == 200
    assert escape(str(obj)) in change.content.decode()


@pytest.mark.parametrize("label", sorted(READ_ONLY))
def test_records_are_read_only_even_for_a_superuser(admin_client, label):
    model = apps.get_model(label)
    obj = FACTORIES[label]()
    opts = model._meta
    add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    assert add.status_code == 403
    delete = admin_client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk]))
    assert delete.status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()
    page = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    assert 'name="_save"' not in page.content.decode()
    change = admin_client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]), {})
    assert change.status_code == 403


@pytest.mark.parametrize("label", sorted(SERVICE_ADD))
def test_service_added_records_are_never_changed_or_deleted(admin_client, label):
    model = apps.get_model(label)
    obj = FACTORIES[label]()
    opts = model._meta
    assert admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200
    delete = admin_client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk]))
    assert delete.status_code == 403 and model.objects.filter(pk=obj.pk).exists()
    change = admin_client.post(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]), {})
    assert change.status_code == 403


def test_ledger_entry_page_shows_its_inclusion_proof(admin_client):
    from django.db import transaction

    from governance.models import LedgerEntry
    from governance.services import checkpoint_issue, ledger_append

    with transaction.atomic():
        for i in range(3):
            ledger_append(kind="test.appended", actor="ada", subject=f"s:{i}", payload={"i": i})
    checkpoint_issue()
    entry = LedgerEntry.objects.get(index=1)
    page = admin_client.get(reverse("admin:governance_ledgerentry_change", args=[entry.pk])).content.decode()
    assert "in the checkpoint of size 3" in page and bytes(entry.leaf).decode() in page.replace("&quot;", '"')
