"""The FastAPI template, proven as it runs, for its defaults, every option at once and a pairwise
set of combinations.

Each combination is generated with `stackwise new` (rendered, locked, committed). Then a fresh
clone passes its CI workflow as written (lint, format, mypy --strict, `alembic upgrade head` and
`alembic check`, its own suite on the real PostgreSQL and Redis it uses); the image replayed from
its Dockerfile runs the README's release command and serves production settings (HTTPS, HSTS, no
start without a secret), its docs and, behind the proxy, survives a bounded schemathesis run
with no 5xx; every compose service (web, worker) runs production settings and passes the
healthcheck that applies to it; bandit, hadolint and actionlint pass.
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

from tests.templates.as_run import (
    HTTPS,
    Deployer,
    Image,
    LocalServices,
    SettingsProbe,
    check_ci_workflow,
    check_database_outage,
    check_name_shown_as_text,
    check_production_web,
    check_refuses_without,
    check_services,
    check_untrusted_proxy_is_ignored,
    compose_services,
    documented_services,
    http_get,
    local_services,
    serving_as_documented,
)
from tests.templates.combinations import (
    HOSTILE_ANSWERS,
    Answers,
    as_params,
    hostile_id,
    pairwise,
    row_id,
)
from tests.templates.conftest import (
    Generated,
    check_bandit,
    check_deployment_files,
    generate,
)

pytestmark = pytest.mark.templates

# Prints the settings in effect; every process of the image must print production's.
SETTINGS = SettingsProbe(
    ["python", "-c", "from app.core.config import get_settings; print(get_settings().environment)"],
    "production",
)

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
COMBINATIONS = [
    {},
    MAXIMAL,
    {**HOSTILE_ANSWERS, "admin": "sqladmin", "websockets": True},
    *(row for row in pairwise(OPTIONS, accepted) if row not in (DEFAULTS, MAXIMAL)),
]
FUZZ_EXAMPLES = 25  # per operation and phase: enough to find a 5xx, bounded in time


@pytest.fixture(
    scope="module",
    params=as_params(
        "fastapi", COMBINATIONS, lambda row: hostile_id(row) or row_id(row) or "defaults"
    ),
)
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Generated:
    destination = tmp_path_factory.mktemp("fastapi") / "inventory"
    return generate(destination, {"framework": "fastapi", **request.param})


@pytest.fixture
def services(project: Generated) -> Iterator[LocalServices]:
    answers = {**DEFAULTS, **project.answers}
    postgres, celery = answers["database"] == "postgres", answers["background"] == "celery"
    with local_services(postgres=postgres, redis=celery) as up:
        yield up


def test_generated_fastapi_project_passes_its_ci_workflow_as_written(
    project: Generated, services: LocalServices, tmp_path: Path
) -> None:
    check_ci_workflow(project.path, tmp_path, services)


def bearer_token(base_url: str) -> str:
    """Register a user on the running service and log in: the token the fuzzer sends."""
    credentials = {"email": "fuzz@example.com", "password": secrets.token_urlsafe(16)}
    register = urllib.request.Request(  # noqa: S310 (loopback)
        f"{base_url}/auth/register",
        data=json.dumps(credentials).encode(),
        headers={"Content-Type": "application/json", **HTTPS},
    )
    urllib.request.urlopen(register, timeout=5).close()  # noqa: S310
    form = f"username={credentials['email']}&password={credentials['password']}".encode()
    token = urllib.request.Request(f"{base_url}/auth/token", data=form, headers=HTTPS)  # noqa: S310
    with urllib.request.urlopen(token, timeout=5) as response:  # noqa: S310
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


def test_generated_fastapi_image_serves_production_and_survives_fuzzing(
    project: Generated, image: Image, services: LocalServices, tmp_path: Path
) -> None:
    answers = {**DEFAULTS, **project.answers}
    deployer = Deployer(services, image)

    with serving_as_documented(project.path, image, deployer) as served:
        base_url = served.base_url
        check_production_web(base_url, "/docs")
        check_name_shown_as_text(base_url, "/docs", project.answers["project_name"])
        status, schema = http_get(f"{base_url}/openapi.json", HTTPS)
        assert status == 200
        assert json.loads(schema)["info"]["title"] == project.answers["project_name"]
        assert http_get(f"{base_url}/redoc", HTTPS)[0] == 200
        if answers["admin"] == "sqladmin":
            assert http_get(f"{base_url}/admin/login", HTTPS)[0] == 200
        headers = dict(HTTPS)
        if answers["auth"] == "jwt":
            headers["Authorization"] = f"Bearer {bearer_token(base_url)}"
        report = fuzz(base_url, headers, tmp_path)

    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated and int(generated[1]) > 0 and generated[1] == generated[2], report
    if answers["auth"] == "jwt":
        check_refuses_without("SECRET_KEY", image, image.cmd, served.env)
    check_untrusted_proxy_is_ignored(project.path, image, services, "/docs")
    workers = documented_services(project.path, image, deployer)
    check_services(workers, image, "/docs", SETTINGS)
    assert len(workers) == (answers["background"] == "celery")
    if answers["database"] == "postgres":
        check_database_outage(project.path, image, deployer, ["/items"])


def test_generated_fastapi_compose_services_run_production(
    project: Generated, image: Image, services: LocalServices
) -> None:
    services_of_compose = compose_services(project.path, image, Deployer(services, image))
    check_services(services_of_compose, image, "/docs", SETTINGS)
    names = [service.name for service in services_of_compose]

    celery = {**DEFAULTS, **project.answers}["background"] == "celery"
    assert names == (["web", "worker"] if celery else ["web"])


def test_generated_fastapi_code_has_no_medium_or_high_bandit_finding(project: Generated) -> None:
    check_bandit(project.path)


def test_generated_fastapi_dockerfile_and_workflow_lint_clean(project: Generated) -> None:
    check_deployment_files(project.path)
