"""The team starter in examples/: its configuration and its layer over the built-in FastAPI
template generate a project that is green on the same gates as the built-in template."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from stackwise.cli import main
from tests.conftest import REPO_ROOT
from tests.templates.conftest import (
    GeneratedProject,
    ProjectWithServices,
    free_port,
    http_get,
    lint,
    real_services,
    serving,
)

pytestmark = pytest.mark.templates

EXAMPLE_CONFIG = REPO_ROOT / "examples" / "team-starter" / "stackwise.toml"


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProjectWithServices]:
    path = tmp_path_factory.mktemp("team-starter") / "payments"
    code = main(["--config", str(EXAMPLE_CONFIG), "new", str(path), "--no-input"])
    assert code == 0
    answers = yaml.safe_load((path / ".copier-answers.yml").read_text())
    project = GeneratedProject(path=path, answers=answers)
    project.sync()
    # The example's defaults choose PostgreSQL; its lock makes auth=jwt.
    assert (answers["database"], answers["auth"], answers["license"]) == (
        "postgres",
        "jwt",
        "Proprietary",
    )
    with real_services(postgres=True, redis=False) as env:
        yield ProjectWithServices(project, env)


def test_team_starter_project_passes_its_own_suite_with_the_layers_tests(
    starter: ProjectWithServices,
) -> None:
    output = starter.run("pytest", "-q", "-p", "no:cacheprovider", "tests/test_logging_policy.py")
    assert "5 passed" in output
    starter.check_own_suite()


def test_team_starter_project_is_lint_format_and_strict_type_clean(
    starter: ProjectWithServices,
) -> None:
    starter.check_lint_format_and_types("--strict")


def test_team_starter_serves_health_and_logs_json_lines(starter: ProjectWithServices) -> None:
    port = free_port()
    env = {
        **starter.env,
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "WEB_CONCURRENCY": "1",
        "PORT": str(port),
    }
    starter.run("alembic", "upgrade", "head", **env)
    printed: list[str] = []

    with serving(starter.project, ["gunicorn", "app.main:app"], port, env, printed) as base_url:
        assert http_get(f"{base_url}/health") == (200, b'{"status":"ok"}')

    lines = [json.loads(line) for line in printed[0].splitlines() if line.strip()]
    assert {entry["service"] for entry in lines} == {"payments"}
    assert any(entry["logger"] == "gunicorn.error" for entry in lines)


def test_team_starter_deployment_files_and_policy_workflow_lint_clean(
    starter: ProjectWithServices,
) -> None:
    starter.check_deployment_files()
    workflows = Path(starter.project.path) / ".github" / "workflows"
    lint(["actionlint", str(workflows / "policy.yml")])
    assert (starter.project.path / ".github" / "CODEOWNERS").read_text().endswith(
        "* @acme/platform\n"
    )
