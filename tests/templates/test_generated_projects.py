"""Each framework's default project is green on day one: its suite, lint, format, and a live server."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

import pytest

from tests.templates.conftest import GeneratedProject, free_port, generate, http_get, serving

pytestmark = pytest.mark.templates


@dataclass(frozen=True)
class Server:
    """How a framework's project is served in production, and what must answer there."""

    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    pages: tuple[str, ...] = ()


def production_server(framework: str, port: int) -> Server:
    bind = f"127.0.0.1:{port}"
    secret = secrets.token_urlsafe(32)
    return {
        "django": Server(
            ["gunicorn", "config.wsgi", "--bind", bind, "--workers", "1"],
            {"DJANGO_SECRET_KEY": secret, "DJANGO_ALLOWED_HOSTS": "127.0.0.1"},
            pages=("/admin/login/",),
        ),
        "flask": Server(["gunicorn", "wsgi:app", "--bind", bind, "--workers", "1"], {"SECRET_KEY": secret}),
        "fastapi": Server(
            ["uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
            pages=("/openapi.json", "/docs"),
        ),
    }[framework]


@pytest.fixture(scope="module", params=["flask", "fastapi"])
def project(request, copie_session) -> GeneratedProject:  # type: ignore[no-untyped-def]
    return generate(copie_session, {"framework": request.param})


def test_new_project_passes_its_own_suite(project: GeneratedProject) -> None:
    output = project.run("pytest", "-q", "-p", "no:cacheprovider")

    assert " passed" in output
    assert "failed" not in output and "error" not in output.lower()


def test_new_project_is_lint_and_format_clean(project: GeneratedProject) -> None:
    project.run("ruff", "check", "--no-cache", ".")
    project.run("ruff", "format", "--check", "--no-cache", ".")


def test_new_project_answers_health_under_its_production_server(project: GeneratedProject) -> None:
    port = free_port()
    server = production_server(str(project.answers["framework"]), port)

    with serving(project, server.command, port, server.env) as base_url:
        status, body = http_get(f"{base_url}/health")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        for page in server.pages:
            assert http_get(base_url + page)[0] == 200, page
