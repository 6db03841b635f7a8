"""`stackwise new`: what lands on disk, and that failures leave nothing behind."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stackwise.cli import _uv_command
from tests.conftest import REPO_ROOT


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize(
    ("framework", "entry_point", "start"),
    [
        (
            "django",
            "manage.py",
            "uv run python manage.py migrate && uv run python manage.py runserver",
        ),
        ("flask", "wsgi.py", "uv run flask db upgrade && uv run flask run --debug"),
        ("fastapi", "app/main.py", "uv run alembic upgrade head && uv run uvicorn app.main:app"),
    ],
)
def test_new_with_defaults_renders_a_committed_project(  # type: ignore[no-untyped-def]
    run_cli, tmp_path, framework: str, entry_point: str, start: str
) -> None:
    destination = tmp_path / "order-service"
    result = run_cli("new", str(destination), "--framework", framework, "--defaults")

    assert result.exit_code == 0, result.stderr
    assert (destination / entry_point).is_file()
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["framework"] == framework
    assert answers["project_slug"] == "order_service"
    assert git(destination, "log", "--format=%s") == "Generate project with stackwise"
    assert git(destination, "status", "--porcelain") == ""
    # Next steps start the app as its README says, migrations first (with the uv on PATH).
    steps = "\n".join(
        result.stdout.replace(_uv_command(), "uv").split("Next steps")[1].splitlines()[1:]
    )
    assert f"  uv sync && {start}" in steps, steps
    assert re.search(r"^  uv run pytest\b", steps, re.M), steps


def test_new_without_a_reachable_index_warns_and_still_commits(  # type: ignore[no-untyped-def]
    run_cli, tmp_path
) -> None:
    # tests/unit/conftest.py: offline, with an empty uv cache, so nothing can be locked.
    destination = tmp_path / "offline"
    result = run_cli("new", str(destination), "-f", "flask", "--defaults")

    assert result.exit_code == 0
    assert result.stderr.startswith("stackwise: warning: uv.lock not written (")
    assert result.stderr.endswith(
        "run `uv lock` and commit uv.lock: CI and the image install from it\n"
    )
    assert result.stderr.count("\n") == 1
    assert not (destination / "uv.lock").exists()
    assert git(destination, "status", "--porcelain") == ""
    assert "Initialised a git repository with a first commit." in result.stdout


def test_auto_framework_follows_the_recommendation(run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    destination = tmp_path / "inference"
    result = run_cli("new", str(destination), "--use-case", "ml-serving", "--no-input")

    assert result.exit_code == 0, result.stderr
    assert "Using FastAPI" in result.stdout
    assert (
        yaml.safe_load((destination / ".copier-answers.yml").read_text())["framework"] == "fastapi"
    )


def test_data_and_answers_file_answer_questions(run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    answers_file = tmp_path / "answers.yml"
    answers_file.write_text("license: Apache-2.0\nproject_name: Billing\n_src_path: ignored\n")
    destination = tmp_path / "billing"

    result = run_cli(
        "new",
        str(destination),
        "-f",
        "django",
        "--defaults",
        "--answers-file",
        str(answers_file),
        "--data",
        "admin_url=staff/",
        "--data",
        "project_name=Billing API",
    )

    assert result.exit_code == 0, result.stderr
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert (answers["license"], answers["admin_url"], answers["project_name"]) == (
        "Apache-2.0",
        "staff/",
        "Billing API",
    )
    assert "Apache License" in (destination / "LICENSE").read_text()


def test_no_git_leaves_no_repository(run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    destination = tmp_path / "plain"
    assert run_cli("new", str(destination), "-f", "flask", "--defaults", "--no-git").exit_code == 0

    assert (destination / "pyproject.toml").is_file()
    assert not (destination / ".git").exists()


def test_pretend_writes_nothing(run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    destination = tmp_path / "dry-run"
    result = run_cli("new", str(destination), "-f", "flask", "--defaults", "--pretend")

    assert result.exit_code == 0, result.stderr
    assert "nothing was written" in result.stdout
    assert not destination.exists()


def test_empty_existing_directory_is_used(run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    destination = tmp_path / "empty"
    destination.mkdir()

    assert run_cli("new", str(destination), "-f", "fastapi", "--defaults").exit_code == 0
    assert (destination / "app" / "main.py").is_file()


def test_force_renders_into_a_non_empty_directory_and_keeps_other_files(run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    destination = tmp_path / "existing"
    destination.mkdir()
    (destination / "notes.txt").write_text("mine")

    assert run_cli("new", str(destination), "-f", "flask", "--defaults", "--force").exit_code == 0
    assert (destination / "notes.txt").read_text() == "mine"
    assert (destination / "wsgi.py").is_file()


def test_prompting_without_a_terminal_is_refused(tmp_path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "stackwise.cli", "new", str(tmp_path / "svc")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 2
    assert completed.stderr.strip() == (
        "stackwise: error: no terminal to ask questions in: pass --defaults or --no-input"
    )


def test_plain_copier_renders_the_repository_without_stackwise(tmp_path) -> None:
    destination = tmp_path / "plain-copier"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--quiet",
            "--vcs-ref",
            "HEAD",
            str(REPO_ROOT),
            str(destination),
            "--data",
            "framework=flask",
            "--defaults",
        ],
        capture_output=True,
        text=True,
        check=True,
    )

    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["framework"] == "flask"
    assert (destination / "plain_copier" / "__init__.py").is_file()


def test_first_commit_uses_the_project_author_when_git_has_no_identity(  # type: ignore[no-untyped-def]
    run_cli, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    destination = tmp_path / "svc"

    result = run_cli(
        "new",
        str(destination),
        "-f",
        "flask",
        "--defaults",
        "--data",
        "author_name=Ada Lovelace",
        "--data",
        "author_email=ada@example.org",
    )

    assert result.exit_code == 0, result.stderr
    assert git(destination, "log", "--format=%an <%ae>") == "Ada Lovelace <ada@example.org>"


MAXIMAL = {
    "django": ["api=drf", "cms=wagtail", "celery=true", "sentry=true", "database=postgres"],
    "flask": [
        "extensions=sqlalchemy,migrate,login,wtf,admin,api,cors,limiter,caching,talisman,celery",
        "database=postgres",
    ],
    "fastapi": [
        "admin=sqladmin",
        "websockets=true",
        "ml_serving=true",
        "background=celery",
        "database=postgres",
    ],
}
SECRET_NAMES = {"django": "DJANGO_SECRET_KEY", "flask": "SECRET_KEY", "fastapi": "SECRET_KEY"}


@pytest.mark.parametrize("options", ["defaults", "maximal"])
@pytest.mark.parametrize("framework", ["django", "flask", "fastapi"])
def test_every_project_gets_its_own_secret_in_an_untracked_env(  # type: ignore[no-untyped-def]
    run_cli, tmp_path, framework: str, options: str
) -> None:
    answers = [arg for answer in MAXIMAL[framework] for arg in ("-d", answer)]
    keys = []
    for name in ("first", "second"):
        destination = tmp_path / name
        chosen = answers if options == "maximal" else []
        assert (
            run_cli("new", str(destination), "-f", framework, "--defaults", *chosen).exit_code == 0
        )
        env = dict(
            line.split("=", 1)
            for line in (destination / ".env").read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
        keys.append(env[SECRET_NAMES[framework]])
        tracked = git(destination, "ls-files").splitlines()
        assert ".env" not in tracked
        assert git(destination, "check-ignore", ".env") == ".env"
        assert (destination / ".env").stat().st_mode & 0o077 == 0
        # The secret is nowhere in what is committed.
        assert not any(keys[-1] in (destination / f).read_text(errors="replace") for f in tracked)

    assert all(len(key) >= 50 for key in keys)
    assert keys[0] != keys[1]


def flask_extensions_after_new(run_cli, destination: Path, *options: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Render a Flask project with `options`; the extensions its answers file records."""
    result = run_cli("new", str(destination), "-f", "flask", "--defaults", "--no-git", *options)
    assert result.exit_code == 0, result.stderr
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    return list(answers["extensions"])


