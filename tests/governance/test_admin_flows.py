"""The board's workplace through the Django test client, with CSRF checks on: propose, vote, see the decision."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from governance.models import LedgerEntry, Policy, Proposal
from tests.governance.fixtures import pass_conformance

pytestmark = pytest.mark.django_db


def logged_in(username: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    assert client.login(username=username, password="pw-" + username)
    return client


def post_with_csrf(client: Client, page_url: str, url: str, data: dict):
    page = client.get(page_url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client.post(url, {**data, "csrfmiddlewaretoken": token}, follow=True)


def test_propose_vote_and_see_the_decision(board, release, adapter_contract):
    pass_conformance(release, adapter_contract)
    changelist = reverse("admin:registry_adapterrelease_changelist")
    ada = logged_in("ada")
    response = post_with_csrf(
        ada, changelist, changelist, {"action": "propose_approval", "_selected_action": [release.pk]}
    )
    assert "Opened a proposal to approve release" in response.content.decode()
    proposal = Proposal.objects.get(release=release)

    page = reverse("admin:governance_proposal_change", args=[proposal.pk])
    vote_url = reverse("admin:governance_proposal_vote", args=[proposal.pk])
    own = ada.get(page).content.decode()
    assert "Vote yes" not in own and "you proposed it" in own and "artifact_digest" in own  # manifest shown
    dashboard = logged_in("bob").get(reverse("admin:index")).content.decode()
    assert f"#{proposal.pk} Approve release" in dashboard

    for name in ("bob", "cy", "di"):
        client = logged_in(name)
        assert "Vote yes" in client.get(page).content.decode()
        response = post_with_csrf(client, page, vote_url, {"choice": "yes", "comment": f"{name} agrees"})
        assert "is recorded in the ledger" in response.content.decode()

    final = logged_in("ada").get(page).content.decode()
    assert "This proposal is accepted." in final
    release.refresh_from_db()
    assert release.state == "approved"
    assert LedgerEntry.objects.filter(kind="proposal.decided", subject=f"proposal:{proposal.pk}").exists()


def test_vote_without_csrf_token_is_refused(board, release, adapter_contract):
    pass_conformance(release, adapter_contract)
    from governance.services import proposal_open

    proposal = proposal_open(kind="approve_release", proposer=board[0], release=release)
    response = logged_in("bob").post(reverse("admin:governance_proposal_vote", args=[proposal.pk]), {"choice": "yes"})
    assert response.status_code == 403 and not proposal.votes.exists()


def test_errors_are_reported_with_their_code(board, release):
    changelist = reverse("admin:registry_adapterrelease_changelist")
    response = post_with_csrf(
        logged_in("ada"), changelist, changelist, {"action": "propose_approval", "_selected_action": [release.pk]}
    )
    assert "[conformance_required]" in response.content.decode()
    assert not Proposal.objects.exists()


def test_staff_outside_the_board_sees_but_cannot_vote(board, release, adapter_contract, django_user_model):
    pass_conformance(release, adapter_contract)
    from governance.services import board_group_ensure, proposal_open

    eve = django_user_model.objects.create_user("eve", password="pw-eve", is_staff=True)
    eve.user_permissions.set(board_group_ensure().permissions.all())
    proposal = proposal_open(kind="approve_release", proposer=board[0], release=release)
    client = logged_in("eve")
    page = reverse("admin:governance_proposal_change", args=[proposal.pk])
    assert "Vote yes" not in client.get(page).content.decode()
    response = post_with_csrf(
        client, page, reverse("admin:governance_proposal_vote", args=[proposal.pk]), {"choice": "yes"}
    )
    assert "[not_board_member]" in response.content.decode() and not proposal.votes.exists()


def test_new_policy_version_through_the_admin_shows_its_diff(board):
    from governance.policy_schemas import DEFAULT_DOCUMENTS
    from governance.services import policy_activate, policy_create

    active = policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"], created_by=board[0])
    policy_activate(policy=active, proposal=None, actor="test")
    client = logged_in("ada")
    client.handler.enforce_csrf_checks = False
    import json

    document = json.dumps(DEFAULT_DOCUMENTS["privacy"] | {"epsilon": 2.0})
    response = client.post(
        reverse("admin:governance_policy_add"), {"kind": "privacy", "document": document}, follow=True
    )
    assert response.status_code == 200
    new = Policy.objects.get(kind="privacy", version=2)
    assert new.status == "proposed"
    page = client.get(reverse("admin:governance_policy_change", args=[new.pk])).content.decode()
    assert "<td>epsilon</td><td>1.0</td><td>2.0</td>" in page
