"""Team configuration: where it is found, what it refuses, and what it does to `new`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from stackwise.config import find_config, load_config
from tests.unit.test_new import tree_digest


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A config in every place discovery looks, each naming itself in chooser.prefer."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home-config"))
    monkeypatch.delenv("STACKWISE_CONFIG", raising=False)
    cwd = tmp_path / "repo"
    return {
        "explicit": write(tmp_path / "explicit.toml", '[chooser]\nprefer = "django"\n'),
        "env": write(tmp_path / "env.toml", '[chooser]\nprefer = "flask"\n'),
        "cwd": write(cwd / "stackwise.toml", '[chooser]\nprefer = "fastapi"\n'),
        "pyproject": write(cwd / "pyproject.toml", '[tool.stackwise.chooser]\nprefer = "flask"\n'),
        "user": write(tmp_path / "home-config" / "stackwise" / "stackwise.toml", ""),
    }


def test_discovery_order_is_flag_env_directory_pyproject_then_user(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = places["cwd"].parent
    monkeypatch.setenv("STACKWISE_CONFIG", str(places["env"]))
    assert find_config(places["explicit"], cwd) == places["explicit"]
    assert find_config(None, cwd) == places["env"]
    monkeypatch.delenv("STACKWISE_CONFIG")
    assert find_config(None, cwd) == places["cwd"]
    places["cwd"].unlink()
    assert find_config(None, cwd) == places["pyproject"]
    assert load_config(None, cwd).chooser.prefer == "flask"  # read from [tool.stackwise]
    places["pyproject"].write_text('[project]\nname = "not-configured"\n')
    assert find_config(None, cwd) == places["user"]
    places["user"].unlink()
    assert find_config(None, cwd) is None
    assert load_config(None, cwd).path is None


def test_a_missing_explicit_config_is_an_error_not_a_fallback(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("--config", str(tmp_path / "absent.toml"), "recommend")

    assert result.exit_code == 2
    assert (
        result.stderr == f"stackwise: error: --config: {tmp_path / 'absent.toml'} does not exist\n"
    )


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("colour = 'blue'\n", "colour: unknown key"),
        ("[defaults]\nauthor_name = { first = 'A' }\n", "defaults.author_name: expected text"),
        ("[locked]\nlicense = 1.5\n", "locked.license: expected text, true/false"),
        ("[chooser]\nprefer = 3\n", "chooser.prefer: expected text, got int"),
        ("[chooser]\nprefer = 'rails'\n", "chooser.prefer: unknown 'rails'; expected one of"),
        ("[chooser]\nfavourite = 'flask'\n", "chooser.favourite: unknown key"),
        ("[templates.svc]\nframework = 'flask'\n", "templates.svc.source: missing"),
        ("[templates.svc]\nsource = '.'\n", "templates.svc: missing framework (or extends)"),
        (
            "[templates.svc]\nsource = '.'\nframework = 'flask'\nbranch = 'main'\n",
            "templates.svc.branch: unknown key; expected one of source, ref, framework",
        ),
        ("[templates.svc]\nsource = '.'\nextends = 'rails'\n", "templates.svc.extends: unknown"),
        (
            "[templates.svc]\nsource = '.'\nextends = 'flask'\nframework = 'django'\n",
            "templates.svc.framework: 'django' differs from what it extends",
        ),
        (
            "[templates.svc]\nsource = 'https://git.example.com/t.git'\nframework = 'flask'\n",
            "templates.svc.ref: missing; pin a tag or commit",
        ),
        (
            "[templates.fastapi]\nsource = '.'\nframework = 'fastapi'\n",
            "templates.fastapi: 'fastapi' is the name of a built-in template",
        ),
        (
            "[templates.svc]\nsource = '.'\nframework = 'flask'\ntrusted = 'yes'\n",
            "templates.svc.trusted: expected true or false, got str",
        ),
        ("[locked]\nframework = 'flask'\n", "locked.framework: the framework is not an answer"),
        ("templates = 'x'\n", "templates: expected a table"),
        ("[defaults\n", "is not valid TOML"),
    ],
)
def test_a_config_that_breaks_the_schema_is_one_line_naming_file_and_key(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, toml: str, expected: str
) -> None:
    config = write(tmp_path / "team.toml", toml)

    result = run_cli("--config", str(config), "recommend")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"stackwise: error: {config}")
    assert expected in result.stderr


TEAM = """\
[defaults]
author_name = "Platform Team"
database = "postgres"

