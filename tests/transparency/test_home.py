import pytest

pytestmark = pytest.mark.django_db


def test_the_home_page_needs_no_login(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "The log is empty" in response.content.decode()
