"""Every admin page, with bad input, as a superuser: never a server error, and nothing written behind the ledger.

For each model registered in the admin site this loads the changelist, the add page and an existing object's
change page, then posts the add and change forms with empty, mistyped, out-of-range, malformed-JSON and
negative-epsilon values. No response may be a 500; the pages may not write at all; the posts may not write any
marketplace row (all of which is made by services and ledgered) nor change who sits on the board.
"""

import datetime as dt
import json
import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.db.models import BinaryField
from django.forms.models import model_to_dict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.models import LedgerEntry, Policy, Proposal
from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.selectors import board_members, ledger_size
from orchestration.models import Participant, Plan
from registry.models import Contract
from tests.test_admin import FACTORIES

pytestmark = pytest.mark.django_db

MARKET_APPS = ("registry", "governance", "orchestration")
MARKET_TABLES = {model._meta.db_table for label in MARKET_APPS for model in apps.get_app_config(label).get_models()}
WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
LEDGER_FUNCTION = re.compile(r"opm_ledger_append", re.IGNORECASE)

BAD_VALUES = {
    "empty": "",
    "wrong type": "not-a-value",
    "negative": "-1",
    "out of range": "9" * 30,
    "invalid json": '{"epsilon": ',
    "negative epsilon": '{"epsilon": -1}',
}


@pytest.fixture
def superuser_client(django_user_model) -> Client:
    root = django_user_model.objects.create_superuser("root", "root@example.org", "pw-root")
    client = Client(raise_request_exception=False)
    client.force_login(root)
    return client


def written_tables(queries) -> list[str]:
    """Tables written by the captured SQL (a ledger append on PostgreSQL is a function call: it counts)."""
    tables = []
    for query in queries:
        sql = query["sql"]
        if match := WRITE.match(sql):
            tables.append(match.group(1))
        elif LEDGER_FUNCTION.search(sql):
            tables.append("governance_ledgerentry")
    return tables


def as_post(value):
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return "" if value is None else value


def copy_of(obj) -> dict:
    """The object's own values as form data: on an add page a duplicate, on a change page an unchanged save."""
    binary = {f.name for f in obj._meta.concrete_fields if isinstance(f, BinaryField)}
    many = {f.name for f in obj._meta.many_to_many}
    return {
        k: [item.pk for item in v] if k in many else as_post(v)
        for k, v in model_to_dict(obj).items()
        if k not in binary
    }


def form_fields(response, model) -> list[str]:
    """The field names the page's form posts (from its context), or the model's own when there is no form."""
    context = response.context
    if response.status_code == 200 and context is not None and "adminform" in context:
        return list(context["adminform"].form.fields)
    return [f.name for f in model._meta.concrete_fields if not f.primary_key]


def payloads(fields: list[str], obj) -> dict[str, dict]:
    variants = {"no fields": {}}
    variants |= {name: dict.fromkeys(fields, value) for name, value in BAD_VALUES.items()}
    variants["copy of an existing row"] = copy_of(obj)
    return variants


class Watch:
    """What one request wrote: tables, the ledger's growth and the board."""

    def __enter__(self):
        self.ledger_before = ledger_size()
        self.board_before = set(board_members().values_list("pk", flat=True))
        self.capture = CaptureQueriesContext(connection)
        self.capture.__enter__()
        return self

    def __exit__(self, *exc):
        self.capture.__exit__(*exc)
        self.tables = written_tables(self.capture.captured_queries)
        self.ledger_grew = ledger_size() > self.ledger_before
        self.board_after = set(board_members().values_list("pk", flat=True))
        return False


@pytest.mark.parametrize("label", sorted(FACTORIES))
def test_admin_pages_and_forms_never_fail_nor_bypass_the_ledger(superuser_client, label):
    model = apps.get_model(label)
    assert admin.site.is_registered(model)
    obj = FACTORIES[label]()
    opts = model._meta
    name = f"admin:{opts.app_label}_{opts.model_name}"
    add_url, change_url = reverse(f"{name}_add"), reverse(f"{name}_change", args=[obj.pk])

    pages = {}
    for url in (reverse(f"{name}_changelist"), add_url, change_url):
        with Watch() as watch:
            pages[url] = superuser_client.get(url)
        assert pages[url].status_code in (200, 403), (url, pages[url].status_code)
        assert watch.tables == [], f"GET {url} wrote {watch.tables}"
    assert pages[change_url].status_code == 200

    for url in (add_url, change_url):
        for variant, data in payloads(form_fields(pages[url], model), obj).items():
            with Watch() as watch:
                response = superuser_client.post(url, data)
            where = f"POST {url} with {variant}"
            assert response.status_code < 500, f"{where}: {response.status_code}"
            market = [t for t in watch.tables if t in MARKET_TABLES]
            assert market == [] and not watch.ledger_grew, f"{where} wrote {market}"
            assert watch.board_after == watch.board_before, f"{where} changed the board"
            if response.status_code == 200 and response.context and "adminform" in response.context:
                assert response.context["adminform"].form.errors, f"{where} rendered the form without an error"


