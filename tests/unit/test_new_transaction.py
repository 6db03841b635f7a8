"""`new` is a transaction: it removes only what it made, never replaces a file unasked, and any
number of stackwise processes at once succeed or fail cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from stackwise import __version__, store
from stackwise.catalog import builtin_root
from tests.conftest import REPO_ROOT


def stackwise(*args: str, cwd: Path | None = None, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "stackwise.cli", *args],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def git_log(project: Path) -> str:
    return store.git(["log", "--format=%s"], cwd=project)


def test_force_replaces_files_only_with_overwrite_and_says_which(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    destination = tmp_path / "existing"
    destination.mkdir()
    (destination / "README.md").write_text("Our notes.\n")
    (destination / "notes.txt").write_text("mine\n")
    args = ("new", str(destination), "-f", "flask", "--defaults", "--no-git", "--force")

    refused = run_cli(*args)
    replaced = run_cli(*args, "--overwrite")

    assert refused.exit_code == 2
    assert "would overwrite 1 file(s)" in refused.stderr and "README.md" in refused.stderr
    assert replaced.exit_code == 0, replaced.stderr
    assert "Replaced 1 file(s): README.md" in replaced.stdout
    assert (destination / "notes.txt").read_text() == "mine\n"
    assert (destination / "wsgi.py").is_file()


def test_a_directory_holding_only_git_is_empty_and_gets_the_first_commit(
    run_cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    destination = tmp_path / "svc"
    destination.mkdir()
    store.git(["init", "-q"], cwd=destination)

    result = run_cli("new", str(destination), "-f", "flask", "--defaults", "--no-lock")

    assert result.exit_code == 0, result.stderr
    assert "first commit" in result.stdout
    assert git_log(destination) == "Generate project with stackwise"
    assert store.git(["status", "--porcelain"], cwd=destination) == ""


def test_rendering_into_an_existing_repository_with_history_says_to_commit(
    run_cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    destination = tmp_path / "monorepo"
    destination.mkdir()
    (destination / "notes.txt").write_text("mine\n")
    store.git(["init", "-q"], cwd=destination)
    store.git(["add", "notes.txt"], cwd=destination)
    store.git(["commit", "-qm", "Notes"], store.STORE_IDENTITY, cwd=destination)

    result = run_cli("new", str(destination), "-f", "flask", "--defaults", "--no-lock", "--force")

    assert result.exit_code == 0, result.stderr
    assert "Rendered into an existing git repository" in result.stdout
    assert git_log(destination) == "Notes"


def test_new_dot_renders_into_the_directory_the_shell_is_in(tmp_path: Path) -> None:
    here = tmp_path / "svc"
    here.mkdir()
    inode = here.stat().st_ino

    process = stackwise("new", ".", "-f", "fastapi", "--defaults", "--no-lock", cwd=here)
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 0, stderr
    assert here.stat().st_ino == inode  # the same directory, not a new one renamed over it
    assert (here / "app" / "main.py").is_file()
    assert git_log(here) == "Generate project with stackwise"


def test_a_failed_new_removes_only_the_empty_directories_it_made(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from copier._main import Worker

    work = tmp_path / "work"
    real = Worker._render_file

    def someone_saves_a_file_meanwhile(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        (work / "b-notes.txt").write_text("saved during the render\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(Worker, "_render_file", someone_saves_a_file_meanwhile)
    result = run_cli("new", str(work / "b"), "-f", "flask", "--defaults")
    monkeypatch.setattr(Worker, "_render_file", real)

    assert result.exit_code == 130
    assert (work / "b-notes.txt").read_text() == "saved during the render\n"
    assert sorted(p.name for p in work.iterdir()) == ["b-notes.txt"]


def test_a_failed_new_into_an_empty_new_tree_leaves_nothing(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from copier._main import Worker

    def interrupted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(Worker, "_render_file", interrupted)

    result = run_cli("new", str(tmp_path / "deep" / "er" / "svc"), "-f", "flask", "--defaults")

    assert result.exit_code == 130
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_during_new_leave_nothing(tmp_path: Path, sig: signal.Signals) -> None:
    process = stackwise("new", str(tmp_path / "work" / "svc"), "-f", "django", "--defaults")
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("work/.stackwise-*/svc/*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "stackwise: error: interrupted; nothing was written"
    assert list(tmp_path.iterdir()) == []


def test_two_new_into_one_destination_make_one_project_and_one_refusal(tmp_path: Path) -> None:
    destination = tmp_path / "svc"
    processes = [
        stackwise("new", str(destination), "-f", "flask", "--defaults", "--no-lock")
        for _ in range(2)
    ]
    results = [(p.wait(timeout=180), p.communicate()[1]) for p in processes]

    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refusal = next(err for code, err in results if code == 2)
    assert refusal.count("\n") == 1 and str(destination) in refusal, refusal
    assert git_log(destination) == "Generate project with stackwise"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["svc"]


def test_parallel_new_on_a_fresh_store_all_succeed(tmp_path: Path) -> None:
    """Four processes at once adding the same template version to a store that does not exist
    yet, three times over (each round a new store)."""
    for trial in range(3):
        fresh = tmp_path / f"store-{trial}" / "templates.git"
        processes = [
            stackwise(
                "new",
                str(tmp_path / f"svc-{trial}-{n}"),
                "-f",
                "flask",
                "--defaults",
                "--no-lock",
                "--no-git",
                STACKWISE_TEMPLATE_STORE=str(fresh),
            )
            for n in range(4)
        ]
        failures = [p.communicate()[1] for p in processes if p.wait(timeout=180) != 0]
        assert failures == []
        assert store.git(["--git-dir", str(fresh), "tag"]).split() == [f"v{__version__}"]


def test_the_package_the_pyproject_and_the_store_agree_on_the_version() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())

    tag = store.add_version(builtin_root())  # v0.1.0, or v0.1.0+<tree> in an edited checkout

    assert __version__ == pyproject["project"]["version"]
    assert tag.split("+")[0] == f"v{__version__}"


def test_force_into_a_repository_without_commits_commits_only_the_project(
    run_cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    destination = tmp_path / "svc"
    destination.mkdir()
    store.git(["init", "-q"], cwd=destination)
    (destination / "credentials.txt").write_text("AWS_SECRET=x\n")

    result = run_cli("new", str(destination), "-f", "flask", "--defaults", "--no-lock", "--force")

    assert result.exit_code == 0, result.stderr
    assert "Made the existing repository's first commit" in result.stdout
    committed = store.git(["ls-files"], cwd=destination).split()
    assert "wsgi.py" in committed and "credentials.txt" not in committed


def test_force_never_writes_through_a_symlinked_directory(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shared = tmp_path / "shared-tests"
    shared.mkdir()
    (shared / "conftest.py").write_text("# shared fixtures\n")
    destination = tmp_path / "svc"
    destination.mkdir()
    (destination / "tests").symlink_to(shared)

    result = run_cli(
        "new", str(destination), "-f", "flask", "--defaults", "--no-git", "--force", "--overwrite"
    )

    assert result.exit_code == 2
    assert "tests is a symlink: the project's files would be written through it" in result.stderr
    assert (shared / "conftest.py").read_text() == "# shared fixtures\n"
    assert sorted(p.name for p in destination.iterdir()) == ["tests"]


def test_a_project_made_inside_a_larger_repository_gets_no_git_of_its_own(
    run_cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    mono = tmp_path / "mono"
    mono.mkdir()
    store.git(["init", "-q"], cwd=mono)

    result = run_cli(
        "new", str(mono / "services" / "svc"), "-f", "flask", "--defaults", "--no-lock"
    )

    assert result.exit_code == 0, result.stderr
    assert not (mono / "services" / "svc" / ".git").exists()
    assert "Rendered into an existing git repository" in result.stdout


def test_the_template_store_takes_a_version_from_inside_the_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(builtin_root() / "templates")

    assert store.add_version(builtin_root()).split("+")[0] == f"v{__version__}"


def test_a_commit_past_a_tag_is_newer_than_the_tag() -> None:
    from stackwise.lifecycle import _version_of

    assert _version_of("v1.1.0-3-g0d087ee") > _version_of("v1.1.0")
    assert _version_of("v1.1.0-3-g0d087ee") < _version_of("v1.2.0")
