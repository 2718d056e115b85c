"""The public pages say who witnessed the log: a market's promotion is final once enough participants cosigned a
checkpoint covering it, and the log page counts the witnesses of its latest checkpoint."""

import pytest
from django.db import transaction

from governance.services import checkpoint_issue
from tests.orchestration.factories import PlanDeltaFactory
from tests.orchestration.witnessing import ORIGIN, Witness, activate_orchestration, promoted

pytestmark = pytest.mark.django_db


def test_a_market_page_says_whether_its_promotion_is_final(client, settings):
    settings.OPM_LOG_ORIGIN = ORIGIN
    activate_orchestration(2)
    with transaction.atomic():
        promoted(PlanDeltaFactory, 1)
    covering = checkpoint_issue()
    a, b = Witness(), Witness()
    a.cosign(covering)
    page = client.get("/markets/llvm/text-bytes/").content.decode()
    assert "Not final yet" in page and "asks 2 participants" in page and "1 has so far" in page
    b.cosign(covering)
    page = client.get("/markets/llvm/text-bytes/").content.decode()
    assert f"log checkpoint of size {covering.size}, which covers this promotion, is cosigned by 2 participants" in page


def test_the_log_pages_count_the_witnesses_of_each_checkpoint(client, settings):
    settings.OPM_LOG_ORIGIN = ORIGIN
    activate_orchestration(1)
    first = checkpoint_issue()
    a, b, c = Witness(), Witness(), Witness()
    a.cosign(first)
    with transaction.atomic():
        promoted(PlanDeltaFactory, 1)
    latest = checkpoint_issue()
    a.cosign(latest)
    b.cosign(latest)
    page = client.get("/log/").content.decode()
    names = ", ".join(sorted(w.deployment.participant.name for w in (a, b)))
    assert f"Witnessed by 2 of 3 participants</strong>: {names}." in page
    assert "final only once 1\n  participant cosigned" in page
    rows = client.get("/log/checkpoints/").content.decode()
    assert f'<tr data-size="{latest.size}">' in rows and f'<tr data-size="{first.size}">' in rows
    latest_row = rows.split(f'<tr data-size="{latest.size}">')[1].split("</tr>")[0]
    first_row = rows.split(f'<tr data-size="{first.size}">')[1].split("</tr>")[0]
    assert "<td>2 of 3</td>" in latest_row and "<td>1 of 3</td>" in first_row
    assert c.deployment.participant.name not in page


def test_a_missing_public_page_is_a_readable_html_404(client):
    response = client.get("/markets/no/such-class/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    assert "Nothing is published at <code>/markets/no/such-class/</code>" in response.content.decode()
    assert client.get("/api/v1/nothing").json()["code"] == "not_found"
