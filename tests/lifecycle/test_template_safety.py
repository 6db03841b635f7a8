"""What a template can and cannot do: it renders files, never the project's `.git`; and the
read-only commands (status, diff) run none of its tasks or migrations, trusted or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lifecycle.conftest import git
from tests.lifecycle.test_team_templates import repository_from, team_config

ANSWERS = {"{{ _copier_conf.answers_file }}.jinja": "{{ _copier_answers | to_nice_yaml }}"}


def test_a_template_cannot_write_the_projects_git_directory(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "fsmonitor-ran"
    repository = repository_from(
        {
            # With a subdirectory, copier applies none of its default exclusions (.git among them).
            "copier.yml": "_subdirectory: project\nservice_name:\n  type: str\n  default: ledger\n",
            # git runs core.fsmonitor on every `git status`: a command of the template's choice
            "project/{{ '.git' }}/config.jinja": f"[core]\n\tfsmonitor = touch {marker}\n",
            "project/{{ '.git' }}/hooks/post-commit.jinja": f"#!/bin/sh\ntouch {marker}\n",
            "project/README.md.jinja": "# {{ service_name }}\n",
            **{f"project/{name}": text for name, text in ANSWERS.items()},
        },
        tmp_path / "starter",
    )
    repository.release("v1.0.0")
    config = team_config(tmp_path / "team.toml", "ledger", repository, "v1.0.0", framework="flask")
    project = tmp_path / "ledger"

    created = run_cli("--config", str(config), "new", str(project), "-t", "ledger", "--defaults")
    git(project, "status")  # what the owner does next
    status = run_cli("--config", str(config), "status", str(project))

    assert created.exit_code == 0, created.stderr
    assert status.exit_code == 0, status.stderr
    assert "fsmonitor" not in (project / ".git" / "config").read_text()
    assert not (project / ".git" / "hooks" / "post-commit").exists()
    assert not marker.exists()


def test_a_template_that_excludes_nothing_does_not_bring_its_repository(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path
) -> None:
    repository = repository_from(
        {"copier.yml": "_exclude: []\n", "README.md": "# ledger\n"}, tmp_path / "starter"
    )
    git(repository.path, "remote", "add", "origin", "https://git.example.com/starter.git")
    repository.release("v1.0.0")
    config = team_config(tmp_path / "team.toml", "ledger", repository, "v1.0.0", framework="flask")
    project = tmp_path / "ledger"

    created = run_cli("--config", str(config), "new", str(project), "-t", "ledger", "--defaults")

    assert created.exit_code == 0, created.stderr
    assert git(project, "remote").strip() == ""  # the project's own repository, not the clone
    assert git(project, "log", "--format=%s").strip() == "Generate project with stackwise"


def test_status_and_diff_run_no_task_or_migration_even_of_a_trusted_template(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path
) -> None:
    task_ran, migration_ran = tmp_path / "task-ran", tmp_path / "migration-ran"
    repository = repository_from(
        {
            "copier.yml": (
                f"_tasks:\n  - touch {task_ran}\n"
                f"_migrations:\n  - version: v1.1.0\n    command: touch {migration_ran}\n"
            ),
            "README.md": "# ledger\n",
            **ANSWERS,
        },
        tmp_path / "starter",
    )
    repository.release("v1.0.0")
    config = team_config(tmp_path / "team.toml", "ledger", repository, "v1.0.0", framework="flask")
    config.write_text(config.read_text() + "trusted = true\n")
    project = tmp_path / "ledger"
    assert (
        run_cli(
            "--config", str(config), "new", str(project), "-t", "ledger", "--defaults"
        ).exit_code
        == 0
    )
    assert task_ran.exists()  # trusted: `new` runs its tasks
    task_ran.unlink()
    repository.release("v1.1.0", lambda t: (t / "README.md").write_text("# ledger 2\n"))
    config.write_text(config.read_text().replace('ref = "v1.0.0"', 'ref = "v1.1.0"'))

    status = run_cli("--config", str(config), "status", str(project))
    diff = run_cli("--config", str(config), "diff", str(project))

    assert (status.exit_code, diff.exit_code) == (0, 0), status.stderr + diff.stderr
    assert "ledger 2" in diff.stdout
    assert not task_ran.exists()
    assert not migration_ran.exists()
    # The same template's update does run them: the markers above could have appeared.
    assert run_cli("--config", str(config), "update", str(project)).exit_code == 0
    assert migration_ran.exists()


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("uv.lock", "/tmp/stackwise-victim"),  # uv would write the lock through it
        ("notes.txt", "../../victim"),
        ("gitconfig", ".git/config"),  # the owner's editor would write git's configuration
    ],
)
def test_a_template_symlink_out_of_the_project_is_refused(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, link: str, target: str
) -> None:
    project = _from_template_with_link(tmp_path, link, target)

    created = run_cli(
        "--config", str(tmp_path / "team.toml"), "new", str(project), "-t", "ledger", "--defaults"
    )

    assert created.exit_code == 1
    assert created.stderr.strip().endswith(f"({link} -> {target}); refused"), created.stderr
    assert not project.exists()


def test_a_template_symlink_within_the_project_is_kept(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project = _from_template_with_link(tmp_path, "docs/index.md", "../README.md")

    created = run_cli(
        "--config", str(tmp_path / "team.toml"), "new", str(project), "-t", "ledger", "--defaults"
    )

    assert created.exit_code == 0, created.stderr
    assert (project / "docs" / "index.md").read_text() == "# ledger\n"


def _from_template_with_link(tmp_path: Path, link: str, target: str) -> Path:
    files = {"copier.yml": "_preserve_symlinks: true\n", "README.md": "# ledger\n", **ANSWERS}
    repository = repository_from(files, tmp_path / "starter")
    (repository.path / link).parent.mkdir(parents=True, exist_ok=True)
    (repository.path / link).symlink_to(target)
    repository.release("v1.0.0")
    team_config(tmp_path / "team.toml", "ledger", repository, "v1.0.0", framework="flask")
    return tmp_path / "ledger"
