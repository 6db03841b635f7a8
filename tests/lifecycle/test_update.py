"""`stackwise status`, `diff` and `update` on projects made from an older template version."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stackwise import store
from stackwise.render import write_local_env
from tests.lifecycle.conftest import TemplateVersions, commit, edit, git

FLASK_README = "flask/project/README.md.jinja"
OWNER_LINE = "Our on-call rota lives in the wiki."


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if ".git" not in path.parts and path.is_file():
            digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def add_gitignore_line(templates: Path) -> None:
    shared = templates / "_shared" / "gitignore.jinja"
    shared.write_text(shared.read_text() + "\n# template 2 ignores these too\n*.log\n")


def test_update_brings_template_changes_and_keeps_the_owners_edits(
    versions: TemplateVersions, run_cli
) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("1.0.0"))
    readme = project / "README.md"
    readme.write_text(readme.read_text() + f"\n{OWNER_LINE}\n")
    commit(project, "Owner notes")
    target = versions.release("1.1.0", add_gitignore_line)

    result = run_cli("update", str(project), "--to", target)

    assert result.exit_code == 0, result.stderr
    assert OWNER_LINE in readme.read_text()
    assert "*.log" in (project / ".gitignore").read_text()
    assert ".gitignore" in result.stdout
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v1.1.0"


def test_the_same_line_changed_on_both_sides_is_an_inline_conflict(
    versions: TemplateVersions, run_cli
) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("2.0.0"))
    edit(project / "README.md", "## Test it", "## Test it (owner's wording)")
    commit(project, "Owner wording")
    target = versions.release(
        "2.1.0", lambda t: edit(t / FLASK_README, "## Test it", "## Test it (template wording)")
    )

    result = run_cli("update", str(project), "--to", target)

    assert result.exit_code == 1
    text = (project / "README.md").read_text()
    conflict = text[text.index("<<<<<<<") : text.index(">>>>>>>")]
    assert "## Test it (owner's wording)" in conflict
    assert "## Test it (template wording)" in conflict
    assert "README.md" in result.stdout.split("in conflict:")[1]


def test_files_the_owner_added_are_left_alone(versions: TemplateVersions, run_cli) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("3.0.0"))
    (project / "docs").mkdir()
    (project / "docs" / "runbook.md").write_text(OWNER_LINE)
    commit(project, "Runbook")
    target = versions.release("3.1.0", add_gitignore_line)

    assert run_cli("update", str(project), "--to", target).exit_code == 0

    assert (project / "docs" / "runbook.md").read_text() == OWNER_LINE


def test_files_the_template_adds_and_removes_follow(versions: TemplateVersions, run_cli) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("4.0.0"))

    def add_and_remove(templates: Path) -> None:
        (templates / "flask" / "project" / "CONTRIBUTING.md").write_text("Open a pull request.\n")
        (templates / "flask" / "project" / ".pre-commit-config.yaml.jinja").unlink()

    result = run_cli("update", str(project), "--to", versions.release("4.1.0", add_and_remove))

    assert result.exit_code == 0, result.stderr
    assert (project / "CONTRIBUTING.md").read_text() == "Open a pull request.\n"
    assert not (project / ".pre-commit-config.yaml").exists()


def test_an_answer_changed_during_update_renders_what_it_adds(
    versions: TemplateVersions, run_cli
) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("5.0.0"), extensions=["sqlalchemy"])
    target = versions.release("5.1.0", add_gitignore_line)

    result = run_cli("update", str(project), "--to", target, "-d", "extensions=sqlalchemy,cors")

    assert result.exit_code == 0, result.stderr
    slug = project.name.replace("-", "_")
    assert "cors" in (project / slug / "extensions.py").read_text()
    assert (project / "tests" / "test_cors.py").is_file()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["extensions"] == ["sqlalchemy", "cors"]


def test_a_changed_pyproject_without_a_reachable_index_is_a_warning_not_a_failure(
    versions: TemplateVersions, run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    version = versions.release("5.2.0")
    project = versions.generate(version, extensions=["sqlalchemy"])

    result = run_cli("update", str(project), "--to", version, "-d", "extensions=sqlalchemy,cors")

    assert result.exit_code == 0, result.stderr
    assert "flask-cors" in (project / "pyproject.toml").read_text()
    assert result.stderr.startswith(
        "stackwise: warning: uv.lock no longer matches pyproject.toml ("
    )
    assert result.stderr.endswith(
        "run `uv lock` and commit uv.lock (CI and the image install with --locked)\n"
    )
    assert result.stderr.count("\n") == 1
    assert "Refreshed uv.lock" not in result.stdout
    assert not (project / "uv.lock").exists()


def test_a_dirty_tree_is_refused_and_nothing_changes(versions: TemplateVersions, run_cli) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("6.0.0"))
    (project / "README.md").write_text("work in progress\n")
    before = tree_digest(project)
    target = versions.release("6.1.0", add_gitignore_line)

    result = run_cli("update", str(project), "--to", target)

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "uncommitted changes" in result.stderr
    assert tree_digest(project) == before


def test_a_directory_that_was_not_generated_is_refused(run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("update", str(tmp_path))

    assert result.exit_code == 2
    assert "is not a generated project" in result.stderr


def test_updating_twice_changes_nothing_the_second_time(
    versions: TemplateVersions, run_cli
) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("7.0.0"))
    target = versions.release("7.1.0", add_gitignore_line)
    assert run_cli("update", str(project), "--to", target).exit_code == 0
    commit(project, "Take template 7.1.0")
    before = tree_digest(project)

    result = run_cli("update", str(project), "--to", target)

    assert result.exit_code == 0
    assert tree_digest(project) == before
    assert git(project, "status", "--porcelain") == ""


def test_status_reports_the_newer_version_and_the_owners_changes(
    versions: TemplateVersions, run_cli
) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("8.0.0"))
    edit(project / "README.md", "## Test it", "## Testing")
    (project / "notes.txt").write_text(OWNER_LINE)
    commit(project, "Owner changes")
    versions.release("8.1.0", add_gitignore_line)

    result = run_cli("status", str(project), "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["version"] == "v8.0.0"
    assert report["update_available"] is True
    assert report["changed_by_owner"] == ["README.md", "notes.txt"]
    assert report["answers"]["framework"] == "flask"


def test_diff_shows_the_update_without_touching_the_project(
    versions: TemplateVersions, run_cli
) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("9.0.0"))
    before = tree_digest(project)
    target = versions.release("9.1.0", add_gitignore_line)

    result = run_cli("diff", str(project), "--to", target)

    assert result.exit_code == 0, result.stderr
    assert "+*.log" in result.stdout
    assert tree_digest(project) == before


@pytest.mark.parametrize("framework", ["django", "fastapi"])
def test_each_framework_updates(versions: TemplateVersions, run_cli, framework: str) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release(f"10.0.{len(framework)}"), framework)
    target = versions.release(f"10.1.{len(framework)}", add_gitignore_line)

    result = run_cli("update", str(project), "--to", target)

    assert result.exit_code == 0, result.stderr
    assert "*.log" in (project / ".gitignore").read_text()


def rename_gunicorn_config(templates: Path) -> None:
    """A version that renames a file, with the copier migration that moves the owner's copy."""
    project = templates / "flask" / "project"
    (project / "gunicorn.conf.py.jinja").rename(project / "gunicorn_config.py.jinja")
    edit(
        templates.parent / "copier.yml",
        "_answers_file: .copier-answers.yml\n",
        "_answers_file: .copier-answers.yml\n_migrations:\n"
        "  - version: v11.1.0\n"
        "    when: \"{{ _stage == 'before' }}\"\n"
        "    command: [git, mv, -k, gunicorn.conf.py, gunicorn_config.py]\n",
    )


