from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape


def test_home_page_renders(app: Flask, client: FlaskClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert str(escape(app.config["PROJECT_NAME"])) in response.text
