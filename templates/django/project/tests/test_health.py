from unittest import mock

import pytest
from django.conf import settings
from django.db import DatabaseError, OperationalError
from django.test import Client
from pytest_django import Settings


def test_health_reports_ok_without_touching_the_database(client: Client) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_checks_the_database(client: Client) -> None:
    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_ready_reports_503_when_the_database_is_down(client: Client) -> None:
    with mock.patch("config.health.connection.cursor", side_effect=OperationalError("down")):
        response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


@pytest.mark.django_db
def test_probes_answer_any_host_name(client: Client) -> None:
    """Platforms probe containers by IP address, which ALLOWED_HOSTS would refuse."""
    assert client.get("/health", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/health/ready", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400


@pytest.mark.django_db  # a POST falls through to the ordinary stack, which may query
def test_probes_only_answer_reads(client: Client) -> None:
    assert client.post("/health").status_code != 200


def test_a_page_whose_database_is_down_answers_503_and_asks_to_retry() -> None:
    client = Client(raise_request_exception=False)
    with mock.patch(
        "django.views.generic.base.TemplateView.get", side_effect=OperationalError("down")
    ):
        response = client.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.DEPENDENCY_TIMEOUT)
    assert b"Temporarily unavailable" in response.content


@pytest.mark.parametrize("bug", [KeyError("bug"), OperationalError("no such table: users_user")])
def test_a_bug_is_still_a_500(bug: Exception) -> None:
    client = Client(raise_request_exception=False)
    with mock.patch("django.views.generic.base.TemplateView.get", side_effect=bug):
        response = client.get("/")

    assert response.status_code == 500
    assert "Retry-After" not in response


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        pytest.param(OperationalError("database is locked"), 503, id="database-timed-out"),
        pytest.param(
            DatabaseError("Forced update did not affect any rows."), 400, id="logged-out-meanwhile"
        ),
    ],
)
@pytest.mark.django_db
def test_a_session_save_that_fails_answers_503_when_the_database_is_why(
    settings: Settings, failure: DatabaseError, status: int
) -> None:
    """The session middleware reports any session it failed to save as SessionInterrupted (400):
    config/errors.py answers 503 when the database was the reason."""
    settings.SESSION_SAVE_EVERY_REQUEST = True  # the middleware saves it on the way out
    client = Client(raise_request_exception=False)
    assert client.session.session_key  # a saved session, and its cookie

    with mock.patch("django.contrib.sessions.models.Session.save", side_effect=failure):
        response = client.get("/")

    assert response.status_code == status
    assert ("Retry-After" in response) == (status == 503)


def test_every_wait_on_the_database_is_bounded() -> None:
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        assert database["OPTIONS"]["timeout"] == settings.DEPENDENCY_TIMEOUT
    else:
        assert database["OPTIONS"]["connect_timeout"] == settings.DEPENDENCY_TIMEOUT
        # A statement stuck behind a lock (tests/test_statement_timeout.py); 0 turns it off.
        if settings.DATABASE_STATEMENT_TIMEOUT:
            timeout = f"-c statement_timeout={settings.DATABASE_STATEMENT_TIMEOUT * 1000}"
            assert timeout in database["OPTIONS"]["options"]
    assert database["CONN_HEALTH_CHECKS"] is True
    assert settings.EMAIL_TIMEOUT == settings.DEPENDENCY_TIMEOUT
