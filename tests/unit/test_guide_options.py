"""What is being built flows into the template: each use case and need pre-fills the options
that provide it (guide.toml `options`), for every framework whose template has them."""

from __future__ import annotations

import json
from itertools import product
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackwise.answers import guide_options
from stackwise.catalog import builtin_templates
from stackwise.chooser import Requirements
from stackwise.guide import load_guide
from stackwise.render import NewProject, new_project

GUIDE = load_guide()
TEMPLATES = builtin_templates()

# The table the guide must hold, written out here: what each use case and need switches on.
# A use case's list is the starting set; a need's list adds to it (or to the default).
USE_CASE_OPTIONS: dict[str, dict[str, dict[str, Any]]] = {
    "web-app": {"flask": {"extensions": ["sqlalchemy", "migrate", "wtf", "login"]}},
    "api": {"django": {"api": "drf"}, "flask": {"extensions": ["sqlalchemy", "migrate", "api"]}},
    "ml-serving": {"fastapi": {"ml_serving": True}},
    "microservice": {"flask": {"extensions": ["api"]}},
    "webhooks": {},
    "internal-tool": {},
    "cms": {"django": {"cms": "wagtail"}},
    "e-commerce": {},
    "realtime": {"fastapi": {"websockets": True}},
    "prototype": {},
}
NEED_OPTIONS: dict[str, dict[str, dict[str, Any]]] = {
    "admin": {
        "flask": {"extensions": ["sqlalchemy", "wtf", "login", "admin"]},
        "fastapi": {"auth": "jwt", "admin": "sqladmin"},
    },
    "auth": {"flask": {"extensions": ["sqlalchemy", "wtf", "login"]}, "fastapi": {"auth": "jwt"}},
    "server-rendered": {},
    "api-docs": {"django": {"api": "drf"}, "flask": {"extensions": ["api"]}},
    "type-validation": {"django": {"api": "ninja"}},
    "async": {},
    "websockets": {"fastapi": {"websockets": True}},
    "migrations": {"flask": {"extensions": ["sqlalchemy", "migrate"]}},
    "permissions": {},
}
CASES = list(product([None, *GUIDE.use_cases], [None, *GUIDE.needs], GUIDE.frameworks))


def expected(use_case: str | None, need: str | None, framework: str) -> dict[str, Any]:
    """The table applied by hand: the use case first, then the need."""
    template = TEMPLATES[framework]
    defaults = {q.name: q.default for q in template.questions}
    options: dict[str, Any] = (
        dict(USE_CASE_OPTIONS[use_case].get(framework, {})) if use_case else {}
    )
    for name, value in (NEED_OPTIONS[need].get(framework, {}) if need else {}).items():
        if isinstance(value, list):
            value = sorted({*options.get(name, defaults[name]), *value})
        options[name] = value
    return {k: sorted(v) if isinstance(v, list) else v for k, v in options.items()}


def test_the_table_names_every_use_case_and_need_of_the_guide() -> None:
    assert set(USE_CASE_OPTIONS) == set(GUIDE.use_cases)
    assert set(NEED_OPTIONS) == set(GUIDE.needs)


@pytest.mark.parametrize(("use_case", "need", "framework"), CASES)
def test_each_use_case_and_need_switches_on_the_options_that_provide_it(
    use_case: str | None, need: str | None, framework: str
) -> None:
    requirements = Requirements(use_case=use_case, needs=frozenset([need] if need else []))
    options = guide_options(requirements, framework, TEMPLATES[framework])

    assert {k: sorted(v) if isinstance(v, list) else v for k, v in options.items()} == expected(
        use_case, need, framework
    )


def distinct_option_sets() -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    for use_case, need, framework in CASES:
        requirements = Requirements(use_case=use_case, needs=frozenset([need] if need else []))
        options = guide_options(requirements, framework, TEMPLATES[framework])
        if (framework, options) not in seen:
            seen.append((framework, options))
    return seen


