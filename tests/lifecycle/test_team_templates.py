"""Team templates from a local git repository with tags: generate, then update to a newer tag."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import copier
import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.lifecycle.conftest import TemplateVersions, commit, edit, git

EXAMPLE = REPO_ROOT / "examples" / "team-starter"
OWNER_LINE = "Paged through the payments rota."


@dataclass
class TemplateRepository:
    """A team's copier template in its own git repository, released by tagging."""

    path: Path

    def release(self, tag: str, change: Callable[[Path], None] | None = None) -> str:
        if change:
            change(self.path)
        commit(self.path, f"Release {tag}")
        git(self.path, "tag", tag)
        return tag


def repository_from(files: Path | dict[str, str], where: Path) -> TemplateRepository:
    if isinstance(files, Path):
        shutil.copytree(files, where)
    else:
        for name, text in files.items():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            (where / name).write_text(text)
    git(where, "init", "-q")
    return TemplateRepository(where)


def team_config(
    path: Path, name: str, repository: TemplateRepository, ref: str, **fields: str
) -> Path:
    extra = "".join(f'{key} = "{value}"\n' for key, value in fields.items())
    path.write_text(f'[templates.{name}]\nsource = "{repository.path}"\nref = "{ref}"\n{extra}')
    return path


def answers(project: Path, name: str = ".copier-answers.yml") -> dict[str, object]:
    return dict(yaml.safe_load((project / name).read_text()))


STANDALONE = {
    "copier.yml": "service_name:\n  type: str\n  default: ledger\n",
    "{{ _copier_conf.answers_file }}.jinja": "{{ _copier_answers | to_nice_yaml }}",
    "README.md.jinja": "# {{ service_name }}\n\nRun it with make.\n",
    "policy.txt": "Reviews: one approval.\n",
}


