"""The Django template, proven as it runs, for its defaults, every option at once and a pairwise
set of combinations.

Each combination is generated with `stackwise new` (rendered, locked, committed). Then a fresh
clone passes its CI workflow as written (lint, format, mypy, migrations in sync, its own suite on
the real PostgreSQL and Redis it uses); the image replayed from its Dockerfile runs the README's
release command and serves production settings (HTTPS, HSTS, no debug pages, `check --deploy`
clean, no start without a secret); every compose service (web, worker, beat) runs production
settings and passes the healthcheck that applies to it; bandit, hadolint and actionlint pass.
"""

from __future__ import annotations

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
    http_response,
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
    [
        "python",
        "-c",
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SETTINGS_MODULE, s.DEBUG)",
    ],
    "config.settings.production False",
)

DEFAULTS: Answers = {
    "api": "none",
    "celery": False,
    "cms": "none",
    "database": "sqlite",
    "login_by": "username",
    "sentry": False,
}
OPTIONS = {
    "api": ["none", "drf", "ninja"],
    "celery": [False, True],
    "cms": ["none", "wagtail"],
    "database": ["sqlite", "postgres"],
    "login_by": ["username", "email"],
    "sentry": [False, True],
}
# Every option on at once, for the gates that must hold at both ends (security, deploy checks).
MAXIMAL: Answers = {
    "api": "drf",
    "celery": True,
    "cms": "wagtail",
    "database": "postgres",
    "login_by": "email",
    "sentry": True,
}
# The defaults come from copier.yml itself (no answers given); the pairwise rows follow.
COMBINATIONS = [
    {},
    MAXIMAL,
    {**HOSTILE_ANSWERS, "api": "ninja", "celery": True},
    *(row for row in pairwise(OPTIONS) if row not in (DEFAULTS, MAXIMAL)),
]


@pytest.fixture(
    scope="module",
    params=as_params(
        "django", COMBINATIONS, lambda row: hostile_id(row) or row_id(row) or "defaults"
    ),
)
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Generated:
    destination = tmp_path_factory.mktemp("django") / "shop"
    return generate(destination, {"framework": "django", **request.param})


@pytest.fixture
def services(project: Generated) -> Iterator[LocalServices]:
    answers = {**DEFAULTS, **project.answers}
    with local_services(postgres=answers["database"] == "postgres", redis=answers["celery"]) as up:
        yield up


def test_generated_django_project_passes_its_ci_workflow_as_written(
    project: Generated, services: LocalServices, tmp_path: Path
) -> None:
    check_ci_workflow(project.path, tmp_path, services)


def test_generated_django_image_serves_production_as_built(
    project: Generated, image: Image, services: LocalServices
) -> None:
    deployer = Deployer(services, image)
    admin_url = str(project.answers["admin_url"])

    with serving_as_documented(project.path, image, deployer) as served:
        check_production_web(served.base_url, "/")
        check_name_shown_as_text(served.base_url, "/", project.answers["project_name"])
        status, headers, body = http_response(f"{served.base_url}/{admin_url}login/", HTTPS)
        assert status == 200
        assert b"csrfmiddlewaretoken" in body
        assert "secure" in headers["set-cookie"].lower()  # production's CSRF_COOKIE_SECURE

    deploy_check = ["python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    completed = image.run(deploy_check, served.env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    check_refuses_without("DJANGO_SECRET_KEY", image, image.cmd, served.env)
    check_untrusted_proxy_is_ignored(project.path, image, services, "/")
    workers = documented_services(project.path, image, deployer)
    check_services(workers, image, "/", SETTINGS)
    assert len(workers) == (2 if project.answers["celery"] else 0)  # worker and beat
    if project.answers["database"] == "postgres":
        check_database_outage(project.path, image, deployer, ["/"])


def test_generated_django_compose_services_run_production(
    project: Generated, image: Image, services: LocalServices
) -> None:
    services_of_compose = compose_services(project.path, image, Deployer(services, image))
    check_services(services_of_compose, image, "/", SETTINGS)
    names = [service.name for service in services_of_compose]

    expected = ["web", "worker", "beat"] if project.answers["celery"] else ["web"]
    assert names == expected


def test_generated_django_code_has_no_medium_or_high_bandit_finding(project: Generated) -> None:
    check_bandit(project.path)


def test_generated_django_dockerfile_and_workflow_lint_clean(project: Generated) -> None:
    check_deployment_files(project.path)
