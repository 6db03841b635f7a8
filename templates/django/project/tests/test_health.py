from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client


def test_health_reports_ok_without_touching_the_database(client: Client) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_checks_the_database(client: Client) -> None:
    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


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
