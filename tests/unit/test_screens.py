"""What the screen says: a recommendation that fits 80x24, next steps to paste into a shell,
completion that offers values, help with real metavars, and `templates` under a team config."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pexpect
import pyte
import pytest
import yaml
from jinja2 import Environment

from stackwise.cli import next_steps
from stackwise.guide import load_guide
from stackwise.render import start_command

GUIDE = load_guide()
JINJA = Environment()  # noqa: S701 - help text, not a page


def stackwise(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run the installed command as a user's shell would, on an 80x24 terminal's width."""
    completed = subprocess.run(
        [sys.executable, "-m", "stackwise.cli", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "80", "LINES": "24", "NO_COLOR": "1", **(env or {})},
    )
    return completed.stdout


@pytest.mark.parametrize("use_case", [None, *GUIDE.use_cases])
def test_recommend_fits_an_80x24_terminal_with_one_line_per_framework(use_case: str | None) -> None:
    # Every need at once: the most a recommendation can say.
    asked = ["--use-case", use_case] if use_case else []
    for need in GUIDE.needs:
        asked += ["--need", need]

    screen = stackwise("recommend", *asked).splitlines()

    assert len(screen) <= 24, screen
    assert all(len(line) <= 80 for line in screen if not line.startswith("  stackwise new")), screen
    ranked = [line.split()[1] for line in screen if re.match(r"^ +\d  ", line)]
    assert sorted(ranked) == sorted(f.label for f in GUIDE.frameworks.values()), screen


def test_recommend_says_how_to_create_the_project_and_explain_shows_every_reason() -> None:
    short = stackwise("recommend", "--use-case", "ml-serving", "--need", "admin")
    explained = stackwise("recommend", "--use-case", "ml-serving", "--need", "admin", "--explain")

    assert "add --explain" in short
    command = next(line for line in short.splitlines() if line.startswith("  stackwise new"))
    assert shlex.split(command) == [
        "stackwise", "new", "my-app", "--framework", "fastapi",
        "--use-case", "ml-serving", "--need", "admin",
    ]  # fmt: skip
    # The caveats the short view leaves out are all in the long one.
    assert "Flask-Admin" not in short
    assert "Flask-Admin" in explained
    assert "SQLAdmin" in explained


def test_recommend_json_keeps_its_shape() -> None:
    report = json.loads(stackwise("recommend", "--use-case", "api", "--json"))

    assert set(report) >= {"recommended", "ranking", "team_config", "team_templates"}
    # `options`: the template answers the guide gives each framework for what is being built.
    assert set(report["ranking"][0]) == {"framework", "score", "reasons", "caveats", "options"}


@pytest.mark.parametrize("name", ["My App", "it's mine", "-dash", "$HOME", "a;b", "tab\there"])
def test_next_steps_cd_pastes_into_sh(tmp_path: Path, name: str) -> None:
    (tmp_path / name).mkdir()

    cd = next_steps(Path(name), None, "uv")[0]
    completed = subprocess.run(
        ["sh", "-c", f"{cd} && pwd"], cwd=tmp_path, capture_output=True, text=True, check=True
    )

    assert completed.stdout.strip() == str(tmp_path / name)


def test_next_steps_name_the_uv_stackwise_found_and_skip_cd_for_here() -> None:
    steps = next_steps(Path(), "uv sync && uv run flask run --debug", "/opt/uv bin/uv")

    assert not any(step.startswith("cd ") for step in steps)
    assert steps[0].startswith("/opt/uv bin/uv sync && /opt/uv bin/uv run flask run --debug")


