"""`update` is a transaction and `diff` is the update: interrupted anywhere, the project is byte
for byte as it was (HEAD, index, working tree); what `diff` names is what `update` changes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from copier._main import Worker

from stackwise import lifecycle, render
from tests.conftest import REPO_ROOT
from tests.lifecycle.conftest import TemplateVersions, commit, edit, git
from tests.lifecycle.test_update import FLASK_README, add_gitignore_line, rename_gunicorn_config

Change = Callable[[Path], None]


class ShutilWith:
    """shutil as the update's own code sees it, one function replaced (copier keeps the real)."""

    def __init__(self, **replaced: Callable[..., object]) -> None:
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> object:
        return getattr(shutil, name)


def snapshot(project: Path) -> tuple[str, str, str]:
    """HEAD, the index, and every file outside .git with its bytes and mode."""
    digest = hashlib.sha256()
    for path in sorted(project.rglob("*")):
        if ".git" not in path.relative_to(project).parts:
            stat = path.lstat()
            digest.update(f"{path.relative_to(project)}:{stat.st_mode}".encode())
            if path.is_file():
                digest.update(path.read_bytes())
    head = git(project, "rev-parse", "HEAD")
    return head, git(project, "ls-files", "--stage"), digest.hexdigest()


def owned_project(versions: TemplateVersions, version: str) -> Path:
    """A project whose owner added a route, a test and a dependency, and deleted a file."""
    project = versions.generate(versions.release(version), extensions=["sqlalchemy"])
    slug = project.name.replace("-", "_")
    (project / slug / "reports.py").write_text("def weekly() -> list[str]:\n    return []\n")
    (project / "tests" / "test_reports.py").write_text("def test_weekly() -> None:\n    pass\n")
    edit(project / "pyproject.toml", "dependencies = [", 'dependencies = [\n    "tabulate",')
    (project / ".pre-commit-config.yaml").unlink()
    commit(project, "Owner's work")
    return project


def grow_the_template(templates: Path) -> None:
    """A release that touches many files: more places for an interruption to land."""
    add_gitignore_line(templates)
    edit(templates / FLASK_README, "## Test it", "## Test it (new wording)")
    (templates / "flask" / "project" / "CONTRIBUTING.md").write_text("Open a pull request.\n")


def _ctrl_c_at(monkeypatch: pytest.MonkeyPatch, owner: object, name: str, calls: int) -> None:
    """Ctrl-C (KeyboardInterrupt, as Python raises it) once `owner.name` ran `calls` times."""
    real, done = getattr(owner, name), []

    def interrupted(*args: object, **kwargs: object) -> object:
        if len(done) == calls:
            raise KeyboardInterrupt
        done.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, interrupted)


# Points across the update: before copier starts, inside copier after it has rendered a few
# files, once copier is done, while re-locking, and while the summary is worked out.
INTERRUPTION_POINTS = {
    "before copier": (lifecycle, "_checked_answers", 0),
    "copier rendering": (Worker, "_render_file", 3),
    "copier finished": (lifecycle, "_summary", 0),
    "relocking": (render, "lock_dependencies", 0),
    "summarising": (lifecycle, "_edited_by_owner", 0),
}