@pytest.mark.parametrize(
    ("framework", "options"),
    distinct_option_sets(),
    ids=lambda value: value if isinstance(value, str) else yaml.safe_dump(value, width=999),
)
def test_every_combination_the_guide_can_pre_fill_is_one_the_template_accepts(
    framework: str, options: dict[str, Any], tmp_path: Path
) -> None:
    template = TEMPLATES[framework]

    # Pretend mode: copier asks and checks every answer and renders, and nothing is written.
    new_project(NewProject(tmp_path / "shop", template, suggested=options, pretend=True))

    assert not (tmp_path / "shop").exists()


def answers_of(project: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((project / ".copier-answers.yml").read_text()))


@pytest.mark.parametrize(
    ("args", "framework", "switched_on"),
    [
        (
            ["--use-case", "ml-serving", "--need", "admin"],
            "fastapi",
            {"ml_serving": True, "admin": "sqladmin", "auth": "jwt"},
        ),
        (["--use-case", "cms"], "django", {"cms": "wagtail"}),
        (
            ["-f", "flask", "--need", "admin"],
            "flask",
            {"extensions": ["sqlalchemy", "migrate", "login", "wtf", "admin"]},
        ),
        (["-f", "fastapi", "--use-case", "realtime"], "fastapi", {"websockets": True}),
    ],
    ids=["ml-serving+admin", "cms", "flask+admin", "realtime"],
)
def test_new_renders_what_the_use_case_and_needs_ask_for(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, args: list[str], framework: str, switched_on: dict[str, Any]
) -> None:
    project = tmp_path / "shop"
    result = run_cli("new", str(project), "--defaults", "--no-git", *args)

    assert result.exit_code == 0, result.stderr
    answers = answers_of(project)
    assert answers["framework"] == framework
    assert {name: answers[name] for name in switched_on} == switched_on
    assert "Switched on for what you are building: " in result.stdout


def test_data_and_team_locks_win_over_what_the_guide_pre_fills(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path
) -> None:
    config = tmp_path / "team.toml"
    config.write_text("[locked]\nwebsockets = false\n")
    project = tmp_path / "live"

    result = run_cli(
        "--config",
        str(config),
        "new",
        str(project),
        "--defaults",
        "--no-git",
        "--use-case",
        "realtime",
        "--need",
        "admin",
        "--data",
        "admin=none",
    )

    assert result.exit_code == 0, result.stderr
    answers = answers_of(project)
    assert (answers["framework"], answers["admin"], answers["websockets"]) == (
        "fastapi",
        "none",
        False,
    )
    assert "Switched on" not in result.stdout  # nothing the guide offered was taken
    assert "decided otherwise): websockets=true, admin=sqladmin." in result.stdout


def test_recommend_under_a_team_configuration_names_only_what_new_would_switch_on(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path
) -> None:
    config = tmp_path / "team.toml"
    config.write_text('[locked]\nwebsockets = false\n\n[defaults]\nauth = "none"\n')

    shown = run_cli("--config", str(config), "recommend", "--use-case", "realtime", "-n", "admin")
    as_json = run_cli(
        "--config", str(config), "recommend", "--use-case", "realtime", "-n", "admin", "--json"
    )

    assert shown.exit_code == as_json.exit_code == 0
    # The lock wins over websockets=true; auth=jwt replaces the team's default for the admin.
    assert "which switches on auth=jwt, admin=sqladmin." in shown.stdout
    ranking = json.loads(as_json.stdout)["ranking"]
    fastapi = next(entry for entry in ranking if entry["framework"] == "fastapi")
    assert fastapi["options"] == {"auth": "jwt", "admin": "sqladmin"}


def test_recommend_says_what_the_recommended_project_switches_on(run_cli) -> None:  # type: ignore[no-untyped-def]
    shown = run_cli("recommend", "--use-case", "ml-serving", "--need", "admin")
    as_json = run_cli("recommend", "--use-case", "ml-serving", "--need", "admin", "--json")

    assert shown.exit_code == as_json.exit_code == 0
    assert "switches on ml_serving=true, admin=sqladmin." in shown.stdout
    options = {r["framework"]: r["options"] for r in json.loads(as_json.stdout)["ranking"]}
    assert options == {
        "fastapi": {"ml_serving": True, "auth": "jwt", "admin": "sqladmin"},
        "flask": {"extensions": ["sqlalchemy", "migrate", "login", "wtf", "admin"]},
        "django": {},
    }
