from flask import Flask
from flask.testing import FlaskClient


def test_missing_page_is_an_html_page_for_browsers(client: FlaskClient) -> None:
    response = client.get("/no-such-page", headers={"Accept": "text/html"})

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "404 Not Found" in response.text


def test_missing_api_route_is_json(client: FlaskClient) -> None:
    response = client.get("/api/no-such-route")

    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_unexpected_errors_are_500_without_internals(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom", headers={"Accept": "application/json"})

    assert response.status_code == 500
    assert response.get_json()["name"] == "Internal Server Error"
    assert "secret internals" not in response.text
