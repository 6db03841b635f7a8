"""The template store: versions kept as git tags, so projects update offline."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import copier
import pytest
import yaml

from stackwise import __version__, lifecycle, render_cache, store
from tests.conftest import REPO_ROOT


def template_copy(tmp_path: Path, name: str) -> Path:
    """The built-in template's files, copied so a test can change them."""
    root = tmp_path / name
    root.mkdir()
    shutil.copy(REPO_ROOT / "copier.yml", root)
    shutil.copytree(REPO_ROOT / "templates", root / "templates")
    return root


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, capture_output=True, text=True, check=True
    ).stdout


def test_new_records_the_public_url_and_the_version_tag(run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    destination = tmp_path / "svc"

    result = run_cli("new", str(destination), "-f", "flask", "--defaults")

    assert result.exit_code == 0, result.stderr
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == store.TEMPLATE_URL
    assert answers["_commit"].startswith(f"v{__version__}")
    assert answers["_commit"] in git(store.store_path(), "tag").split()


def test_the_same_files_are_stored_once(tmp_path: Path) -> None:
    root = template_copy(tmp_path, "template")

    assert store.add_version(root, "70.0.0") == "v70.0.0"
    assert store.add_version(root, "70.0.0") == "v70.0.0"


def test_changed_files_never_rewrite_a_released_version(tmp_path: Path) -> None:
    root = template_copy(tmp_path, "template")
    released = store.add_version(root, "80.0.0")
    (root / "templates" / "flask" / "questions.yml").write_text("# edited\n", encoding="utf-8")

    edited = store.add_version(root, "80.0.0")

    assert released == "v80.0.0"
    assert edited.startswith("v80.0.0+") and edited != released
    assert "edited" not in git(store.store_path(), "show", "v80.0.0:templates/flask/questions.yml")


def test_a_project_updates_offline_to_a_later_version_keeping_its_edits(tmp_path: Path) -> None:
    old = template_copy(tmp_path, "old")
    project = tmp_path / "svc"
    with store.redirected_to_store():
        copier.run_copy(
            store.TEMPLATE_URL,
            project,
            data={"framework": "flask"},
            defaults=True,
            quiet=True,
            vcs_ref=store.add_version(old, "90.0.0"),
        )
    git(project, "init", "-q")
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur team's notes.\n")
    git(project, "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "generated + edit")
    new = template_copy(tmp_path, "new")
    gitignore = new / "templates" / "_shared" / "gitignore.jinja"
    gitignore.write_text(gitignore.read_text() + "\n# added by template 90.1.0\n")
    target = store.add_version(new, "90.1.0")

    with store.redirected_to_store():  # the store may hold newer versions from other tests
        copier.run_update(project, defaults=True, overwrite=True, quiet=True, vcs_ref=target)

    assert "Our team's notes." in readme.read_text()
    assert "# added by template 90.1.0" in (project / ".gitignore").read_text()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["_commit"], answers["_src_path"]) == (target, store.TEMPLATE_URL)


def test_another_checkouts_local_build_is_never_the_newest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One store shared by a released install and an edited source checkout of a later version."""
    monkeypatch.setenv("STACKWISE_TEMPLATE_STORE", str(tmp_path / "shared.git"))
    other = template_copy(tmp_path, "other-checkout")
    store.add_version(other, "99.0.0")
    (other / "templates" / "flask" / "questions.yml").write_text("# edited\n", encoding="utf-8")
    local_build = store.add_version(other, "99.0.0")  # v99.0.0+<tree>

    newest = lifecycle.latest_version()

    assert local_build.startswith("v99.0.0+")
    assert newest == "v99.0.0"  # the release, not the other checkout's build of it


def test_a_relative_store_path_means_one_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STACKWISE_TEMPLATE_STORE", "stores/templates.git")

    assert store.store_path() == tmp_path / "stores" / "templates.git"


def test_the_render_cache_goes_where_the_store_is_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(render_cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("STACKWISE_TEMPLATE_STORE", "stores/templates.git")
    beside_the_store = render_cache.location()
    monkeypatch.setenv(render_cache.CACHE_ENV, "renders")
    configured = render_cache.location()
    monkeypatch.setenv(render_cache.CACHE_ENV, "off")
    off = render_cache.location()
    monkeypatch.delenv(render_cache.CACHE_ENV)
    monkeypatch.delenv("STACKWISE_TEMPLATE_STORE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-home"))

    assert beside_the_store == tmp_path / "stores" / "templates.git.renders"
    assert configured == tmp_path / "renders"
    assert off is None
    assert render_cache.location() == tmp_path / "cache-home" / "stackwise" / "renders"
