import pytest

pytestmark = pytest.mark.django_db


def test_the_home_page_needs_no_login(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "The log is empty" in page
    for section in ("/markets/", "/rounds/", "/privacy/", "/governance/", "/log/"):
        assert f'href="{section}"' in page
