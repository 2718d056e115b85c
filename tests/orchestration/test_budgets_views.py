"""`manage.py budgets` and the admin's budget page with its spending chart."""

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from governance.policy_schemas import DEFAULT_DOCUMENTS
from governance.services import policy_activate, policy_create
from orchestration.services import budget_open, budget_reserve

from .factories import EvaluationTaskFactory, ParticipantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def spent_budget():
    policy = policy_create(kind="privacy", document=DEFAULT_DOCUMENTS["privacy"], created_by=None)
    policy_activate(policy=policy, proposal=None, actor="test")
    participant = ParticipantFactory(name="acme")
    budget = budget_open(participant=participant)
    for _ in range(3):
        with transaction.atomic():
            budget_reserve(participant=participant, task=EvaluationTaskFactory(), rho_nano=3_000_000)
    return budget


def test_budgets_command_prints_a_table(spent_budget, capsys):
    call_command("budgets")
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("acme"))
    assert "24,354,714" in row and "9,000,000" in row and row.split()[-1] == "3"
    assert "1 budgets" in out


def test_admin_budget_page_shows_the_burn_down(admin_client, spent_budget):
    page = admin_client.get(reverse("admin:orchestration_privacybudget_change", args=[spent_budget.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and "limit ε = 1" in html and "ε spent at δ = 1e-06" in html
    chart = html[html.index('<figure class="chart">') : html.index("</figure>")]
    table = chart[chart.index("<table") :]
    # a header, one row per charge (the last at what the budget shows), and the limit
    assert table.count("<tr>") == 1 + 3 + 1
    assert '<td class="num">0.588</td></tr><tr><td>limit ε = 1</td>' in table
    assert "ε 0.588 of 1.000 at δ = 1e-06" in html and "9,000,000 of 24,354,714 nano-rho spent" in html
    assert "37% of ρ used" in html and "adds up in ρ" in html and "remaining epsilon" not in html.lower()
