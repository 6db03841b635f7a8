"""`stackwise new` asked in a real pseudo-terminal, as a person would answer it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import yaml

DOWN = "\x1b[B"
ENTER = "\r"
SPACE = " "


# copier's shared questions, in the order copier.yml asks them. Each is redrawn once answered,
# so the test waits for the next question's text rather than counting matches.
SHARED_QUESTIONS = [
    "Project name",
    "Python package name",
    "One-line description",
    "Author name",
    "Author email",
    "Licence",
    "Oldest Python",
]
# Asked of every project after the framework's own questions (copier.yml's operations block).
OPERATIONS_QUESTIONS = ["Observability", "Report errors to Sentry", "Deployment files"]
# Asked of every project with users, after those.
ACCOUNT_QUESTIONS = ["Email verification", "Two-factor"]
FASTAPI_QUESTIONS = [
    "Authentication",
    "Admin UI",
    "WebSocket",
    "model-inference",
    "Background",
    *OPERATIONS_QUESTIONS,
    *ACCOUNT_QUESTIONS,
]


def accept_copier_defaults(child: pexpect.spawn, questions: list[str]) -> None:
    for question in questions:
        child.expect(question)
        child.send(ENTER)


def spawn_new(destination: Path, *options: str, config: Path | None = None) -> pexpect.spawn:
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        # prompt_toolkit otherwise asks the terminal for the cursor position and waits.
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "COLUMNS": "160",
        "NO_COLOR": "1",
        **({"STACKWISE_CONFIG": str(config)} if config else {}),
    }
    return pexpect.spawn(
        sys.executable,
        ["-m", "stackwise.cli", "new", str(destination), *options],
        env=env,
        dimensions=(50, 160),
        encoding="utf-8",
        timeout=30,
    )


def test_interactive_new_recommends_then_renders_the_chosen_framework(tmp_path: Path) -> None:
    destination = tmp_path / "catalogue-api"
    child = spawn_new(destination)

    child.expect("What are you building")
    child.send(DOWN + ENTER)  # second use case: REST or GraphQL API backend
    child.expect("What does it need")
    child.send(DOWN * 3 + SPACE + ENTER)  # fourth need: generated API docs
    child.expect("team already know")
    child.send(ENTER)  # no preference
    child.expect(r" 1  (\x1b\[[0-9;]*m)*FastAPI")  # first in the ranking
    child.expect("Which framework")
    child.expect(r"FastAPI \(recommended\)")
    child.send(ENTER)  # accept the recommendation

    accept_copier_defaults(child, SHARED_QUESTIONS)
    child.expect("Database")
    child.send(DOWN + ENTER)  # PostgreSQL
    accept_copier_defaults(child, FASTAPI_QUESTIONS)
    child.expect("Created FastAPI project")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["framework"] == "fastapi"
    assert answers["project_slug"] == "catalogue_api"
    assert (answers["database"], answers["auth"]) == ("postgres", "jwt")
    assert (destination / ".git").is_dir()


def test_interactive_user_can_overrule_the_recommendation(tmp_path: Path) -> None:
    destination = tmp_path / "brochure"
    child = spawn_new(destination)

    child.expect("What are you building")
    child.send(ENTER)  # full web application: Django is recommended
    child.expect("What does it need")
    child.send(ENTER)
    child.expect("team already know")
    child.send(ENTER)
    child.expect("Which framework")
    child.send(DOWN + ENTER)  # the second-ranked framework for a web app: Flask
    accept_copier_defaults(child, [*SHARED_QUESTIONS, "Database"])
    child.expect("Extensions")
    child.send(DOWN * 6 + SPACE + ENTER)  # add the seventh choice, cors, to the pre-filled ones
    # login is among them: it has users
    accept_copier_defaults(child, [*OPERATIONS_QUESTIONS, *ACCOUNT_QUESTIONS])
    child.expect("Created Flask project")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["framework"] == "flask"
    # A web application on Flask starts with users (login) on top of the template's defaults.
    assert answers["extensions"] == ["sqlalchemy", "migrate", "login", "wtf", "cors"]


def test_ctrl_c_at_a_question_exits_cleanly(tmp_path: Path) -> None:
    destination = tmp_path / "abandoned"
    child = spawn_new(destination)

    child.expect("What are you building")
    child.sendintr()
    child.expect(pexpect.EOF)
    output = child.before
    child.close()

    assert child.exitstatus == 130
    assert "interrupted" in output
    assert "Traceback" not in output
    assert not destination.exists()


def test_team_locks_are_not_asked_and_team_defaults_are_offered(tmp_path: Path) -> None:
    config = tmp_path / "team.toml"
    config.write_text(
        '[defaults]\nauthor_name = "Platform Team"\n\n[locked]\nlicense = "Apache-2.0"\n'
        'auth = "none"\n'
    )
    destination = tmp_path / "ledger"
    child = spawn_new(destination, "--framework", "fastapi", config=config)

    accept_copier_defaults(child, SHARED_QUESTIONS[:3])
    child.expect("Author name")
    child.expect("Platform Team")  # the team's default, offered for Enter to accept
    child.send(ENTER)
    accept_copier_defaults(child, ["Author email", "Oldest Python"])
    asked_before_python = child.before
    accept_copier_defaults(child, ["Database", "Admin UI"])
    asked_before_admin = child.before
    accept_copier_defaults(child, ["WebSocket", "model-inference", "Background"])
    accept_copier_defaults(child, OPERATIONS_QUESTIONS)
    child.expect("Created FastAPI project")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0
    assert "Licence" not in asked_before_python
    assert "Authentication" not in asked_before_admin
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert (answers["license"], answers["auth"]) == ("Apache-2.0", "none")
    assert answers["author_name"] == "Platform Team"


def test_a_team_configuration_still_asks_what_is_being_built(tmp_path: Path) -> None:
    config = tmp_path / "team.toml"
    config.write_text('[chooser]\nteam_knows = "flask"\n')
    destination = tmp_path / "live-scores"
    child = spawn_new(destination, "--no-git", "--no-lock", config=config)

    child.expect("What are you building")
    child.send(DOWN * 8 + ENTER)  # the ninth use case: real-time / WebSockets
    child.expect("What does it need")
    child.send(ENTER)
    child.expect("team already know")
    # The team configuration's answer, highlighted for Enter to accept.
    child.expect(r"» (\x1b\[[0-9;]*m)*Flask")
    child.send(ENTER)
    child.expect("Which framework")
    child.send(ENTER)  # the recommendation: FastAPI, the guide's pick for real-time
    child.expect("Pre-filled for what you are building: websockets=true")
    accept_copier_defaults(child, [*SHARED_QUESTIONS, "Database", *FASTAPI_QUESTIONS])
    child.expect("Created FastAPI project")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert (answers["framework"], answers["websockets"]) == ("fastapi", True)


def test_a_pre_filled_choice_the_user_rules_out_gives_way_at_its_question(tmp_path: Path) -> None:
    destination = tmp_path / "back-office"
    child = spawn_new(destination, "-f", "fastapi", "--need", "admin", "--no-git", "--no-lock")

    child.expect("Pre-filled for what you are building: admin=sqladmin")
    accept_copier_defaults(child, [*SHARED_QUESTIONS, "Database"])
    child.expect("Authentication")
    child.send(DOWN + ENTER)  # None: no users, so the pre-filled SQLAdmin cannot work
    child.expect("Admin UI")
    child.expect("no users to log in")  # SQLAdmin is shown greyed out, with the reason
    child.send(ENTER)
    # No users: no account questions either.
    accept_copier_defaults(child, [q for q in FASTAPI_QUESTIONS[2:] if q not in ACCOUNT_QUESTIONS])
    child.expect("Not switched on .*: admin=sqladmin")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert (answers["auth"], answers["admin"]) == ("none", "none")
