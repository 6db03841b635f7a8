"""Scenarios built from two versions of the real templates in this run's template store."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import copier
import pytest

from stackwise import store
from tests.conftest import REPO_ROOT


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Owner", "-c", "user.email=owner@example.com", *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@dataclass
class TemplateVersions:
    """Versions of the built-in template, each a changed copy stored under its own tag."""

    workdir: Path

    def release(self, version: str, change: Callable[[Path], None] | None = None) -> str:
        root = self.workdir / f"template-{version}"
        root.mkdir()
        shutil.copy(REPO_ROOT / "copier.yml", root)
        shutil.copytree(REPO_ROOT / "templates", root / "templates")
        if change:
            change(root / "templates")
        return store.add_version(root, version)

    def generate(self, tag: str, framework: str = "flask", **answers: object) -> Path:
        """A project rendered at `tag` and committed, as `stackwise new` leaves it."""
        project = self.workdir / f"project-{len(list(self.workdir.glob('project-*')))}"
        with store.redirected_to_store():
            copier.run_copy(
                store.TEMPLATE_URL,
                project,
                data={"framework": framework, **answers},
                defaults=True,
                quiet=True,
                vcs_ref=tag,
            )
        git(project, "init", "-q")
        commit(project, "Generate project")
        return project


def commit(project: Path, message: str) -> None:
    git(project, "add", "--all")
    git(project, "commit", "-q", "-m", message)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def versions(tmp_path: Path) -> TemplateVersions:
    return TemplateVersions(tmp_path)
