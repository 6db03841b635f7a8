"""Released migrations are never edited: every migration a template renders reads the same
whatever the answers, so an option switched on later (`stackwise update --data`) adds revisions
and changes none that a database has already applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackwise.answers import answer_text
from stackwise.catalog import template_for
from stackwise.render import NewProject, new_project

# Each option's values; the first is the default. A combination varies one option at a time.
OPTIONS = {
    "django": {
        "api": ["none", "drf", "ninja"],
        "cms": ["none", "wagtail"],
        "celery": [False, True],
        "database": ["sqlite", "postgres"],
    },
    "flask": {
        "extensions": [
            ["sqlalchemy", "migrate"],
            ["sqlalchemy", "migrate", "login", "wtf"],
            ["sqlalchemy", "migrate", "login", "wtf", "admin", "api", "celery"],
        ],
        "database": ["sqlite", "postgres"],
    },
    "fastapi": {
        "auth": ["none", "jwt"],
        "admin": ["none", "sqladmin"],
        "background": ["none", "celery"],
        "database": ["sqlite", "postgres"],
    },
}
# Answers that shape the first migration and so cannot change once a database exists: Django's
# user model logs in by username or by email from its first migration on.
FIXED_AT_GENERATION = {"django": {"login_by": "username"}}


def combinations(framework: str) -> list[dict[str, object]]:
    options = OPTIONS[framework]
    base = {name: values[0] for name, values in options.items()}
    rows = [{**base, name: value} for name, values in options.items() for value in values[1:]]
    return [base, *rows]


def migrations(project: Path) -> dict[str, str]:
    return {
        str(path.relative_to(project)): path.read_text()
        for path in project.rglob("migrations/**/*.py")
        if path.name not in ("__init__.py", "env.py") and ".venv" not in path.parts
    }


@pytest.mark.parametrize("framework", ["django", "flask", "fastapi"])
def test_a_migration_reads_the_same_whatever_the_options(framework: str, tmp_path: Path) -> None:
    seen: dict[str, str] = {}
    for index, answers in enumerate(combinations(framework)):
        if framework == "fastapi" and answers["admin"] == "sqladmin":
            answers["auth"] = "jwt"  # the admin logs in with the project's users
        data = {**FIXED_AT_GENERATION.get(framework, {}), **answers, "project_slug": "shop"}
        destination = tmp_path / f"project-{index}"
        request = NewProject(
            destination=destination,
            template=template_for(framework),
            data={name: answer_text(value) for name, value in data.items()},
            git=False,
        )
        new_project(request)
        for name, text in migrations(destination).items():
            assert seen.setdefault(name, text) == text, f"{name} changes with {answers}"
    assert seen, "no migration was rendered"