[locked]
license = "Proprietary"
auth = "jwt"
extensions = ["sqlalchemy", "cors"]
"""


def answers_of(project: Path) -> dict[str, object]:
    return dict(yaml.safe_load((project / ".copier-answers.yml").read_text()))


def new(run_cli, config: Path, project: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_cli("--config", str(config), "new", str(project), "--defaults", "--no-git", *args)


def test_defaults_fill_unanswered_questions_and_locks_are_enforced(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write(tmp_path / "team.toml", TEAM)
    project = tmp_path / "orders"

    result = new(run_cli, config, project, "-f", "fastapi", "--data", "auth=jwt")

    assert result.exit_code == 0, result.stderr
    answers = answers_of(project)
    assert answers["author_name"] == "Platform Team"
    assert answers["database"] == "postgres"
    assert answers["license"] == "Proprietary"
    assert answers["auth"] == "jwt"  # the same value as the lock is accepted


def test_data_overrides_a_default(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write(tmp_path / "team.toml", TEAM)
    project = tmp_path / "orders"

    result = new(run_cli, config, project, "-f", "fastapi", "--data", "database=sqlite")

    assert result.exit_code == 0, result.stderr
    assert answers_of(project)["database"] == "sqlite"


def test_a_lock_on_a_list_answer_applies_to_the_framework_that_asks_it(
    run_cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    config = write(tmp_path / "team.toml", TEAM)

    flask = new(
        run_cli, config, tmp_path / "leaflet", "-f", "flask", "-d", "extensions=sqlalchemy,cors"
    )
    django = new(run_cli, config, tmp_path / "shop", "-f", "django")

    assert flask.exit_code == 0, flask.stderr
    assert answers_of(tmp_path / "leaflet")["extensions"] == ["sqlalchemy", "cors"]
    assert django.exit_code == 0, django.stderr  # auth and extensions are not Django questions
    assert answers_of(tmp_path / "shop")["license"] == "Proprietary"


@pytest.mark.parametrize(
    ("args", "refused"),
    [
        (("-f", "fastapi", "--data", "license=MIT"), "license=MIT is refused"),
        (("-f", "fastapi", "--data", "auth=none"), "auth=none is refused"),
        (("-f", "flask", "--data", "extensions=sqlalchemy"), "extensions=sqlalchemy is refused"),
    ],
)
def test_data_that_contradicts_a_lock_is_refused_and_nothing_is_written(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, args: tuple[str, ...], refused: str
) -> None:
    config = write(tmp_path / "team.toml", TEAM)
    before = tree_digest(tmp_path)

    result = new(run_cli, config, tmp_path / "orders", *args)

    assert result.exit_code == 2
    assert refused in result.stderr
    assert f"{config} locks" in result.stderr
    assert result.stderr.count("\n") == 1
    assert tree_digest(tmp_path) == before


def test_an_answers_file_cannot_unlock_an_answer_either(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write(tmp_path / "team.toml", TEAM)
    answers = write(tmp_path / "answers.yml", "license: MIT\n")

    result = new(
        run_cli, config, tmp_path / "orders", "-f", "django", "--answers-file", str(answers)
    )

    assert result.exit_code == 2
    assert "license=MIT is refused" in result.stderr
    assert not (tmp_path / "orders").exists()


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[locked]\nlicence = 'MIT'\n", "locked.licence: no template asks this question"),
        ("[defaults]\nlicense = 'GPL'\n", "defaults.license: 'GPL' is not one of MIT, Apache-2.0"),
    ],
)
def test_a_config_answer_no_template_can_take_is_named(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, toml: str, expected: str
) -> None:
    config = write(tmp_path / "team.toml", toml)

    result = new(run_cli, config, tmp_path / "orders", "-f", "flask")

    assert result.exit_code == 2
    assert expected in result.stderr
    assert str(config) in result.stderr
    assert not (tmp_path / "orders").exists()


def test_pyproject_tool_table_configures_new(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "pyproject.toml", '[tool.stackwise.locked]\nlicense = "BSD-3-Clause"\n')
    monkeypatch.chdir(tmp_path)

    result = run_cli("new", "svc", "-f", "flask", "--defaults", "--no-git")

    assert result.exit_code == 0, result.stderr
    assert answers_of(tmp_path / "svc")["license"] == "BSD-3-Clause"


def recommendation(run_cli, config: Path, *args: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    result = run_cli("--config", str(config), "recommend", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_a_preferred_framework_is_weighed_and_said(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write(tmp_path / "team.toml", '[chooser]\nprefer = "flask"\nteam_knows = "flask"\n')

    chosen = recommendation(run_cli, config)
    text = run_cli("--config", str(config), "recommend")

    assert chosen["recommended"] == "flask"
    ranking = chosen["ranking"]
    assert isinstance(ranking, list)
    assert "Your team configuration prefers Flask." in ranking[0]["reasons"]
    assert "Your team already knows Flask." in ranking[0]["reasons"]
    assert chosen["team_config"] == str(config)
    assert f"Weighed the team configuration {config}." in text.stdout


def test_a_preference_does_not_outweigh_what_the_project_needs(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write(tmp_path / "team.toml", '[chooser]\nprefer = "flask"\n')

    chosen = recommendation(run_cli, config, "--use-case", "web-app", "--need", "admin")

    assert chosen["recommended"] == "django"
    ranking = chosen["ranking"]
    assert isinstance(ranking, list)
    flask = next(r for r in ranking if r["framework"] == "flask")
    assert "Your team configuration prefers Flask." in flask["reasons"]


def test_new_without_a_framework_follows_the_team_preference(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write(tmp_path / "team.toml", '[chooser]\nprefer = "fastapi"\n')

    result = new(run_cli, config, tmp_path / "svc")

    assert result.exit_code == 0, result.stderr
    assert "Using FastAPI, the recommendation for your input." in result.stdout
    assert answers_of(tmp_path / "svc")["framework"] == "fastapi"


def test_templates_lists_built_in_and_team_templates_with_versions(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    template = write(tmp_path / "starter" / "copier.yml", "team:\n  type: str\n  default: core\n")
    config = write(
        tmp_path / "team.toml",
        f'[templates.starter]\nsource = "{template.parent}"\nextends = "flask"\n',
    )

    listing = json.loads(run_cli("--config", str(config), "templates", "--json").stdout)
    text = run_cli("--config", str(config), "templates").stdout

    by_name = {t["name"]: t for t in listing}
    assert list(by_name) == ["django", "fastapi", "flask", "starter"]
    assert by_name["starter"]["kind"] == "team"
    assert by_name["starter"]["version"] == "unversioned"
    assert by_name["starter"]["extends"] == "flask"
    assert {"team", "extensions"} <= set(by_name["starter"]["options"])
    assert by_name["flask"]["kind"] == "builtin"
    assert "starter unversioned (team, extends flask)" in text


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("--template", "nope"),
            "unknown template 'nope'; choose from: django, fastapi, flask, starter",
        ),
        (
            ("--template", "starter", "-f", "django"),
            "template starter is a flask template, not django",
        ),
    ],
)
def test_a_template_choice_that_cannot_work_is_refused(
    run_cli, tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "starter" / "copier.yml", "team:\n  type: str\n  default: core\n")
    config = write(
        tmp_path / "team.toml", '[templates.starter]\nsource = "starter"\nframework = "flask"\n'
    )

    result = new(run_cli, config, tmp_path / "svc", *args)

    assert result.exit_code == 2
    assert expected in result.stderr
    assert not (tmp_path / "svc").exists()


def test_a_team_template_whose_source_is_gone_is_named(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write(
        tmp_path / "team.toml", '[templates.starter]\nsource = "gone"\nframework = "flask"\n'
    )

    result = new(run_cli, config, tmp_path / "svc", "--template", "starter")

    assert result.exit_code == 2
    assert result.stderr == (
        f"stackwise: error: team template starter: {tmp_path / 'gone'} is not a directory\n"
    )


def test_pretend_shows_both_layers_and_writes_nothing(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "layer" / "copier.yml", "project_slug:\n  type: str\n")
    write(
        tmp_path / "layer" / "{{ project_slug }}_policy.md.jinja", "Policy of {{ project_slug }}\n"
    )
    config = write(
        tmp_path / "team.toml", '[templates.layer]\nsource = "layer"\nextends = "flask"\n'
    )

    result = new(run_cli, config, tmp_path / "shop-front", "--template", "layer", "--pretend")

    assert result.exit_code == 0, result.stderr
    assert "wsgi.py" in result.stderr  # copier lists the files: the built-in layer's
    assert "shop_front_policy.md" in result.stderr  # and the team layer's, with the base's slug
    assert not (tmp_path / "shop-front").exists()
