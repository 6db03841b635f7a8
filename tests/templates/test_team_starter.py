"""The team starter in examples/: its configuration and its layer over the built-in FastAPI
template generate a project that passes the same proofs as the built-in template, as it runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from stackwise.cli import main
from tests.conftest import REPO_ROOT
from tests.templates.as_run import (
    Deployer,
    Image,
    LocalServices,
    check_ci_workflow,
    check_production_web,
    http_get,
    local_services,
    serving_as_documented,
)
from tests.templates.conftest import Generated, check_deployment_files, lint

pytestmark = [pytest.mark.templates, pytest.mark.xdist_group("team-starter")]  # one image

EXAMPLE_CONFIG = REPO_ROOT / "examples" / "team-starter" / "stackwise.toml"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    path = tmp_path_factory.mktemp("team-starter") / "payments"
    code = main(["--config", str(EXAMPLE_CONFIG), "new", str(path), "--no-input"])
    assert code == 0
    answers = yaml.safe_load((path / ".copier-answers.yml").read_text())
    # The example's defaults choose PostgreSQL; its lock makes auth=jwt.
    assert (answers["database"], answers["auth"], answers["license"]) == (
        "postgres",
        "jwt",
        "Proprietary",
    )
    return Generated(path, answers)


@pytest.fixture
def services() -> Iterator[LocalServices]:
    # Redis: the FastAPI layer's login limits (auth=jwt) are proven against a real one.
    with local_services(postgres=True, redis=True) as up:
        yield up


def test_team_starter_project_passes_its_ci_workflow_with_the_layers_tests(
    project: Generated, services: LocalServices, tmp_path: Path
) -> None:
    assert (project.path / "tests" / "test_logging_policy.py").is_file()
    check_ci_workflow(project.path, tmp_path, services)


def test_team_starter_image_serves_production_and_logs_json_lines(
    project: Generated, image: Image, services: LocalServices
) -> None:
    with serving_as_documented(project.path, image, Deployer(services, image)) as served:
        check_production_web(served.base_url, "/docs")
        assert http_get(f"{served.base_url}/health") == (200, b'{"status":"ok"}')
        printed = served.process.output()

    lines = [json.loads(line) for line in printed.splitlines() if line.strip()]
    assert {entry["service"] for entry in lines} == {"payments"}
    assert any(entry["logger"] == "gunicorn.error" for entry in lines)


def test_team_starter_deployment_files_and_policy_workflow_lint_clean(project: Generated) -> None:
    check_deployment_files(project.path)
    lint(["actionlint", str(project.path / ".github" / "workflows" / "policy.yml")])
    codeowners = (project.path / ".github" / "CODEOWNERS").read_text()
    assert codeowners.endswith("* @acme/platform\n")
