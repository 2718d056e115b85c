"""The board's dashboard (the admin index) and its own pages only read: loading them writes nothing."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import Proposal
from governance.services import proposal_open
from registry.services import contract_create

pytestmark = pytest.mark.django_db
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b|opm_ledger_append", re.IGNORECASE)


def writes_while_loading(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return [q["sql"] for q in captured.captured_queries if WRITE.search(q["sql"])]


def test_loading_the_dashboard_writes_nothing_even_with_a_proposal_past_its_deadline(board, django_user_model):
    ada, bob, cy, di = board
    contract = contract_create(name="opm-extra", version="1.0.0", message_schemas={"m": {"type": "object"}})
    stale = proposal_open(kind="approve_contract", proposer=ada, contract=contract)
    fresh = proposal_open(
        kind="approve_contract",
        proposer=ada,
        contract=contract_create(name="opm-extra", version="2.0.0", message_schemas={"m": {"type": "object"}}),
    )
    now = timezone.now()
    Proposal.objects.filter(pk=stale.pk).update(opened_at=now - dt.timedelta(days=9), deadline=now - dt.timedelta(1))
    root = django_user_model.objects.create_superuser("root", "root@example.org", "pw")

    for user in (bob, root):
        client = Client()
        client.force_login(user)
        for url in (
            reverse("admin:index"),
            reverse("admin:governance_proposal_changelist"),
            reverse("admin:governance_proposal_change", args=[stale.pk]),
            reverse("admin:governance_proposal_membership"),
        ):
            assert writes_while_loading(client, url) == [], (user, url)

    client = Client()
    client.force_login(bob)
    page = client.get(reverse("admin:index")).content.decode()
    awaiting, overdue = page.split('id="overdue"')[0], page.split('id="overdue"')[1].split("Recently decided")[0]
    assert f"#{fresh.pk} Approve contract version" in awaiting and f"#{stale.pk} " not in awaiting
    assert f"#{stale.pk} Approve contract version" in overdue and "manage.py proposals expire" in overdue
    stale.refresh_from_db()
    assert stale.status == "open"  # closing it is `manage.py proposals expire`'s write, not the page's
