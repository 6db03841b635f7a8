from django.conf import settings
from django.test import Client


def test_admin_login_page_is_served_at_the_configured_path(client: Client) -> None:
    response = client.get(f"/{settings.ADMIN_URL}login/")

    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content