def test_new_next_steps_quote_the_path_and_start_the_app(
    run_cli,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("stackwise.cli._uv_command", lambda: "uv")

    result = run_cli("new", "My App", "-f", "flask", "--defaults", "-d", "extensions=sqlalchemy")

    assert result.exit_code == 0, result.stderr
    steps = [line.strip() for line in result.stdout.split("Next steps")[1].splitlines()[1:]]
    assert steps[0] == "cd 'My App'"
    # Without Flask-Migrate there is no migration to run before the server.
    assert steps[1].startswith("uv sync && uv run flask run --debug")
    assert steps[2].startswith("uv run pytest")
    pasted = subprocess.run(
        ["sh", "-c", f"{steps[0]} && pwd"], capture_output=True, text=True, check=True
    )
    assert pasted.stdout.strip() == str(tmp_path / "My App")


def test_start_command_is_the_readme_s(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(
        "# x\n\n## Run it\n\nWith uv:\n\n```sh\nuv sync && uv run serve\n```\n\n## Test\n"
        "```sh\nuv run pytest\n```\n"
    )

    assert start_command(tmp_path) == "uv sync && uv run serve"
    assert start_command(tmp_path / "absent") is None


def complete(words: str) -> list[str]:
    """What zsh would be offered after `words` (click's completion protocol, as typer runs it)."""
    env = {"_STACKWISE_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": words}
    output = stackwise(env=env)
    return re.findall(r'^(?:_arguments .*?\(\()?"((?:[^"\\]|\\.)*)"', output, re.M)


def test_completion_offers_use_cases_needs_and_frameworks() -> None:
    assert complete("stackwise recommend --use-case ") == list(GUIDE.use_cases)
    assert complete("stackwise recommend --need a") == [n for n in GUIDE.needs if n[0] == "a"]
    assert complete("stackwise new x --team-knows ") == list(GUIDE.frameworks)
    assert complete("stackwise new x --framework ") == [*GUIDE.frameworks, "auto"]


def test_completion_offers_data_keys_then_their_values() -> None:
    assert "database=" in complete("stackwise new x -f flask -d ")
    assert "admin_url=" not in complete("stackwise new x -f flask -d ")  # Django's
    assert complete("stackwise new x -f flask -d database=") == [
        "database=sqlite",
        "database=postgres",
    ]
    offered = complete("stackwise new x -f flask -d extensions=sqlalchemy,l")
    assert offered == ["extensions=sqlalchemy,login", "extensions=sqlalchemy,limiter"]
    assert complete("stackwise new x -f fastapi -d websockets=") == [
        "websockets=true",
        "websockets=false",
    ]


@pytest.mark.parametrize("command", ["new", "recommend", "update"])
def test_help_shows_metavars_not_python_types(command: str) -> None:
    text = stackwise(command, "--help")

    assert "list[str]" not in text
    assert "<str>" not in text
    if command != "update":
        assert "--need NEED" in text
    if command != "recommend":
        assert "--data KEY=VALUE" in text


def defaults_shown(table: str, template: str) -> dict[str, str]:
    """Option: default, from the table `stackwise templates` printed for `template`."""
    section = re.split(r"^(\w+) \d", table, flags=re.M)
    rows = section[section.index(template) + 1].splitlines()
    cells = [[cell.strip() for cell in row.split("│")] for row in rows if row.count("│") == 5]
    return {cell[1]: cell[2] for cell in cells if cell[1]}


def test_templates_shows_the_team_s_defaults_and_locks_as_typed(tmp_path: Path) -> None:
    team = tmp_path / "stackwise.toml"
    team.write_text(
        '[defaults]\nlicense = "Apache-2.0"\nextensions = ["sqlalchemy", "login"]\n'
        "sentry = true\n"
        '[locked]\ndatabase = "postgres"\ncelery = false\n'
    )

    table = stackwise("--config", str(team), "templates", env={"COLUMNS": "200"})
    listing = json.loads(stackwise("--config", str(team), "templates", "--json"))

    flask, django = defaults_shown(table, "flask"), defaults_shown(table, "django")
    assert flask["license"] == "Apache-2.0 (team)"
    assert flask["extensions"] == "sqlalchemy,login (team)"
    assert flask["database"] == "postgres (locked)"
    assert django["sentry"] == "true (team)"
    assert flask["python_version"] == "3.11"
    assert django["celery"] == "false (locked)"
    assert "False" not in table and "['" not in table
    options = {t["name"]: t["options"] for t in listing}["flask"]
    assert options["extensions"]["default"] == ["sqlalchemy", "login"]
    assert options["extensions"]["default_from"] == "team"
    assert options["database"] == {**options["database"], "default": "postgres", "locked": True}
    assert {t["name"]: t["options"] for t in listing}["django"]["sentry"]["default"] is True
    assert options["python_version"]["default_from"] == "template"


def test_templates_database_help_fits_the_framework() -> None:
    table = stackwise("templates", env={"COLUMNS": "250"})
    helps = {
        name: next(line for line in part.splitlines() if "│ database " in line)
        for name, part in zip(["django", "fastapi", "flask"], table.split(" 0.")[1:], strict=True)
    }

    assert "Flask" not in helps["django"] and "sqlalchemy" not in helps["django"]
    assert "sqlalchemy" not in helps["fastapi"]
    assert "sqlalchemy" in helps["flask"]


def test_every_question_and_choice_fits_the_prompt_line() -> None:
    # copier's prompt cuts the line that holds the help, and each choice, at the terminal's
    # edge; a choice is drawn after 5 columns of cursor and tick box.
    root = Path(__file__).parents[2]
    specs = yaml.safe_load((root / "copier.yml").read_text().split("\n---\n")[0])
    for path in root.glob("templates/*/questions.yml"):
        specs.update(yaml.safe_load(path.read_text()))
    for name, spec in specs.items():
        if not isinstance(spec, dict):
            continue
        for framework in GUIDE.frameworks:
            shown = JINJA.from_string(spec.get("help", "")).render(framework=framework)
            assert len(shown) <= 77, (name, framework, shown)
        choices = spec.get("choices", {})
        for label in choices if isinstance(choices, dict) else ():
            assert len(label) <= 75, (name, label)


class AnsweringScreen(pyte.Screen):
    """A screen that answers the program's questions to the terminal (the cursor position
    prompt_toolkit asks for), as a real terminal does: without them it never draws a
    checkbox's validation message."""

    child: pexpect.spawn

    def write_process_input(self, data: str) -> None:
        self.child.send(data)


def terminal(*args: str, cwd: Path) -> tuple[pexpect.spawn, pyte.Screen, pyte.ByteStream]:
    """`stackwise ARGS` on an 80x24 terminal, drawn as the terminal would draw it."""
    screen = AnsweringScreen(80, 24)
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80"}
    env.pop("PROMPT_TOOLKIT_NO_CPR", None)
    screen.child = pexpect.spawn(
        sys.executable,
        ["-m", "stackwise.cli", *args],
        env=env,
        cwd=cwd,
        dimensions=(24, 80),
        timeout=60,
    )
    return screen.child, screen, pyte.ByteStream(screen)


def shown(child: pexpect.spawn, stream: pyte.ByteStream, screen: pyte.Screen, text: str) -> str:
    """Wait for `text` on the screen; the screen's lines, joined."""
    for _ in range(100):
        with contextlib.suppress(pexpect.TIMEOUT):
            stream.feed(child.read_nonblocking(65536, timeout=0.3))
        display = "\n".join(line.rstrip() for line in screen.display)
        if text in display.replace("\n", ""):  # wrapped lines count as one
            return display
    raise AssertionError(f"{text!r} never shown:\n{display}")


@pytest.mark.parametrize(
    "email", ["ada.lovelace.at.the.analytical.engine.example.org", "@", "a@b@c"]
)
def test_a_refused_email_s_message_wraps_instead_of_being_cut(tmp_path: Path, email: str) -> None:
    child, screen, stream = terminal("new", "svc", "-f", "fastapi", cwd=tmp_path)
    for question in ["Project name", "Python package", "One-line", "Author name"]:
        shown(child, stream, screen, question)
        child.send("\r")
    shown(child, stream, screen, "Author email")
    child.send(f"\x15{email}\r")  # Ctrl-U clears the default, then the answer is typed

    display = shown(child, stream, screen, "write name@domain")
    child.sendintr()
    child.close()

    assert f"'{email}' is not an email address: write name@domain" in " ".join(display.split())


def test_a_refused_checkbox_answer_s_message_wraps_instead_of_being_cut(tmp_path: Path) -> None:
    child, screen, stream = terminal("new", "svc", "-f", "flask", cwd=tmp_path)
    for question in ["Project name", "Python package", "One-line", "Author name", "Author email"]:
        shown(child, stream, screen, question)
        child.send("\r")
    for question in ["Licence", "Oldest Python", "Database"]:
        shown(child, stream, screen, question)
        child.send("\r")
    shown(child, stream, screen, "Extensions")
    child.send(" \r")  # untick sqlalchemy, the first choice, and keep migrate: refused

    display = shown(child, stream, screen, "leave the other out")
    child.sendintr()
    child.close()

    message = "migrate needs sqlalchemy: add it or leave the other out"
    assert f"'extensions': {message}" in " ".join(display.split())


def test_interactive_new_shows_the_short_ranking_before_asking(tmp_path: Path) -> None:
    child, screen, stream = terminal("new", "svc", "--use-case", "ml-serving", cwd=tmp_path)

    display = shown(child, stream, screen, "Which framework?")
    child.sendintr()
    child.close()

    ranked = [line.split()[1] for line in display.splitlines() if re.match(r"^ +\d  ", line)]
    assert len(ranked) == 3
    assert ranked[0] == "FastAPI"  # the guide's pick for model serving
    assert len(display.rstrip().splitlines()) <= 12  # the question and its choices stay in view


def test_a_spinner_shows_the_slow_steps_on_a_terminal_and_is_gone_after(tmp_path: Path) -> None:
    child, screen, stream = terminal("new", "svc", "-f", "flask", "--defaults", cwd=tmp_path)

    drawn = child.read()  # to the end
    stream.feed(drawn)
    child.close()

    for step in (b"Rendering the flask template...", b"Locking the dependencies", b"first commit"):
        assert step in drawn
    final = "\n".join(screen.display)
    assert "..." not in final
    assert "Created Flask project" in final


def test_no_spinner_when_the_output_is_not_a_terminal(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "stackwise.cli", "new", "svc", "-f", "flask", "--defaults"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )

    assert "Rendering" not in completed.stderr + completed.stdout
    assert "Locking" not in completed.stderr + completed.stdout


def test_status_and_diff_show_a_spinner_while_they_render_the_template(tmp_path: Path) -> None:
    stackwise("new", "svc", "-f", "fastapi", "--defaults", "--no-lock", cwd=tmp_path)

    for command, step in (
        ("status", b"Comparing the project"),
        ("diff", b"Working out the update"),
    ):
        child, _, _ = terminal(command, "svc", cwd=tmp_path)
        drawn = child.read()
        child.close()
        assert step in drawn, drawn
