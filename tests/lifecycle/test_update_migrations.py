"""An option with tables, switched on by `stackwise update --data` in a project whose database was
already migrated: the update refreshes uv.lock, brings the option's tables as a new migration,
and the project's own migrate command then leaves a schema that matches its models. The owner's
edits and every applied migration stay as they were."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stackwise.config import load_config
from stackwise.lifecycle import update
from tests.lifecycle.conftest import commit, git
from tests.templates.as_run import UV, fresh_postgres_database, uv_environment
from tests.templates.conftest import generate

pytestmark = pytest.mark.templates

OWNER_LINE = "Our on-call rota lives in the wiki."


@dataclass
class Scenario:
    framework: str
    before: dict[str, object]
    change: dict[str, str]
    migrate: list[str]  # the project's own command, as its README gives it
    check: list[str]  # proves the schema matches the models
    new_table: str


SCENARIOS = [
    Scenario(
        "flask",
        {"extensions": ["sqlalchemy", "migrate", "wtf"]},
        {"extensions": "sqlalchemy,migrate,wtf,login"},
        ["flask", "db", "upgrade"],
        ["flask", "db", "check"],
        "users",
    ),
    Scenario(
        "fastapi",
        {"auth": "none"},
        {"auth": "jwt"},
        ["alembic", "upgrade", "head"],
        ["alembic", "check"],
        "users",
    ),
    Scenario(
        "django",
        {"cms": "none"},
        {"cms": "wagtail"},
        ["python", "manage.py", "migrate", "--noinput"],
        ["python", "manage.py", "makemigrations", "--check", "--dry-run"],
        "wagtailcore_page",
    ),
]


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    with fresh_postgres_database(postgres_url) as url:
        yield url


def run(project: Path, *command: str, database: str) -> str:
    """A command in the project's own environment; `.env` (development settings) is its own."""
    completed = subprocess.run(
        [UV, "run", "--locked", *command],
        cwd=project,
        env={**uv_environment(), "DATABASE_URL": database},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, f"{command}:\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout + completed.stderr


def migration_files(project: Path) -> dict[str, str]:
    return {
        str(path.relative_to(project)): path.read_text()
        for path in project.rglob("migrations/**/*.py")
        if ".venv" not in path.parts
    }


def table_names(database: str) -> set[str]:
    import psycopg

    with psycopg.connect(database) as connection:
        rows = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"{s.framework}-{s.change}")
def test_an_option_added_by_update_arrives_as_new_migrations_that_apply(
    scenario: Scenario, database: str, tmp_path: Path
) -> None:
    answers = {"framework": scenario.framework, "database": "postgres", **scenario.before}
    project = generate(tmp_path / "shop", answers).path
    run(project, *scenario.migrate, database=database)
    readme = project / "README.md"
    readme.write_text(readme.read_text() + f"\n{OWNER_LINE}\n")
    commit(project, "Owner notes")
    applied = migration_files(project)
    assert scenario.new_table not in table_names(database)

    summary = update(project, load_config(None, cwd=tmp_path), data=scenario.change)

    assert summary.relocked, summary.relock_warning
    assert summary.relock_warning is None
    assert not summary.conflicts
    assert "uv.lock" in summary.updated
    after = migration_files(project)
    assert {name: after.get(name) for name in applied} == applied  # none rewritten
    assert set(after) > set(applied)
    git(project, "add", "--all")
    git(project, "commit", "-q", "-m", "Add the option")
    run(project, *scenario.migrate, database=database)
    run(project, *scenario.check, database=database)
    assert scenario.new_table in table_names(database)
    assert OWNER_LINE in readme.read_text()