@pytest.mark.parametrize("point", INTERRUPTION_POINTS)
def test_ctrl_c_anywhere_leaves_the_project_as_it_was(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    number = list(INTERRUPTION_POINTS).index(point)
    project = owned_project(versions, f"40.{number}.0")

    def release(templates: Path) -> None:
        grow_the_template(templates)
        (templates / "flask" / "project" / ".dockerignore.jinja").unlink()  # a removal to check

    target = versions.release(f"40.{number}.1", release)
    before = snapshot(project)
    _ctrl_c_at(monkeypatch, *INTERRUPTION_POINTS[point])

    # A new extension changes pyproject.toml, so the update re-locks.
    result = run_cli("update", str(project), "--to", target, "-d", "extensions=sqlalchemy,cors")

    assert result.exit_code == 130, result.stderr
    assert result.stderr == f"stackwise: error: interrupted; {project} is as it was\n"
    assert snapshot(project) == before


def test_ctrl_c_while_files_are_written_waits_for_the_update_to_finish(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = owned_project(versions, "41.0.0")
    target = versions.release("41.0.1", grow_the_template)
    sent: list[bool] = []

    def copy_then_ctrl_c(source: Path, target_path: Path) -> object:
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)
        return shutil.copy2(source, target_path)

    monkeypatch.setattr(lifecycle, "shutil", ShutilWith(copy2=copy_then_ctrl_c))

    result = run_cli("update", str(project), "--to", target)

    assert sent and result.exit_code == 0, result.stderr
    assert "*.log" in (project / ".gitignore").read_text()
    assert (project / "CONTRIBUTING.md").is_file()
    assert "v41.0.1" in (project / ".copier-answers.yml").read_text()


def _update_in_a_process(
    project: Path, target: str, tmp: Path, prelude: str = ""
) -> subprocess.Popen[str]:
    code = (
        textwrap.dedent(prelude)
        + "import sys\nfrom stackwise.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, "update", str(project), "--to", target],
        env={**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_the_clone(tmp: Path, process: subprocess.Popen[str]) -> None:
    """Until the update's clone is being updated (copier at work), or the process ended."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if any(tmp.glob("stackwise-update-*/*/.copier-answers.yml")):
            return
        time.sleep(0.01)
    pytest.fail(f"the update never started: {process.communicate()}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_during_copier_leave_the_project_as_it_was(
    versions: TemplateVersions, tmp_path: Path, sig: signal.Signals
) -> None:
    project = owned_project(versions, f"42.{sig.value}.0")
    target = versions.release(f"42.{sig.value}.1", grow_the_template)
    before = snapshot(project)
    scratch = tmp_path / "tmp"
    scratch.mkdir()

    process = _update_in_a_process(project, target, scratch)
    _wait_for_the_clone(scratch, process)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert (
        stderr.strip().splitlines()[-1] == f"stackwise: error: interrupted; {project} is as it was"
    )
    assert snapshot(project) == before
    assert not list(scratch.iterdir())  # the clone is gone too


# Killed outright after the second file is written: no handler runs, no cleanup.
KILLED_AFTER_TWO_FILES = """
    import os, shutil, signal
    from stackwise import lifecycle
    from tests.lifecycle.test_update_transaction import ShutilWith
    written = []
    def copy(source, target):
        written.append(shutil.copy2(source, target))
        if len(written) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
    lifecycle.shutil = ShutilWith(copy2=copy)
"""


def test_sigkill_while_files_are_written_is_put_right_by_the_next_command(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli, tmp_path: Path
) -> None:
    project = owned_project(versions, "43.0.0")
    target = versions.release("43.0.1", grow_the_template)
    before = snapshot(project)
    process = _update_in_a_process(project, target, tmp_path, KILLED_AFTER_TWO_FILES)
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    assert snapshot(project) != before  # half written

    status = run_cli("status", str(project))

    assert status.exit_code == 0, status.stderr
    assert "was interrupted while writing files; they are back as they were" in status.stderr
    assert snapshot(project) == before
    assert run_cli("update", str(project), "--to", target).exit_code == 0
    assert "*.log" in (project / ".gitignore").read_text()


def test_the_owners_work_after_a_killed_update_is_left_alone_and_named(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli, tmp_path: Path
) -> None:
    project = owned_project(versions, "43.1.0")
    gitignore = (project / ".gitignore").read_text()
    target = versions.release("43.1.1", grow_the_template)
    process = _update_in_a_process(project, target, tmp_path, KILLED_AFTER_TWO_FILES)
    process.communicate(timeout=120)
    # Files are written in name order: .copier-answers.yml and .gitignore made it, README.md
    # did not; the owner goes on working on it and on a file the update never touched.
    edit(project / "README.md", "## Test it", "## Test it (owner, after the crash)")
    (project / "wsgi.py").write_text((project / "wsgi.py").read_text() + "# owner\n")

    status = run_cli("status", str(project))

    assert "left alone, changed since: README.md" in status.stderr, status.stderr
    assert "(owner, after the crash)" in (project / "README.md").read_text()
    assert (project / "wsgi.py").read_text().endswith("# owner\n")
    assert (project / ".gitignore").read_text() == gitignore


def test_a_write_that_fails_puts_everything_back(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = owned_project(versions, "43.2.0")
    target = versions.release("43.2.1", grow_the_template)
    before = snapshot(project)
    copies: list[Path] = []

    def disk_full_at_the_third(source: Path, target_path: Path) -> object:
        copies.append(target_path)
        if len(copies) == 3:
            raise OSError(28, "No space left on device", str(target_path))
        return shutil.copy2(source, target_path)

    monkeypatch.setattr(lifecycle, "shutil", ShutilWith(copy2=disk_full_at_the_third))

    result = run_cli("update", str(project), "--to", target)

    assert result.exit_code == 1
    assert result.stderr.startswith("stackwise: error: could not write the update (No space left")
    assert result.stderr.endswith(f"{project} is as it was\n")
    assert snapshot(project) == before
    assert not (project / ".git" / lifecycle.JOURNAL).exists()


def test_a_file_the_update_adds_that_git_ignores_is_not_overwritten(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli
) -> None:
    project = versions.generate(versions.release("43.3.0"))
    (project / ".git" / "info" / "exclude").write_text("CONTRIBUTING.md\n")
    (project / "CONTRIBUTING.md").write_text("Our private notes.\n")

    result = run_cli("update", str(project), "--to", versions.release("43.3.1", grow_the_template))

    assert result.exit_code == 2
    assert "the update adds CONTRIBUTING.md, which" in result.stderr
    assert "git does not track (ignored or untracked); move it away" in result.stderr
    assert (project / "CONTRIBUTING.md").read_text() == "Our private notes.\n"


def test_a_project_inside_a_larger_repository_updates_where_it_sits(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli, tmp_path: Path
) -> None:
    generated = versions.generate(versions.release("43.4.0"))
    mono = tmp_path / "mono"
    project = mono / "services" / "orders"
    project.parent.mkdir(parents=True)
    shutil.copytree(generated, project, ignore=shutil.ignore_patterns(".git"))
    (mono / "README.md").write_text("The monorepo.\n")
    git(mono, "init", "-q")
    commit(mono, "Services")
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "wsgi.cpython-311.pyc").write_bytes(b"\0")
    target = versions.release("43.4.1", grow_the_template)

    status = json.loads(run_cli("status", str(project), "--json").stdout)
    predicted = run_cli("diff", str(project), "--to", target)
    updated = run_cli("update", str(project), "--to", target)

    assert status["changes"] == {}
    assert predicted.exit_code == 0, predicted.stderr
    assert "diff --git a/.gitignore b/.gitignore" in predicted.stdout
    assert updated.exit_code == 0, updated.stderr
    assert "*.log" in (project / ".gitignore").read_text()
    assert (project / "CONTRIBUTING.md").is_file() and not (mono / "CONTRIBUTING.md").exists()
    assert (mono / "README.md").read_text() == "The monorepo.\n"


def test_an_edit_in_a_file_the_release_renames_is_kept(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli
) -> None:
    project = versions.generate(versions.release("43.5.0"))
    pages = project / "tests" / "test_pages.py"
    pages.write_text(pages.read_text() + "\n\ndef test_owners_page() -> None:\n    pass\n")
    commit(project, "Owner's test")

    def rename_the_page_tests(templates: Path) -> None:
        tests = templates / "flask" / "project" / "tests"
        (tests / "test_pages.py").rename(tests / "test_views.py")

    result = run_cli(
        "update", str(project), "--to", versions.release("43.5.1", rename_the_page_tests)
    )

    assert result.exit_code == 0, result.stderr
    assert "def test_owners_page" in pages.read_text()
    assert (
        "kept, you edited it and the new release removes it: tests/test_pages.py" in result.stdout
    )


def remove_the_pre_commit_config(templates: Path) -> None:
    (templates / "flask" / "project" / ".pre-commit-config.yaml.jinja").unlink()


def owner_edits_the_pre_commit_config(project: Path) -> None:
    edit(project / ".pre-commit-config.yaml", "repos:", "# our hooks\nrepos:")


def owner_edits_the_readme(project: Path) -> None:
    edit(project / "README.md", "## Test it", "## Test it (owner's wording)")


def owner_tunes_gunicorn(project: Path) -> None:
    config = project / "gunicorn.conf.py"
    config.write_text(config.read_text() + "keepalive = 5\n")


def conflicting_wording(templates: Path) -> None:
    edit(templates / FLASK_README, "## Test it", "## Test it (template wording)")


def adds_and_removes(templates: Path) -> None:
    (templates / "flask" / "project" / "CONTRIBUTING.md").write_text("Open a pull request.\n")
    remove_the_pre_commit_config(templates)


# (what the owner did, what the release changes): the lifecycle scenarios diff must predict.
SCENARIOS: dict[str, tuple[Change | None, Change]] = {
    "template change": (None, add_gitignore_line),
    "owner edit merged": (owner_edits_the_readme, add_gitignore_line),
    "conflict": (owner_edits_the_readme, conflicting_wording),
    "file added and removed": (None, adds_and_removes),
    "edited file the release removes": (
        owner_edits_the_pre_commit_config,
        remove_the_pre_commit_config,
    ),
    "file renamed by a migration": (owner_tunes_gunicorn, rename_gunicorn_config),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_diff_names_exactly_the_files_update_changes(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli, scenario: str
) -> None:
    number = list(SCENARIOS).index(scenario)
    owner_change, release_change = SCENARIOS[scenario]
    project = versions.generate(versions.release(f"44.{number}.0"))
    if owner_change:
        owner_change(project)
        commit(project, "Owner's change")
    target = versions.release(f"44.{number}.1", release_change)

    predicted = run_cli("diff", str(project), "--to", target)
    assert predicted.exit_code == 0, predicted.stderr
    updated = run_cli("update", str(project), "--to", target)
    assert updated.exit_code in (0, 1), updated.stderr

    summary = predicted.stdout.split("\ndiff --git", 1)[0]
    assert (
        summary.replace("would update", "Updated")
        == updated.stdout.split("\nResolve")[0].split("\nReview")[0]
    )
    git(project, "add", "--all")
    changed = set(git(project, "diff", "--cached", "--name-only", "HEAD").split())
    in_diff = {
        line.split(" b/")[-1]
        for line in predicted.stdout.splitlines()
        if line.startswith("diff --git")
    }
    assert in_diff == changed


def test_a_file_the_owner_edited_and_the_release_removes_is_kept(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli
) -> None:
    project = versions.generate(versions.release("45.0.0"))
    owner_edits_the_pre_commit_config(project)
    commit(project, "Our hooks")
    target = versions.release("45.0.1", adds_and_removes)

    result = run_cli("update", str(project), "--to", target)

    assert result.exit_code == 0, result.stderr
    assert "# our hooks" in (project / ".pre-commit-config.yaml").read_text()
    assert (
        "kept, you edited it and the new release removes it: .pre-commit-config.yaml"
        in result.stdout
    )
    assert "removed: none" in result.stdout


def test_diff_shows_a_removal_and_a_conflict_as_hunks_and_reads_a_dirty_tree(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli
) -> None:
    project = versions.generate(versions.release("46.0.0"))
    owner_edits_the_readme(project)
    commit(project, "Owner wording")
    (project / "notes.txt").write_text("uncommitted\n")

    def release(templates: Path) -> None:
        conflicting_wording(templates)
        remove_the_pre_commit_config(templates)

    result = run_cli("diff", str(project), "--to", versions.release("46.0.1", release))

    assert result.exit_code == 0, result.stderr
    assert "deleted file mode" in result.stdout and "-repos:" in result.stdout
    readme = result.stdout.split("diff --git a/README.md b/README.md")[1].split("diff --git")[0]
    assert "+<<<<<<< before updating" in readme and "new file" not in readme
    assert "in conflict: README.md" in result.stdout
    assert (project / "notes.txt").read_text() == "uncommitted\n"


def test_nothing_to_do_says_so(versions: TemplateVersions, run_cli) -> None:  # type: ignore[no-untyped-def]
    version = versions.release("47.0.0")
    project = versions.generate(version)

    result = run_cli("update", str(project), "--to", version)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Already up to date (v47.0.0); nothing to update.\n"


@pytest.mark.parametrize(
    ("operation", "state_file"),
    [
        ("a merge", "MERGE_HEAD"),
        ("a rebase", "rebase-merge"),
        ("a cherry-pick", "CHERRY_PICK_HEAD"),
    ],
)
def test_an_update_in_the_middle_of_a_git_operation_is_refused(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli, operation: str, state_file: str
) -> None:
    project = versions.generate(versions.release(f"48.{len(state_file)}.0"))
    target = versions.release(f"48.{len(state_file)}.1", add_gitignore_line)
    marker = project / ".git" / state_file
    if state_file == "rebase-merge":
        marker.mkdir()
    else:
        marker.write_text(git(project, "rev-parse", "HEAD"))
    before = snapshot(project)

    result = run_cli("update", str(project), "--to", target)

    assert result.exit_code == 2
    assert result.stderr.startswith(f"stackwise: error: {project} is in the middle of {operation}")
    assert snapshot(project) == before


def test_the_update_commits_nothing_on_the_owners_branch(  # type: ignore[no-untyped-def]
    versions: TemplateVersions, run_cli
) -> None:
    project = versions.generate(versions.release("49.0.0"))
    head, reflog = git(project, "rev-parse", "HEAD"), git(project, "reflog")

    result = run_cli("update", str(project), "--to", versions.release("49.0.1", grow_the_template))

    assert result.exit_code == 0, result.stderr
    assert git(project, "rev-parse", "HEAD") == head and git(project, "reflog") == reflog


def test_an_invalid_answer_during_update_exits_2(versions: TemplateVersions, run_cli) -> None:  # type: ignore[no-untyped-def]
    project = versions.generate(versions.release("50.0.0"))

    result = run_cli("update", str(project), "-d", "project_name=a\tb")

    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "project_name" in result.stderr


def test_a_second_update_of_the_same_project_waits_its_turn(
    versions: TemplateVersions, run_cli
) -> None:  # type: ignore[no-untyped-def]
    import fcntl

    project = versions.generate(versions.release("51.0.0"))
    target = versions.release("51.0.1", add_gitignore_line)
    before = snapshot(project)
    running = os.open(project / ".git", os.O_RDONLY)  # what the first update holds
    fcntl.flock(running, fcntl.LOCK_EX)
    try:
        result = run_cli("update", str(project), "--to", target)
    finally:
        os.close(running)

    assert result.exit_code == 2
    assert result.stderr == (
        f"stackwise: error: another stackwise update is running on {project}; wait for it\n"
    )
    assert snapshot(project) == before