def test_a_renamed_file_takes_the_owners_edits_with_it(versions: TemplateVersions, run_cli) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("11.0.0"))
    config = project / "gunicorn.conf.py"
    config.write_text(config.read_text() + "keepalive = 5  # owner tuning\n")
    commit(project, "Owner tuning")

    result = run_cli(
        "update", str(project), "--to", versions.release("11.1.0", rename_gunicorn_config)
    )

    assert result.exit_code in (0, 1), result.stderr  # 1: the edit may arrive as a conflict
    assert not config.exists()
    assert "keepalive = 5  # owner tuning" in (project / "gunicorn_config.py").read_text()


def test_a_file_the_owner_deleted_stays_deleted_when_the_template_changes_it(
    versions: TemplateVersions, run_cli
) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("12.0.0"))
    (project / "docker-compose.yml").unlink()
    commit(project, "We deploy without compose")
    target = versions.release(
        "12.1.0",
        lambda t: edit(
            t / "flask" / "project" / "docker-compose.yml.jinja", "x-app: &app", "x-app: &app # v2"
        ),
    )

    result = run_cli("update", str(project), "--to", target)

    assert result.exit_code == 0, result.stderr
    assert not (project / "docker-compose.yml").exists()


def test_plain_copier_updates_through_the_store_redirect(versions: TemplateVersions) -> None:
    project = versions.generate(versions.release("13.0.0"))
    target = versions.release("13.1.0", add_gitignore_line)
    redirect = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{store.store_path().as_uri()}.insteadOf",
        "GIT_CONFIG_VALUE_0": store.TEMPLATE_URL,
    }
    copier_cli = Path(sys.executable).parent / "copier"

    subprocess.run(
        [str(copier_cli), "update", "--defaults", "--vcs-ref", target, "--quiet"],
        cwd=project,
        env={**os.environ, **redirect},
        check=True,
        capture_output=True,
    )

    assert "*.log" in (project / ".gitignore").read_text()


