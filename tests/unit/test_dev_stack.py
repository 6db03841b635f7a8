"""The development compose stack and Dependabot's config of every template, as rendered.

The production compose file runs as built in tests/templates (as_run.compose_services). Its
development override is read here the way `docker compose up` merges it over that file: every
service of the image gets development settings, the checkout mounted over the image's copy, the
web service the framework's reloading server, and mail goes to Mailpit. The files validate
against the Compose specification's and Dependabot's schemas (check-jsonschema ships them).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from stackwise.catalog import builtin_templates
from stackwise.render import NewProject, new_project


@dataclass(frozen=True)
class DevStack:
    settings: dict[str, str]  # the variables that select development settings
    reloads: Callable[[list[str]], bool]  # the dev server's argv, reloading on a change
    mail: dict[str, str]  # what sends the app's mail to Mailpit's SMTP port


DEV = {
    "django": DevStack(
        {"DJANGO_SETTINGS_MODULE": "config.settings.local"},
        # runserver reloads unless told --noreload.
        lambda argv: argv[:3] == ["python", "manage.py", "runserver"] and "--noreload" not in argv,
        {"DJANGO_EMAIL_HOST": "mailpit", "DJANGO_EMAIL_PORT": "1025"},
    ),
    "flask": DevStack(
        {"FLASK_CONFIG": "development"},
        # --debug turns the reloader on (and --no-reload would turn it off again).
        lambda argv: (
            argv[:4] == ["flask", "--app", "wsgi", "run"]
            and "--debug" in argv
            and "--no-reload" not in argv
        ),
        {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "mailpit", "MAIL_PORT": "1025"},
    ),
    "fastapi": DevStack(
        {"ENVIRONMENT": "development"},
        lambda argv: argv[0] == "uvicorn" and "--reload" in argv,
        {"SMTP_HOST": "mailpit", "SMTP_PORT": "1025", "SMTP_SECURITY": "none"},
    ),
}
# Each template's defaults, and the answers that put every service into its compose file.
ROWS = [
    ("django", {}),
    ("django", {"celery": "true", "database": "postgres"}),
    ("flask", {}),
    ("flask", {"extensions": "[sqlalchemy,migrate,login,wtf,celery]", "database": "postgres"}),
    ("fastapi", {}),
    ("fastapi", {"background": "celery", "auth": "jwt", "database": "postgres"}),
]


@pytest.fixture(scope="module", params=ROWS, ids=lambda row: f"{row[0]}-{len(row[1])}")
def rendered(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    framework, data = request.param
    destination = tmp_path_factory.mktemp(framework) / "shop"
    template = builtin_templates()[framework]
    new_project(NewProject(destination=destination, template=template, data=data, git=False))
    return framework, destination


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A service as compose merges an override over it: mappings key by key, lists of volumes
    and ports together, anything else replaced."""
    service = {**base, **override}
    service["environment"] = {**base.get("environment", {}), **override.get("environment", {})}
    for key in ("volumes", "ports"):
        service[key] = [*base.get(key, []), *override.get(key, [])]
    return service


def check_schema(schema: str, *files: Path) -> None:
    tool = Path(sys.executable).parent / "check-jsonschema"
    completed = subprocess.run(
        [str(tool), "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_development_override_reloads_mounted_source_with_mail_in_mailpit(
    rendered: tuple[str, Path],
) -> None:
    framework, project = rendered
    base_file, dev_file = project / "docker-compose.yml", project / "docker-compose.override.yml"
    check_schema("vendor.compose-spec", base_file, dev_file)
    base = yaml.safe_load(base_file.read_text())["services"]
    dev = yaml.safe_load(dev_file.read_text())["services"]
    dev_stack = DEV[framework]
    # The image's directory and virtual environment, as the Dockerfile's final stage has them.
    final = DockerfileParser(str(project / "Dockerfile"))
    workdir = [i["value"] for i in final.structure if i["instruction"] == "WORKDIR"][-1]
    assert f"{workdir}/.venv/bin" in final.envs["PATH"]

    assert set(dev) == {name for name, spec in base.items() if "build" in spec}
    for name in dev:
        service = merged(base[name], dev[name])
        env = service["environment"]
        assert dev_stack.settings.items() <= env.items(), (name, env)
        # The checkout over the image's copy; the image's virtual environment kept.
        assert f".:{workdir}" in service["volumes"], service["volumes"]
        assert f"{workdir}/.venv" in service["volumes"], service["volumes"]
        if "mailpit" in base:
            assert dev_stack.mail.items() <= env.items(), (name, env)
        if name != "web":
            assert "command" not in dev[name]  # workers and beat run as in production
            continue
        production, development = (shlex.split(s["command"]) for s in (base[name], service))
        if production[:2] == ["sh", "-c"]:  # the release step first, then the server
            *release, _ = production[2].split(" && ")
            *dev_release, dev_server = development[2].split(" && ")
            assert dev_release == release
            development = shlex.split(dev_server)
        assert dev_stack.reloads(development), development
        # Reachable through the port the base file publishes.
        published = [str(port).rsplit(":", 1)[-1] for port in service["ports"]]
        assert "8000" in published
        assert any(arg.endswith("8000") for arg in development), development
        assert "0.0.0.0" in " ".join(development)  # noqa: S104 (inside its container)
    if "mailpit" in base:
        ports = [str(port).rsplit(":", 1)[-1] for port in base["mailpit"]["ports"]]
        assert {"8025", "1025"} <= set(ports)  # its web UI, and SMTP for mail from the host


def test_readme_documents_both_compose_modes(rendered: tuple[str, Path]) -> None:
    _, project = rendered
    readme = (project / "README.md").read_text()

    assert "`docker compose up --build` starts the development stack" in readme
    assert "`docker compose -f docker-compose.yml up --build` runs production mode" in readme


def test_dependabot_keeps_packages_actions_and_images_fresh(rendered: tuple[str, Path]) -> None:
    _, project = rendered
    config = project / ".github" / "dependabot.yml"
    check_schema("vendor.dependabot", config)
    updates = yaml.safe_load(config.read_text())["updates"]

    # Each ecosystem's manifest, where its `directory` says Dependabot finds it.
    manifests = {
        "uv": "pyproject.toml",
        "github-actions": ".github/workflows/ci.yml",
        "docker": "Dockerfile",
        "docker-compose": "docker-compose.yml",
    }
    assert {update["package-ecosystem"] for update in updates} == set(manifests)
    for update in updates:
        assert update["directory"] == "/"
        assert (project / manifests[update["package-ecosystem"]]).is_file()