def test_the_two_reported_500s_are_now_refusals(superuser_client):
    """Adding a plan by hand (it broke the hash CHECK) and a privacy policy with epsilon -1 (policy_create's error)."""
    plan = superuser_client.post(
        reverse("admin:orchestration_plan_add"), {"toolchain": "llvm", "body": '{"passes": []}'}
    )
    assert plan.status_code == 403 and not Plan.objects.exists()

    policy = superuser_client.post(
        reverse("admin:governance_policy_add"), {"kind": "privacy", "document": '{"epsilon": -1}'}
    )
    assert policy.status_code == 200
    page = policy.content.decode()
    assert "[invalid_policy]" in page and "errornote" in page
    assert not Policy.objects.filter(kind="privacy").exists()


def test_service_adds_run_through_their_services(superuser_client):
    """A valid add form is saved by the service: the participant is ledgered, the policy proposed as version 1."""
    response = superuser_client.post(
        reverse("admin:orchestration_participant_add"),
        {"name": "acme", "display_name": "Acme", "contact_email": "ops@acme.example"},
    )
    assert response.status_code == 302
    assert Participant.objects.get(name="acme").display_name == "Acme"
    assert LedgerEntry.objects.filter(kind="participant.created", subject="participant:acme").exists()

    document = json.dumps(DEFAULT_DOCUMENTS["privacy"])
    assert (
        superuser_client.post(
            reverse("admin:governance_policy_add"), {"kind": "privacy", "document": document}
        ).status_code
        == 302
    )
    policy = Policy.objects.get(kind="privacy")
    assert (policy.version, policy.status) == (1, "proposed")

    bad_version = superuser_client.post(
        reverse("admin:registry_contract_add"),
        {"name": "opm-extra", "version": "one", "description": "", "message_schemas": '{"m": {"type": "object"}}'},
    )
    assert "[invalid_version]" in bad_version.content.decode() and not Contract.objects.exists()
    good = superuser_client.post(
        reverse("admin:registry_contract_add"),
        {"name": "opm-extra", "version": "1.0.0", "description": "", "message_schemas": '{"m": {"type": "object"}}'},
    )
    assert good.status_code == 302 and Contract.objects.get(name="opm-extra").status == "proposed"


def test_board_membership_cannot_be_changed_from_the_account_pages(superuser_client, board, django_user_model):
    from django.contrib.auth.models import Group

    from governance.services import BOARD_GROUP

    group = Group.objects.get(name=BOARD_GROUP)
    eve = django_user_model.objects.create_user("eve", password="pw-eve", is_staff=True)
    page = superuser_client.get(reverse("admin:auth_user_change", args=[eve.pk]))
    data = copy_of(eve) | {"groups": [group.pk]}
    data |= {"date_joined_0": f"{eve.date_joined:%Y-%m-%d}", "date_joined_1": f"{eve.date_joined:%H:%M:%S}"}
    data.pop("password", None)
    data.pop("last_login", None)
    assert page.status_code == 200
    response = superuser_client.post(reverse("admin:auth_user_change", args=[eve.pk]), data)
    assert response.status_code == 200 and "accepted membership proposal" in response.content.decode()
    assert eve not in board_members()

    ada = board[0]
    assert superuser_client.post(reverse("admin:auth_user_delete", args=[ada.pk]), {"post": "yes"}).status_code == 403
    assert superuser_client.post(reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"}).status_code == (
        403
    )
    assert superuser_client.post(reverse("admin:auth_group_change", args=[group.pk]), {"name": "x"}).status_code == (
        403
    )
    assert set(board_members()) == set(board)
    # Unrelated account edits still work: eve's e-mail, without touching her groups.
    data["groups"] = []
    data["email"] = "eve@example.org"
    assert superuser_client.post(reverse("admin:auth_user_change", args=[eve.pk]), data).status_code == 302
    eve.refresh_from_db()
    assert eve.email == "eve@example.org"


def test_membership_proposals_from_the_admin_show_their_electorate(board, django_user_model):
    ada, bob, cy, di = board
    eve = django_user_model.objects.create_user("eve", password="pw-eve")
    client = Client(raise_request_exception=False)
    client.force_login(ada)
    url = reverse("admin:governance_proposal_membership")
    form = client.get(url)
    assert form.status_code == 200 and "ada, bob, cy, di" in form.content.decode()
    assert (
        "Propose a board membership change"
        in client.get(reverse("admin:governance_proposal_changelist")).content.decode()
    )

    refused = client.post(url, {"kind": "add_board_member", "member": bob.pk, "rationale": ""})
    assert refused.status_code == 200 and "[invalid_transition]" in refused.content.decode()
    assert client.post(url, {"kind": "bogus", "member": "x"}).status_code == 200
    assert not Proposal.objects.exists()

    response = client.post(url, {"kind": "add_board_member", "member": eve.pk, "rationale": "compiler expert"})
    proposal = Proposal.objects.get(kind="add_board_member", member=eve)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:governance_proposal_change", args=[proposal.pk])
    page = client.get(response["Location"]).content.decode()
    assert "ada, bob, cy, di (4 members" in page

    for voter in (bob, cy, di):
        member = Client()
        member.force_login(voter)
        member.post(reverse("admin:governance_proposal_vote", args=[proposal.pk]), {"choice": "yes"})
    proposal.refresh_from_db()
    assert proposal.status == "accepted" and eve in board_members()
    assert LedgerEntry.objects.filter(kind="board.member_added", payload__proposal=proposal.pk).exists()
