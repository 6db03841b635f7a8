"""The Flask template's default project is green on day one: its suite, lint, format, and a live server.

Django and FastAPI have their full proofs in test_django.py and test_fastapi.py.
"""

from __future__ import annotations

import json
import secrets

import pytest

from tests.templates.conftest import GeneratedProject, free_port, generate, http_get, serving

pytestmark = pytest.mark.templates


@pytest.fixture(scope="module")
def project(copie_session) -> GeneratedProject:  # type: ignore[no-untyped-def]
    return generate(copie_session, {"framework": "flask"})


def test_new_project_passes_its_own_suite(project: GeneratedProject) -> None:
    output = project.run("pytest", "-q", "-p", "no:cacheprovider")

    assert " passed" in output
    assert "failed" not in output and "error" not in output.lower()


def test_new_project_is_lint_and_format_clean(project: GeneratedProject) -> None:
    project.run("ruff", "check", "--no-cache", ".")
    project.run("ruff", "format", "--check", "--no-cache", ".")


def test_new_project_answers_health_under_its_production_server(project: GeneratedProject) -> None:
    port = free_port()
    command = ["gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "1"]

    with serving(project, command, port, {"SECRET_KEY": secrets.token_urlsafe(32)}) as base_url:
        status, body = http_get(f"{base_url}/health")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
