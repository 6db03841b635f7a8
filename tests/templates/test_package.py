"""The built wheel carries its templates and renders from them, away from this checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from stackwise.store import TEMPLATE_URL, store_path
from tests.conftest import REPO_ROOT
from tests.templates.as_run import UV, uv_environment

pytestmark = pytest.mark.templates


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [UV, "build", "--wheel", "--out-dir", str(out), str(REPO_ROOT)],
        env=uv_environment(),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return next(out.glob("stackwise-*.whl"))


def test_wheel_ships_copier_yml_and_every_template(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())

    assert "stackwise/template/copier.yml" in names
    assert "stackwise/guide.toml" in names
    for framework in ("django", "flask", "fastapi"):
        assert f"stackwise/template/templates/{framework}/questions.yml" in names
        assert any(
            n.startswith(f"stackwise/template/templates/{framework}/project/") for n in names
        )
    assert "stackwise/template/templates/_shared/validate_slug.jinja" in names


def test_installed_wheel_renders_from_its_own_copy(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = uv_environment()
    subprocess.run(
        [UV, "venv", "--python", sys.executable, str(venv)],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [UV, "pip", "install", "--python", str(venv / "bin" / "python"), str(wheel)],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()

    completed = subprocess.run(
        [str(venv / "bin" / "stackwise"), "new", "shop", "-f", "flask", "--defaults", "--no-git"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr
    answers = yaml.safe_load((workdir / "shop" / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == TEMPLATE_URL
    # The version it rendered is the wheel's own copy of the template, now in the store.
    packaged = next(venv.glob("lib/python*/site-packages/stackwise/template"))
    stored = subprocess.run(
        ["git", "--git-dir", str(store_path()), "show", f"{answers['_commit']}:copier.yml"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert stored.strip() == (packaged / "copier.yml").read_text().strip()
    assert (workdir / "shop" / "shop" / "__init__.py").is_file()
