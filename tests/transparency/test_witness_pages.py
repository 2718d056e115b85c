"""The public pages say who witnessed the log: a market's promotion is final once enough participants cosigned a
checkpoint covering it, and the log page counts the witnesses of its latest checkpoint."""

import pytest
from django.db import transaction

from governance.services import checkpoint_issue
from tests.orchestration.factories import PlanDeltaFactory
from tests.orchestration.test_witnesses import ORIGIN, Witness, _activate_orchestration, _promoted

pytestmark = pytest.mark.django_db


def test_a_market_page_says_whether_its_promotion_is_final(client, settings):
    settings.OPM_LOG_ORIGIN = ORIGIN
    _activate_orchestration(2)
    with transaction.atomic():
        _promoted(PlanDeltaFactory, 1)
    covering = checkpoint_issue()
    a, b = Witness(), Witness()
    a.cosign(covering)
    page = client.get("/markets/llvm/text-bytes/").content.decode()
    assert "Not final yet" in page and "asks 2 participants" in page and "1 has so far" in page
    b.cosign(covering)
    page = client.get("/markets/llvm/text-bytes/").content.decode()
    assert f"log checkpoint of size {covering.size}, which covers this promotion, is cosigned by 2 participants" in page