def test_a_team_template_generates_then_updates_to_the_pinned_tag_keeping_edits(
    run_cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    repository = repository_from(STANDALONE, tmp_path / "starter")
    repository.release("v1.0.0")
    config = team_config(tmp_path / "team.toml", "ledger", repository, "v1.0.0", framework="flask")
    project = tmp_path / "ledger-service"

    created = run_cli(
        "--config", str(config), "new", str(project), "--template", "ledger", "--defaults"
    )

    assert created.exit_code == 0, created.stderr
    assert "Using the team template" not in created.stdout  # it was asked for by name
    assert answers(project)["_commit"] == "v1.0.0"
    assert answers(project)["_src_path"] == str(repository.path)
    assert (project / "README.md").read_text().startswith("# ledger")

    (project / "README.md").write_text((project / "README.md").read_text() + f"\n{OWNER_LINE}\n")
    commit(project, "Owner notes")
    repository.release(
        "v1.1.0",
        lambda t: (
            (t / "policy.txt").write_text("Reviews: two approvals.\n"),
            (t / "SECURITY.md").write_text("Report to security@example.com.\n"),
        ),
    )
    team_config(config, "ledger", repository, "v1.1.0", framework="flask")

    status = json.loads(run_cli("--config", str(config), "status", str(project), "--json").stdout)
    assert (status["version"], status["latest"], status["update_available"]) == (
        "v1.0.0",
        "v1.1.0",
        True,
    )
    assert status["changed_by_owner"] == ["README.md"]

    updated = run_cli("--config", str(config), "update", str(project))

    assert updated.exit_code == 0, updated.stderr
    assert "Updated v1.0.0 -> v1.1.0" in updated.stdout
    assert (project / "policy.txt").read_text() == "Reviews: two approvals.\n"
    assert (project / "SECURITY.md").is_file()
    assert OWNER_LINE in (project / "README.md").read_text()
    assert answers(project)["_commit"] == "v1.1.0"


def made_with_plain_copier(tmp_path: Path) -> tuple[TemplateRepository, Path]:
    """A project made with plain `copier copy` from a template repository tagged 1.0.0."""
    repository = repository_from(STANDALONE, tmp_path / "starter")
    repository.release("1.0.0")
    project = tmp_path / "ledger-service"
    copier.run_copy(str(repository.path), project, defaults=True, quiet=True, vcs_ref="1.0.0")
    git(project, "init", "-q")
    commit(project, "Made with plain copier")
    return repository, project


def test_a_project_from_a_source_no_configuration_lists_updates_as_copier_would(
    run_cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    repository, project = made_with_plain_copier(tmp_path)
    repository.release("1.1.0", lambda t: (t / "policy.txt").write_text("Two approvals.\n"))
    repository.release("1.2.0a1", lambda t: (t / "policy.txt").write_text("Pre-release.\n"))

    status = json.loads(run_cli("status", str(project), "--json").stdout)
    updated = run_cli("update", str(project))
    commit(project, "Take 1.1.0")
    refused = run_cli("update", str(project), "--data", "service_name=books")

    assert status["latest"] == "1.1.0" and status["update_available"] is True
    assert updated.exit_code == 0, updated.stderr
    assert (project / "policy.txt").read_text() == "Two approvals.\n"
    assert refused.exit_code == 2
    assert "is not in the team configuration; list it under [templates]" in refused.stderr


def test_an_unreachable_source_is_one_line(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    repository, project = made_with_plain_copier(tmp_path)
    shutil.rmtree(repository.path)

    result = run_cli("update", str(project))

    assert result.exit_code == 2
    assert result.stderr.startswith("stackwise: error: cannot read the versions of the project's")
    assert result.stderr.count("\n") == 1


def test_a_layer_from_a_plain_directory_blocks_only_itself(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, own_store: TemplateVersions
) -> None:
    starter = tmp_path / "starter"
    for name, text in {
        **STANDALONE,
        "copier.yml": "_answers_file: .copier-answers.team.yml\n",
    }.items():
        (starter / name).parent.mkdir(parents=True, exist_ok=True)
        (starter / name).write_text(text)
    config = tmp_path / "team.toml"
    config.write_text(f'[templates.ledger]\nsource = "{starter}"\nextends = "flask"\n')
    base = own_store.release("1.0.0")
    project = tmp_path / "ledger-service"
    created = run_cli(
        "--config", str(config), "new", str(project), "-t", "ledger", "--defaults", "--no-lock"
    )
    assert created.exit_code == 0, created.stderr
    target = own_store.release(
        "1.1.0",
        lambda t: (t / "_shared" / "gitignore.jinja").write_text(
            (t / "_shared" / "gitignore.jinja").read_text() + "*.log\n"
        ),
    )

    status = run_cli("--config", str(config), "status", str(project))
    updated = run_cli("--config", str(config), "update", str(project), "--to", target)

    assert base == "v1.0.0"
    assert status.exit_code == 0, status.stderr
    assert "not versioned" in status.stdout
    assert updated.exit_code == 0, updated.stderr
    assert "*.log" in (project / ".gitignore").read_text()


@pytest.fixture
def own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TemplateVersions:
    """A template store of this test's, so "the newest built-in version" is one it released."""
    monkeypatch.setenv("STACKWISE_TEMPLATE_STORE", str(tmp_path / "store.git"))
    (tmp_path / "versions").mkdir()
    return TemplateVersions(tmp_path / "versions")


def example_starter_released(tmp_path: Path) -> tuple[TemplateRepository, Path]:
    """The example team starter in a repository of its own, tagged v1.0.0, and a config on it."""
    repository = repository_from(EXAMPLE / "template", tmp_path / "acme-starter")
    repository.release("v1.0.0")
    config = team_config(
        tmp_path / "team.toml", "acme-api", repository, "v1.0.0", extends="fastapi"
    )
    return repository, config


def test_the_example_starter_and_its_base_update_together(
    run_cli, tmp_path: Path, own_store: TemplateVersions
) -> None:  # type: ignore[no-untyped-def]
    repository, config = example_starter_released(tmp_path)
    project = tmp_path / "payments"

    created = run_cli(
        "--config",
        str(config),
        "new",
        str(project),
        "--framework",
        "fastapi",
        "--defaults",
        "--data",
        "team=@acme/payments",
    )

    assert created.exit_code == 0, created.stderr
    assert "Using the team template acme-api v1.0.0." in created.stdout
    layer = answers(project, ".copier-answers.acme.yml")
    assert (layer["_commit"], layer["team"], layer["project_slug"]) == (
        "v1.0.0",
        "@acme/payments",
        "payments",  # the built-in template's answer, passed to the layer
    )
    assert answers(project)["framework"] == "fastapi"
    assert (project / ".github" / "CODEOWNERS").read_text().endswith("* @acme/payments\n")
    assert "logconfig_dict" in (project / "gunicorn.conf.py").read_text()
    base_before = answers(project)["_commit"]

    team_md = project / "TEAM.md"
    team_md.write_text(team_md.read_text() + f"\n{OWNER_LINE}\n")
    commit(project, "Owner notes")
    head = git(project, "rev-parse", "HEAD")
    repository.release(
        "v1.1.0",
        lambda t: edit(
            t / "TEAM.md.jinja", "# Acme policy for this service", "# Acme service policy"
        ),
    )
    team_config(config, "acme-api", repository, "v1.1.0", extends="fastapi")
    own_store.release(
        "99.0.0",
        lambda t: edit(t / "_shared" / "gitignore.jinja", "# Python\n", "# v99\n# Python\n"),
    )

    status = json.loads(run_cli("--config", str(config), "status", str(project), "--json").stdout)
    assert [(layer["version"], layer["latest"]) for layer in status["layers"]] == [
        (base_before, "v99.0.0"),
        ("v1.0.0", "v1.1.0"),
    ]
    assert status["changed_by_owner"] == ["TEAM.md"]
    preview = run_cli("--config", str(config), "diff", str(project)).stdout
    assert "+# Acme service policy" in preview and "+# v99" in preview
    assert git(project, "status", "--porcelain") == ""

    updated = run_cli("--config", str(config), "update", str(project))

    assert updated.exit_code == 0, updated.stderr
    text = team_md.read_text()
    assert text.startswith("# Acme service policy") and OWNER_LINE in text
    assert (project / ".gitignore").read_text().startswith("# v99\n")
    assert answers(project, ".copier-answers.acme.yml")["_commit"] == "v1.1.0"
    assert answers(project)["_commit"] == "v99.0.0"
    assert git(project, "rev-parse", "HEAD") == head  # the owner reviews and commits
    assert "TEAM.md" in updated.stdout and ".gitignore" in updated.stdout


def test_update_refuses_an_answer_the_team_locks(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "team.toml"
    config.write_text('[locked]\nlicense = "Proprietary"\n')
    project = tmp_path / "billing"
    run_cli("--config", str(config), "new", str(project), "-f", "flask", "--defaults")
    head = git(project, "rev-parse", "HEAD")

    result = run_cli("--config", str(config), "update", str(project), "--data", "license=MIT")

    assert result.exit_code == 2
    assert f"license=MIT is refused: {config} locks license to Proprietary" in result.stderr
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "rev-parse", "HEAD") == head


def test_an_answer_changed_during_update_goes_to_the_layer_that_asks_it(
    run_cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _, config = example_starter_released(tmp_path)
    project = tmp_path / "payments"
    run_cli("--config", str(config), "new", str(project), "--template", "acme-api", "--defaults")

    result = run_cli(
        "--config", str(config), "update", str(project), "--data", "team=@acme/billing"
    )

    assert result.exit_code == 0, result.stderr
    assert answers(project, ".copier-answers.acme.yml")["team"] == "@acme/billing"
    assert "team" not in answers(project)
    assert (project / ".github" / "CODEOWNERS").read_text().endswith("* @acme/billing\n")
