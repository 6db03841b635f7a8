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
    with mock.patch("config.views.connection.cursor", side_effect=OperationalError("down")):
        response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
