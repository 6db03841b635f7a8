"""The Flask template: defaults, no extensions, every extension, and a pairwise set, all green.

Each combination is generated once, gets its own venv, and then passes: its own test suite
(against the real PostgreSQL and Redis where it uses them), ruff, ruff format, mypy,
`flask db upgrade` + `flask db check` where Flask-Migrate is chosen, and gunicorn serving
/health and /health/ready on a free loopback port; hadolint and actionlint on its Dockerfile
and workflow.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.templates.combinations import Answers, pairwise
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

EXTENSIONS = [
    "sqlalchemy",
    "migrate",
    "login",
    "wtf",
    "admin",
    "api",
    "cors",
    "limiter",
    "caching",
    "talisman",
    "celery",
]
DEFAULT_EXTENSIONS = ["sqlalchemy", "migrate", "wtf"]
# What an extension needs, as the template's own validator states it.
NEEDS = {"migrate": "sqlalchemy", "login": "sqlalchemy", "admin": "login", "api": "sqlalchemy"}


def accepted(row: Answers) -> bool:
    needs = [*NEEDS.items(), ("login", "wtf")]
    return all(row[needer] <= row[needed] for needer, needed in needs)


def answers_for(row: Answers) -> Answers:
    return {
        "extensions": [name for name in EXTENSIONS if row[name]],
        "database": row["database"],
    }


OPTIONS = {**{name: [False, True] for name in EXTENSIONS}, "database": ["sqlite", "postgres"]}
# The template's defaults (no answers), no extensions, every extension, then the pairwise rows.
FIXED: list[Answers] = [{}, {"extensions": [], "database": "sqlite"}, {"extensions": EXTENSIONS, "database": "postgres"}]
COMBINATIONS = FIXED + [
    answers for row in pairwise(OPTIONS, accepted) if (answers := answers_for(row)) not in FIXED
]


def combination_id(answers: Answers) -> str:
    if not answers:
        return "defaults"
    names = answers["extensions"]
    label = "all" if names == EXTENSIONS else "+".join(names) or "none"
    return f"{label}-{answers.get('database', 'sqlite')}"


class FlaskProject(ProjectWithServices):
    @property
    def extensions(self) -> list[str]:
        return list(self.project.answers.get("extensions", DEFAULT_EXTENSIONS))  # type: ignore[call-overload]


@pytest.fixture(scope="module", params=COMBINATIONS, ids=combination_id)
def flask(request: pytest.FixtureRequest, copie_session) -> Iterator[FlaskProject]:  # type: ignore[no-untyped-def]
    answers = {"extensions": DEFAULT_EXTENSIONS, "database": "sqlite", **request.param}
    project = generate(copie_session, {"framework": "flask", **request.param})
    postgres = "sqlalchemy" in answers["extensions"] and answers["database"] == "postgres"
    redis = "celery" in answers["extensions"]
    with real_services(postgres=postgres, redis=redis) as env:
        if not postgres:  # a file of the gates' own, not the developer's app.db
            env["DATABASE_URL"] = f"sqlite:///{project.path / 'gates.db'}"
        yield FlaskProject(project, env)


def test_generated_flask_project_passes_its_own_suite(flask: FlaskProject) -> None:
    flask.check_own_suite()


def test_generated_flask_project_is_lint_format_and_type_clean(flask: FlaskProject) -> None:
    flask.check_lint_format_and_types()


def test_generated_flask_project_migrations_apply_and_match_the_models(
    flask: FlaskProject,
) -> None:
    if "migrate" not in flask.extensions:
        assert not (flask.project.path / "migrations").exists()
        return
    flask.run("flask", "--app", "wsgi", "db", "upgrade", FLASK_CONFIG="development")
    flask.run("flask", "--app", "wsgi", "db", "check", FLASK_CONFIG="development")


def test_generated_flask_project_serves_health_under_gunicorn(flask: FlaskProject) -> None:
    port = free_port()
    env = {**flask.env, "SECRET_KEY": secrets.token_urlsafe(40), "PORT": str(port)}
    if "migrate" in flask.extensions:
        flask.run("flask", "--app", "wsgi", "db", "upgrade", **env)
    env["WEB_CONCURRENCY"] = "2"

    with serving(flask.project, ["gunicorn", "wsgi:app"], port, env) as base_url:
        assert http_get(f"{base_url}/health")[0] == 200
        assert http_get(f"{base_url}/health/ready")[0] == 200
        status, headers, _ = http_response(f"{base_url}/", {"X-Forwarded-Proto": "https"})
        assert status == 200
        assert_security_headers(headers)


def test_generated_flask_production_config_refuses_to_start_without_a_secret(
    flask: FlaskProject,
) -> None:
    env = {**flask.env, "FLASK_CONFIG": "production", "SECRET_KEY": ""}

    output = flask.project.run_failing("python", "-c", "import wsgi", env=env)

    assert "SECRET_KEY" in output


def test_generated_flask_code_has_no_medium_or_high_bandit_finding(flask: FlaskProject) -> None:
    flask.check_bandit()


def test_generated_flask_dockerfile_and_workflow_lint_clean(flask: FlaskProject) -> None:
    flask.check_deployment_files()
