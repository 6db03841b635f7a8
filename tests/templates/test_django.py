"""The Django template, defaults and a pairwise set of option combinations, green on every gate.

Each combination is generated once, gets its own venv, and then passes: its own test suite
(against the real PostgreSQL and Redis where it uses them), ruff, ruff format, mypy with
django-stubs, migrations in sync, `check --deploy` with production settings, and gunicorn serving
/health and the admin login page on a free loopback port.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

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
COMBINATIONS = [{}, MAXIMAL] + [
    row for row in pairwise(OPTIONS) if row not in (DEFAULTS, MAXIMAL)
]


class DjangoProject(ProjectWithServices):
    def manage(self, *args: str, **extra_env: str) -> str:
        return self.run("python", "manage.py", *args, **extra_env)

    def production_env(self) -> dict[str, str]:
        return {
            **self.env,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        }


@pytest.fixture(scope="module", params=COMBINATIONS, ids=lambda row: row_id(row) or "defaults")
def django(request: pytest.FixtureRequest, copie_session) -> Iterator[DjangoProject]:  # type: ignore[no-untyped-def]
    answers = {**DEFAULTS, **request.param}
    project = generate(copie_session, {"framework": "django", **request.param})
    with real_services(postgres=answers["database"] == "postgres", redis=answers["celery"]) as env:
        yield DjangoProject(project, env)


def test_generated_django_project_passes_its_own_suite(django: DjangoProject) -> None:
    django.check_own_suite()


def test_generated_django_project_is_lint_format_and_type_clean(django: DjangoProject) -> None:
    django.check_lint_format_and_types()


def test_generated_django_project_migrations_are_in_sync(django: DjangoProject) -> None:
    assert "No changes detected" in django.manage("makemigrations", "--check", "--dry-run")


def test_generated_django_project_passes_deploy_checks(django: DjangoProject) -> None:
    output = django.manage(
        "check", "--deploy", "--fail-level", "WARNING", **django.production_env()
    )

    assert "no issues" in output


def test_generated_django_project_serves_health_and_admin_under_gunicorn(
    django: DjangoProject,
) -> None:
    env = {**django.production_env(), "WEB_CONCURRENCY": "2"}
    django.manage("collectstatic", "--noinput", **env)
    django.manage("migrate", "--noinput", **env)
    port = free_port()
    env["PORT"] = str(port)
    admin_url = str(django.project.answers.get("admin_url", "admin/"))

    with serving(django.project, ["gunicorn", "config.wsgi"], port, env) as base_url:
        assert http_get(f"{base_url}/health")[0] == 200
        assert http_get(f"{base_url}/health/ready")[0] == 200
        # Behind a TLS-terminating proxy, as in production: plain HTTP would redirect.
        status, headers, body = http_response(
            f"{base_url}/{admin_url}login/", {"X-Forwarded-Proto": "https"}
        )
        assert status == 200
        assert b"csrfmiddlewaretoken" in body
        assert_security_headers(headers)
        assert http_get(f"{base_url}/{admin_url}login/")[0] == 301


def test_generated_django_production_settings_refuse_to_start_without_a_secret(
    django: DjangoProject,
) -> None:
    env = {**django.production_env(), "DJANGO_SECRET_KEY": ""}

    output = django.project.run_failing("python", "manage.py", "check", env=env)

    assert "Set DJANGO_SECRET_KEY to run with production settings." in output


def test_generated_django_code_has_no_medium_or_high_bandit_finding(django: DjangoProject) -> None:
    django.check_bandit()


def test_generated_django_dockerfile_and_workflow_lint_clean(django: DjangoProject) -> None:
    django.check_deployment_files()