@pytest.mark.parametrize(
    ("to", "message"),
    [("v14.0.9", "no template version v14.0.9"), ("v13.9.0", "update to v13.9.0 failed")],
)
def test_a_missing_or_older_version_is_one_line_and_changes_nothing(
    versions: TemplateVersions, run_cli, to: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    versions.release("13.9.0")
    project = versions.generate(versions.release("14.0.0"))
    before = tree_digest(project)

    result = run_cli("update", str(project), "--to", to)

    assert result.exit_code != 0
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert tree_digest(project) == before


def test_switching_to_postgres_during_update(versions: TemplateVersions, run_cli) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("15.0.0"))
    target = versions.release("15.1.0", add_gitignore_line)

    result = run_cli("update", str(project), "--to", target, "-d", "database=postgres")

    assert result.exit_code == 0, result.stderr
    assert "psycopg" in (project / "pyproject.toml").read_text()
    assert "postgres" in (project / "docker-compose.yml").read_text()


def test_an_option_turned_on_during_update_gets_its_secret_in_the_local_env(
    versions: TemplateVersions, run_cli
) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("16.0.0"), "fastapi", auth="none")
    write_local_env(project)  # as `stackwise new` leaves it
    before = (project / ".env").read_text()
    assert "\nSECRET_KEY=" not in "\n" + before
    target = versions.release("16.1.0", add_gitignore_line)

    result = run_cli("update", str(project), "--to", target, "-d", "auth=jwt")

    assert result.exit_code == 0, result.stderr
    assert "Added to .env with fresh values: SECRET_KEY." in result.stdout
    after = (project / ".env").read_text()
    assert after.startswith(before)  # the owner's lines as they were
    added = dict(line.split("=", 1) for line in after[len(before) :].splitlines())
    assert list(added) == ["SECRET_KEY"] and len(added["SECRET_KEY"]) >= 50
    assert git(project, "status", "--porcelain", "--ignored", ".env").startswith("!!")


def test_an_unknown_answer_during_update_is_refused(versions: TemplateVersions, run_cli) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("16.0.0"))

    result = run_cli("update", str(project), "-d", "colour=blue")

    assert result.exit_code == 2
    assert "unknown question 'colour'" in result.stderr


@pytest.mark.parametrize("command", ["status", "diff"])
def test_status_and_diff_refuse_a_directory_that_was_not_generated(
    run_cli, tmp_path, command: str
) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(command, str(tmp_path))

    assert result.exit_code == 2
    assert "is not a generated project" in result.stderr


def test_status_of_a_project_on_the_newest_version(versions: TemplateVersions, run_cli) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("999.0.0"))

    report = json.loads(run_cli("status", str(project), "--json").stdout)

    assert report["update_available"] is False
    assert report["changed_by_owner"] == []


def test_status_ignores_what_git_ignores_and_says_how_each_file_changed(
    versions: TemplateVersions, run_cli
) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("17.0.0"))
    edit(project / "README.md", "## Test it", "## Test it (owner's wording)")
    (project / "docker-compose.yml").unlink()
    (project / "notes.txt").write_text(OWNER_LINE)
    for ignored in (".mypy_cache/3.11/cache.json", "staticfiles/app.css", "build.log"):
        (project / ignored).parent.mkdir(parents=True, exist_ok=True)
        (project / ignored).write_text("generated\n")
    (project / ".gitignore").write_text(
        (project / ".gitignore").read_text() + "staticfiles/\n*.log\n"
    )

    report = json.loads(run_cli("status", str(project), "--json").stdout)
    table = run_cli("status", str(project)).stdout

    assert report["changes"] == {
        ".gitignore": "edited",
        "README.md": "edited",
        "docker-compose.yml": "deleted",
        "notes.txt": "added",
    }
    assert "deleted  docker-compose.yml" in table and "added    notes.txt" in table


def test_status_shows_conflicts_an_update_left_and_what_to_do(
    versions: TemplateVersions, run_cli
) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("18.0.0"))
    edit(project / "README.md", "## Test it", "## Test it (owner's wording)")
    commit(project, "Owner wording")
    target = versions.release(
        "18.1.0", lambda t: edit(t / FLASK_README, "## Test it", "## Test it (template wording)")
    )
    assert run_cli("update", str(project), "--to", target).exit_code == 1

    report = json.loads(run_cli("status", str(project), "--json").stdout)
    table = run_cli("status", str(project)).stdout

    assert report["conflicts"] == ["README.md"]
    assert report["next"] == "resolve the <<<<<<< markers, `git add` the files, then commit"
    assert "In conflict" in table and "update not finished" in table, table
    assert "(newest)" not in table


def test_an_update_changes_no_recorded_answer_nobody_asked_it_to(
    versions: TemplateVersions, run_cli
) -> None:  # type: ignore[no-untyped-def]
    version = versions.release("17.0.0")
    project = versions.generate(version, "fastapi", auth="jwt", admin="sqladmin")
    before = tree_digest(project)

    refused = run_cli("update", str(project), "--to", version, "-d", "auth=none")
    assert refused.exit_code == 2
    assert refused.stderr == (
        "stackwise: error: the update would change admin from sqladmin to none, which the "
        "answers given or the new version rule out; pass -d admin=none (or another value) to "
        "change it\n"
    )
    assert tree_digest(project) == before

    both = run_cli("update", str(project), "--to", version, "-d", "auth=none", "-d", "admin=none")
    assert both.exit_code == 0, both.stderr
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["auth"], answers["admin"]) == ("none", "none")
