"""Generate projects as `stackwise new` does, and the gates and fixtures every template's proofs
share (how they run is in as_run.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.templates.as_run import Image, build_image, remove_image


@dataclass
class Generated:
    """A project as `stackwise new` leaves it: rendered, locked, committed."""

    path: Path
    answers: dict[str, Any]


def generate(destination: Path, answers: Mapping[str, object]) -> Generated:
    """`stackwise new DESTINATION` with these answers (framework among them), as a user runs it."""
    from stackwise.answers import answer_text
    from stackwise.catalog import template_for
    from stackwise.render import NewProject, new_project

    data = {key: answer_text(value) for key, value in answers.items() if key != "framework"}
    template = template_for(str(answers["framework"]))
    rendered = new_project(NewProject(destination=destination, template=template, data=data))
    assert rendered is not None and rendered.committed
    assert rendered.lock is not None and rendered.lock.warning() is None, rendered.lock
    return Generated(rendered.destination, rendered.answers)


@pytest.fixture(scope="module")
def image(project: Generated, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    """The image of the module's `project`, replayed from its Dockerfile once per combination."""
    built = build_image(project.path, tmp_path_factory.mktemp("image"))
    yield built
    remove_image(built)


def on_a_bad_day_only(request: pytest.FixtureRequest, combinations: set[str]) -> None:
    """The bad-day proofs start a server for each fault, several per combination: they run on
    the combinations that take distinct paths through the code they prove (`combinations`, by
    test id), not on every pairwise row, which keeps the tier inside CI's time."""
    if request.node.callspec.id not in combinations:
        pytest.skip("the bad-day proofs run on: " + "; ".join(sorted(combinations)))


def on_rows_only(request: pytest.FixtureRequest, combinations: set[str], proof: str) -> None:
    """A proof that starts servers of its own beyond the production ones, run on the
    combinations named (by test id): the defaults and the maximal one, within CI's time."""
    if request.node.callspec.id not in combinations:
        pytest.skip(f"{proof} runs on: " + "; ".join(sorted(combinations)))


def check_bandit(project: Path) -> None:
    """bandit over the project's code: no medium or high finding, and no hard-coded password
    (B105-B107, which bandit rates low) anywhere but the tests."""
    bandit = str(Path(sys.executable).parent / "bandit")
    completed = subprocess.run(
        [bandit, "-r", ".", "-f", "json", "-q", "--exclude", "./.venv,./tests"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(completed.stdout)  # bandit exits 1 on any finding, even a low one
    findings = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
        for r in report["results"]
        if r["issue_severity"] in ("MEDIUM", "HIGH") or r["test_id"] in HARDCODED_PASSWORD
    ]
    assert not findings, "\n".join(findings)
    assert report["metrics"]["_totals"]["loc"] > 100  # it read the project's code


def check_deployment_files(project: Path) -> None:
    """hadolint on the Dockerfile and actionlint on the CI workflow."""
    lint(["hadolint", "--failure-threshold", "info", str(project / "Dockerfile")])
    lint(["actionlint", str(project / ".github" / "workflows" / "ci.yml")])


HARDCODED_PASSWORD = {"B105", "B106", "B107"}


def lint(command: list[str]) -> None:
    """Run a linter installed with this repository's test tools (hadolint, actionlint)."""
    tool = Path(sys.executable).parent / command[0]
    completed = subprocess.run(
        [str(tool), *command[1:]], capture_output=True, text=True, check=False, timeout=120
    )
    assert completed.returncode == 0, (
        f"{command[0]} found problems:\n{completed.stdout}{completed.stderr}"
    )