@pytest.mark.parametrize(
    "written", ["sqlalchemy,migrate", "[sqlalchemy, migrate]", " sqlalchemy , migrate "]
)
def test_a_list_answer_may_be_yaml_or_comma_separated(run_cli, tmp_path, written: str) -> None:  # type: ignore[no-untyped-def]
    destination = tmp_path / "svc"

    extensions = flask_extensions_after_new(run_cli, destination, "-d", f"extensions={written}")

    assert extensions == ["sqlalchemy", "migrate"]
    assert (destination / "migrations" / "env.py").is_file()
    assert not (destination / "svc" / "auth.py").exists()


def test_a_list_in_an_answers_file_reaches_the_template(run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    answers_file = tmp_path / "answers.yml"
    answers_file.write_text("extensions: [cors, limiter]\n")

    extensions = flask_extensions_after_new(
        run_cli, tmp_path / "svc", "--answers-file", str(answers_file)
    )

    assert extensions == ["cors", "limiter"]


@pytest.mark.parametrize(
    ("folder", "slug"),
    [("2024", "app_2024"), ("!!!", "project"), ("flask", "flask_app"), ("My Shop", "my_shop")],
)
def test_the_slug_made_from_any_folder_name_is_one_the_template_takes(  # type: ignore[no-untyped-def]
    run_cli, tmp_path, folder: str, slug: str
) -> None:
    result = run_cli("new", str(tmp_path / folder), "-f", "flask", "--defaults", "--no-git")

    assert result.exit_code == 0, result.stderr
    answers = yaml.safe_load((tmp_path / folder / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == slug
