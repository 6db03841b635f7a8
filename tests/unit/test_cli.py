"""The command line: help, version, the read-only commands, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stackwise import __version__


def test_version(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("--version")

    assert result.exit_code == 0
    assert result.stdout.strip() == f"stackwise {__version__}"


@pytest.mark.parametrize("command", [[], ["new"], ["recommend"], ["compare"], ["templates"]])
def test_every_command_has_help(run_cli, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(*command, "--help")

    assert result.exit_code == 0
    assert "Usage: stackwise" in result.stdout


def test_shell_completion_is_offered(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert "--install-completion" in run_cli("--help").stdout


def test_recommend_json_for_scripts(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("recommend", "--use-case", "api", "--need", "api-docs", "--json")

    payload = json.loads(result.stdout)
    assert result.exit_code == 0
    assert payload["recommended"] == "fastapi"
    assert payload["ranking"][0]["framework"] == "fastapi"
    assert any("Swagger" in reason for reason in payload["ranking"][0]["reasons"])


def test_recommend_explain_shows_reasons_for_and_against(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("recommend", "--use-case", "web-app", "--need", "admin", "--explain")

    assert result.exit_code == 0
    assert "Django (recommended)" in result.stdout
    assert "Flask-Admin" in result.stdout


def test_recommend_ranks_one_line_per_framework_best_first(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("recommend", "--use-case", "web-app", "--need", "admin")

    ranked = [line.split()[:3] for line in result.stdout.splitlines() if line[:3].strip().isdigit()]
    assert ranked[0] == ["1", "Django", "5"]
    assert [rank for rank, _, _ in ranked] == ["1", "2", "3"]
    assert "Django fits best" in result.stdout


def test_compare_shows_every_framework_and_the_published_figures(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("compare")

    for text in ["Django", "Flask", "FastAPI", "~3,000", "~4,500", "~9,000", "50-80", "bottleneck"]:
        assert text in result.stdout


def test_templates_lists_each_framework_with_version_and_options(run_cli) -> None:  # type: ignore[no-untyped-def]
    listing = json.loads(run_cli("templates", "--json").stdout)

    assert [t["name"] for t in listing] == ["django", "fastapi", "flask"]
    assert all(t["version"] == __version__ for t in listing)
    django = listing[0]["options"]
    assert django["admin_url"]["default"] == "admin/"
    assert "MIT" in django["license"]["choices"]


def test_installed_console_script_reports_errors_without_a_traceback() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "stackwise.cli", "recommend", "--use-case", "blog"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().startswith("stackwise: error: unknown use case")


@pytest.mark.parametrize(
    "command", [["--help"], ["recommend", "--need", "admin"], ["compare"], ["templates"]]
)
def test_read_only_commands_do_not_import_copier(command: list[str]) -> None:
    # copier costs ~0.4 s to import; these commands must stay fast by never loading it.
    code = (
        "import sys; from stackwise.cli import main; rc = main(sys.argv[1:]); "
        "sys.stdout.flush(); print('copier' in sys.modules, file=sys.stderr)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, *command], capture_output=True, text=True, check=True
    )

    assert completed.stderr.strip().splitlines()[-1] == "False"


def test_templates_table_shows_computed_defaults_in_words(run_cli) -> None:  # type: ignore[no-untyped-def]
    table = run_cli("templates").stdout

    assert "(computed)" in table
    assert "{{" not in table


def test_output_to_a_full_device_is_one_line() -> None:
    with open("/dev/full", "w") as full:  # noqa: PTH123 - a device, not a path to handle
        completed = subprocess.run(
            [sys.executable, "-c", "from stackwise import run; run()", "compare"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )

    assert completed.returncode == 1
    assert completed.stderr == "stackwise: error: No space left on device: output\n"
