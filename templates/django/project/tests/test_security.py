"""Production settings send the security headers (tests/test_entry_points.py: they are the default
and refuse to start without a secret)."""

import pytest
from django.test import Client
from pytest_django import Settings

from tests.conftest import settings_started_with
from tests.test_entry_points import REQUIRED


@pytest.fixture
def production(settings: Settings) -> Settings:
    """The test settings with every security setting production uses."""
    environment = {**REQUIRED, "DJANGO_ALLOWED_HOSTS": "testserver"}
    prod = settings_started_with("config.settings.production", environment)
    for name in dir(prod):
        if name.startswith(("SECURE_", "SESSION_COOKIE_", "CSRF_COOKIE_")):
            setattr(settings, name, getattr(prod, name))
    return settings


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https(production: Settings, client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/"


@pytest.mark.django_db
def test_health_probes_are_served_over_plain_http(production: Settings, client: Client) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/health/ready").status_code == 200


@pytest.mark.django_db
def test_https_responses_carry_the_security_headers(production: Settings, client: Client) -> None:
    response = client.get("/", secure=True)

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure_in_production(
    production: Settings, client: Client
) -> None:
    response = client.get("/accounts/login/", secure=True)

    assert response.cookies["csrftoken"]["secure"] is True
    assert production.SESSION_COOKIE_SECURE is True


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/", "/accounts/login/", "/accounts/signup/"])
def test_pages_with_a_user_or_a_csrf_token_are_not_shared_by_caches(
    production: Settings, client: Client, page: str
) -> None:
    """They vary by the cookie, so a shared cache never hands one visitor's page (their name,
    their CSRF token) to another."""
    response = client.get(page, secure=True)

    assert response.status_code == 200
    assert "Cookie" in response["Vary"]
