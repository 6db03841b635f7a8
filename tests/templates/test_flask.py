"""The Flask template, proven as it runs: defaults, no extensions, every extension, and a
pairwise set over the extensions and the database.

Each combination is generated with `stackwise new` (rendered, locked, committed). Then a fresh
clone passes its CI workflow as written (lint, format, mypy, `flask db upgrade` and `flask db
check` where Flask-Migrate is chosen, its own suite on the real PostgreSQL and Redis it uses);
the image replayed from its Dockerfile runs the README's release command and serves the
production config (HTTPS, HSTS, no start without a secret); every compose service runs the
production config and passes the healthcheck that applies to it; bandit, hadolint and
actionlint pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.templates.as_run import (
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
    local_services,
    serving_as_documented,
)
from tests.templates.combinations import (
    FLASK_EXTENSIONS,
    HOSTILE_ANSWERS,
    Answers,
    as_params,
    hostile_id,
    pairwise,
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
        "from wsgi import app; c = app.config; "
        "print(c['SESSION_COOKIE_SECURE'], c['DEBUG'], c['TESTING'])",
    ],
    "True False False",
)

EXTENSIONS = FLASK_EXTENSIONS
DEFAULT_EXTENSIONS = ["sqlalchemy", "migrate", "wtf"]
# What an extension needs, as the template's own validator states it.
NEEDS = {"migrate": "sqlalchemy", "login": "sqlalchemy", "admin": "login", "api": "sqlalchemy"}
REDIS_USERS = {"celery", "caching", "limiter"}


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
FIXED: list[Answers] = [
    {},
    {"extensions": [], "database": "sqlite"},
    {"extensions": EXTENSIONS, "database": "postgres"},
    {
        **HOSTILE_ANSWERS,
        "extensions": ["sqlalchemy", "migrate", "login", "wtf", "admin", "caching"],
    },
]
COMBINATIONS = FIXED + [
    answers for row in pairwise(OPTIONS, accepted) if (answers := answers_for(row)) not in FIXED
]


def combination_id(answers: Answers) -> str:
    if not answers:
        return "defaults"
    if hostile := hostile_id(answers):
        return hostile
    names = answers["extensions"]
    label = "all" if names == EXTENSIONS else "+".join(names) or "none"
    return f"{label}-{answers.get('database', 'sqlite')}"


@pytest.fixture(scope="module", params=as_params("flask", COMBINATIONS, combination_id))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Generated:
    destination = tmp_path_factory.mktemp("flask") / "shop"
    return generate(destination, {"framework": "flask", **request.param})


def extensions(project: Generated) -> list[str]:
    return list(project.answers["extensions"])


@pytest.fixture
def services(project: Generated) -> Iterator[LocalServices]:
    chosen = extensions(project)
    postgres = "sqlalchemy" in chosen and project.answers["database"] == "postgres"
    with local_services(postgres=postgres, redis=bool(REDIS_USERS & set(chosen))) as up:
        yield up


def test_generated_flask_project_passes_its_ci_workflow_as_written(
    project: Generated, services: LocalServices, tmp_path: Path
) -> None:
    check_ci_workflow(project.path, tmp_path, services)


def test_generated_flask_image_serves_production_as_built(
    project: Generated, image: Image, services: LocalServices
) -> None:
    deployer = Deployer(services, image)

    with serving_as_documented(project.path, image, deployer) as served:
        check_production_web(served.base_url, "/")
        check_name_shown_as_text(served.base_url, "/", project.answers["project_name"])

    check_refuses_without("SECRET_KEY", image, image.cmd, served.env)
    check_untrusted_proxy_is_ignored(project.path, image, services, "/")
    workers = documented_services(project.path, image, deployer)
    check_services(workers, image, "/", SETTINGS)
    assert len(workers) == ("celery" in extensions(project))
    if "sqlalchemy" in extensions(project) and project.answers.get("database") == "postgres":
        data = ["/api/items"] if "api" in extensions(project) else []
        check_database_outage(project.path, image, deployer, data)


def test_generated_flask_compose_services_run_production(
    project: Generated, image: Image, services: LocalServices
) -> None:
    services_of_compose = compose_services(project.path, image, Deployer(services, image))
    check_services(services_of_compose, image, "/", SETTINGS)
    names = [service.name for service in services_of_compose]

    assert names == (["web", "worker"] if "celery" in extensions(project) else ["web"])


def test_generated_flask_code_has_no_medium_or_high_bandit_finding(project: Generated) -> None:
    check_bandit(project.path)


def test_generated_flask_dockerfile_and_workflow_lint_clean(project: Generated) -> None:
    check_deployment_files(project.path)
