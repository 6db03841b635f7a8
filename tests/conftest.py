"""Shared test helpers: the repository root and running the CLI in-process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from stackwise.cli import main

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Call `stackwise ARGS...` in this process and capture what it printed."""

    def run(*args: str) -> CliResult:
        exit_code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(exit_code, captured.out, captured.err)

    return run
