import pytest
from django.conf import settings
from django.test import Client
from django.utils.html import escape

pytestmark = pytest.mark.django_db


def test_home_page_uses_the_base_layout(client: Client) -> None:
    body = client.get("/").content.decode()

    assert escape(settings.PROJECT_NAME) in body
    assert "Sign up" in body


def test_unknown_page_gets_the_project_404(client: Client) -> None:
    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_server_error_page_renders_without_context(client: Client) -> None:
    from django.template.loader import render_to_string

    assert "Something went wrong" in render_to_string("500.html")
