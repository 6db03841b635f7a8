"""The FastAPI template, defaults and a pairwise set of option combinations, green on every gate.

Each combination is generated once, gets its own venv, and then passes: its own test suite
(against the real PostgreSQL and Redis where it uses them), ruff, ruff format, mypy --strict,
`alembic upgrade head` + `alembic check`, gunicorn with uvicorn workers serving /health,
/openapi.json and the docs on a free loopback port, and a bounded schemathesis run against its
own OpenAPI schema with no 5xx response.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.templates.combinations import Answers, pairwise, row_id
from tests.templates.conftest import (
    ProjectWithServices,
    assert_security_headers,
    free_port,
    generate,
    http_get,
    http_response,
    real_services,
    serving,
)

pytestmark = pytest.mark.templates

DEFAULTS: Answers = {
    "admin": "none",
    "auth": "jwt",
    "background": "none",
    "database": "sqlite",
    "ml_serving": False,
    "websockets": False,
}
OPTIONS = {
    "admin": ["none", "sqladmin"],
    "auth": ["jwt", "none"],
    "background": ["none", "celery"],
    "database": ["sqlite", "postgres"],
    "ml_serving": [False, True],
    "websockets": [False, True],
}


def accepted(row: Answers) -> bool:
    """The template refuses an admin UI without users to log in with."""
    return not (row["admin"] == "sqladmin" and row["auth"] == "none")


# Every option on at once, for the gates that must hold at both ends (security, fuzzing).
MAXIMAL: Answers = {
    "admin": "sqladmin",
    "auth": "jwt",
    "background": "celery",
    "database": "postgres",
    "ml_serving": True,
    "websockets": True,
}
# The defaults come from copier.yml itself (no answers given); the pairwise rows follow.
COMBINATIONS = [{}, MAXIMAL] + [
    row for row in pairwise(OPTIONS, accepted) if row not in (DEFAULTS, MAXIMAL)
]
FUZZ_EXAMPLES = 25  # per operation and phase: enough to find a 5xx, bounded in time


class FastAPIProject(ProjectWithServices):
    @property
    def answers(self) -> Answers:
        return {**DEFAULTS, **self.project.answers}

    def production_env(self) -> dict[str, str]:
        return {**self.env, "ENVIRONMENT": "production", "SECRET_KEY": secrets.token_urlsafe(40)}


@pytest.fixture(scope="module", params=COMBINATIONS, ids=lambda row: row_id(row) or "defaults")
def fastapi(request: pytest.FixtureRequest, copie_session) -> Iterator[FastAPIProject]:  # type: ignore[no-untyped-def]
    answers = {**DEFAULTS, **request.param}
    project = generate(copie_session, {"framework": "fastapi", **request.param})
    postgres = answers["database"] == "postgres"
    with real_services(postgres=postgres, redis=answers["background"] == "celery") as env:
        if not postgres:  # a file of the gates' own, not the developer's app.db
            env["DATABASE_URL"] = f"sqlite+aiosqlite:///{project.path / 'gates.db'}"
        yield FastAPIProject(project, env)


def test_generated_fastapi_project_passes_its_own_suite(fastapi: FastAPIProject) -> None:
    fastapi.check_own_suite()


def test_generated_fastapi_project_is_lint_format_and_strict_type_clean(
    fastapi: FastAPIProject,
) -> None:
    fastapi.check_lint_format_and_types("--strict")


def test_generated_fastapi_project_migrations_apply_and_match_the_models(
    fastapi: FastAPIProject,
) -> None:
    fastapi.run("alembic", "upgrade", "head")
    fastapi.run("alembic", "check")


def bearer_token(base_url: str) -> str:
    """Register a user on the running service and log in: the token the fuzzer sends."""
    credentials = {"email": "fuzz@example.com", "password": secrets.token_urlsafe(16)}
    register = urllib.request.Request(  # noqa: S310 (loopback)
        f"{base_url}/auth/register",
        data=json.dumps(credentials).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(register, timeout=5).close()  # noqa: S310
    form = f"username={credentials['email']}&password={credentials['password']}".encode()
    with urllib.request.urlopen(f"{base_url}/auth/token", data=form, timeout=5) as response:  # noqa: S310
        return str(json.load(response)["access_token"])


def fuzz(base_url: str, headers: dict[str, str], workdir: Path) -> str:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(FUZZ_EXAMPLES),
        "--seed",
        "20261125",
        "--workers",
        "1",
        "--no-color",
        "--warnings",
        "off",  # schema-quality hints; this gate is about server errors
        *(arg for name, value in headers.items() for arg in ("--header", f"{name}: {value}")),
    ]
    completed = subprocess.run(  # in workdir: schemathesis leaves a cache directory behind
        command, cwd=workdir, capture_output=True, text=True, timeout=600, check=False
    )
    assert completed.returncode == 0, f"schemathesis found failures:\n{completed.stdout[-6000:]}"
    return completed.stdout


def test_generated_fastapi_service_serves_and_survives_fuzzing(fastapi: FastAPIProject) -> None:
    env = {**fastapi.production_env(), "WEB_CONCURRENCY": "2"}
    fastapi.run("alembic", "upgrade", "head", **env)
    port = free_port()
    env["PORT"] = str(port)

    with serving(fastapi.project, ["gunicorn", "app.main:app"], port, env) as base_url:
        status, headers, body = http_response(f"{base_url}/health")
        assert (status, body) == (200, b'{"status":"ok"}')
        assert_security_headers(headers)
        assert http_get(f"{base_url}/health/ready")[0] == 200
        for page in ("/openapi.json", "/docs", "/redoc"):
            assert http_get(base_url + page)[0] == 200, page
        if fastapi.answers["admin"] == "sqladmin":
            assert http_get(f"{base_url}/admin/login")[0] == 200
        jwt = fastapi.answers["auth"] == "jwt"
        headers = {"Authorization": f"Bearer {bearer_token(base_url)}"} if jwt else {}
        report = fuzz(base_url, headers, fastapi.project.path)

    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated and int(generated[1]) > 0 and generated[1] == generated[2], report


def test_generated_fastapi_production_refuses_to_start_without_a_secret(
    fastapi: FastAPIProject,
) -> None:
    env = {**fastapi.production_env(), "SECRET_KEY": ""}
    if fastapi.answers["auth"] != "jwt":  # without users there is no secret to refuse to miss
        check = "from app.core.config import Settings; print('secret_key' in Settings.model_fields)"
        assert fastapi.project.python(check, env=env).strip() == "False"
        return

    output = fastapi.project.run_failing("python", "-c", "import app.main", env=env)

    assert "SECRET_KEY must be a random value of at least 32 characters in production" in output


def test_generated_fastapi_code_has_no_medium_or_high_bandit_finding(
    fastapi: FastAPIProject,
) -> None:
    fastapi.check_bandit()


def test_generated_fastapi_dockerfile_and_workflow_lint_clean(fastapi: FastAPIProject) -> None:
    fastapi.check_deployment_files()
