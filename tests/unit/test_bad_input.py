"""The bad-input catalogue: every case is one line on stderr, its documented exit code, no
traceback, and a sandbox (the user's files, a generated project) hashed identical before and after.

Each case runs in a fresh sandbox directory as the working directory. The sandbox holds a file
of the user's, and, for the lifecycle cases, a copy of a committed generated project.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stackwise import store
from stackwise.cli import main
from tests.conftest import REPO_ROOT

USAGE, FAILURE, INTERRUPTED = 2, 1, 130  # the README's exit codes


def sandbox_digest(root: Path) -> str:
    """Every path and file content under `root`; git's index is left out because a read-only
    `git status` may refresh the stat data cached in it."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[-2:] == (".git", "index"):
            continue
        digest.update(str(relative).encode() + b"\0")
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


# ---- set-ups: each prepares the sandbox (the working directory) before the command runs ----


def project(sandbox: Path) -> None:
    shutil.copytree(GENERATED["path"], sandbox / "project", symlinks=True)


def dirty_project(sandbox: Path) -> None:
    project(sandbox)
    readme = sandbox / "project" / "README.md"
    readme.write_text(readme.read_text() + "\nWork in progress.\n")


def project_without_git(sandbox: Path) -> None:
    project(sandbox)
    shutil.rmtree(sandbox / "project" / ".git")


def project_on_missing_version(sandbox: Path) -> None:
    project(sandbox)
    answers = sandbox / "project" / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("_commit: v", "_commit: v7.7.7-was-"))
    store.git(["commit", "-qam", "Pretend an unknown version"], cwd=sandbox / "project")


def project_with_broken_answers(sandbox: Path) -> None:
    project(sandbox)
    (sandbox / "project" / ".copier-answers.yml").write_text("_src_path: [unclosed\n")


def project_with_alias_bomb(sandbox: Path) -> None:
    project(sandbox)
    (sandbox / "project" / ".copier-answers.yml").write_text(ALIAS_BOMB)


# Nine levels of aliases, each doubling: a few lines that expand to a billion items.
ALIAS_BOMB = "a0: &a0 [x, x]\n" + "".join(
    f"a{n}: &a{n} [*a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}]\n"
    for n in range(1, 10)
)
OVER_A_MEGABYTE = "# " + "x" * 1_100_000 + "\n"


def answers_file(text: str | None, name: str = "answers.yml") -> Callable[[Path], None]:
    def write(sandbox: Path) -> None:
        if text is None:
            (sandbox / name).mkdir()
        else:
            (sandbox / name).write_text(text)

    return write


def config(text: str) -> Callable[[Path], None]:
    return answers_file(text, "team.toml")


def non_empty_directory(sandbox: Path) -> None:
    (sandbox / "taken").mkdir()
    (sandbox / "taken" / "keep.txt").write_text("mine")


def directory_with_notes(sandbox: Path) -> None:
    (sandbox / "taken").mkdir()
    (sandbox / "taken" / "README.md").write_text("Our notes on the service.\n")


def dangling_symlink(sandbox: Path) -> None:
    (sandbox / "link").symlink_to(sandbox / "gone")


def project_mid_merge(sandbox: Path) -> None:
    project(sandbox)
    head = store.git(["rev-parse", "HEAD"], cwd=sandbox / "project")
    (sandbox / "project" / ".git" / "MERGE_HEAD").write_text(head + "\n")


def project_with_refused_answer(sandbox: Path) -> None:
    project(sandbox)
    answers = sandbox / "project" / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("database: sqlite", "database: mongodb"))
    store.git(["commit", "-qam", "An answer the template refuses"], cwd=sandbox / "project")


def project_with_unreadable_journal(sandbox: Path) -> None:
    project(sandbox)
    (sandbox / "project" / ".git" / "stackwise-update.json").write_text('{"head": "c9')


def working_directory_deleted(sandbox: Path) -> None:
    (sandbox / "gone").mkdir()
    os.chdir(sandbox / "gone")  # the test's monkeypatch.chdir puts the old one back
    (sandbox / "gone").rmdir()


def locked_license(sandbox: Path) -> None:
    project(sandbox)
    (sandbox / "team.toml").write_text('[locked]\nlicense = "Proprietary"\n')


def older_version_in_store(sandbox: Path) -> None:
    project(sandbox)
    store.add_version(REPO_ROOT, "0.0.1")


def team_template_repository(sandbox: Path) -> None:
    (sandbox / "starter").mkdir()
    (sandbox / "starter" / "copier.yml").write_text("team:\n  type: str\n  default: core\n")
    store.git(["init", "-q"], cwd=sandbox / "starter")
    (sandbox / "team.toml").write_text(
        '[templates.starter]\nsource = "starter"\nref = "v1.0.0"\nframework = "flask"\n'
    )


def broken_team_template(sandbox: Path) -> None:
    team_template_repository(sandbox)
    (sandbox / "starter" / "README.md.jinja").write_text("# {{ team }\n")  # an unclosed tag
    for step in (["add", "--all"], ["commit", "-q", "-m", "v1"], ["tag", "v1.0.0"]):
        store.git(step, cwd=sandbox / "starter")


def interrupt_mid_render(monkeypatch: pytest.MonkeyPatch) -> None:
    from copier._main import Worker

    real_render_file = Worker._render_file
    calls: list[object] = []

    def interrupt_after_three_files(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return real_render_file(self, *args, **kwargs)

    monkeypatch.setattr(Worker, "_render_file", interrupt_after_three_files)


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    message: str  # a fragment of the one line
    exit_code: int = USAGE
    setup: Callable[[Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    patch: Callable[[pytest.MonkeyPatch], None] | None = None


def new(*args: str) -> tuple[str, ...]:
    return ("new", *args, "--defaults", "--no-git")


def flask(*answers: str) -> tuple[str, ...]:
    """A Flask project two directories deep: a refusal must not leave the parents behind."""
    return new("deep/nested/svc", "-f", "flask", *(arg for a in answers for arg in ("-d", a)))


HUGE = "x" * 10_000

CATALOGUE = [
    # slugs
    Case("slug-keyword", flask("project_slug=class"), "'class' would shadow a Python keyword"),
    Case("slug-framework", flask("project_slug=flask"), "'flask' would shadow"),
    Case("slug-test", flask("project_slug=test"), "'test' would shadow"),
    Case("slug-stdlib", flask("project_slug=json"), "'json' would shadow"),
    Case("slug-dot-dot", flask("project_slug=../evil"), "not a valid package name"),
    Case("slug-slash", flask("project_slug=a/b"), "not a valid package name"),
    Case("slug-uppercase", flask("project_slug=MyApp"), "not a valid package name"),
    Case("slug-leading-digit", flask("project_slug=1app"), "not a valid package name"),
    Case("slug-empty", flask("project_slug="), "invalid answer for project_slug"),
    Case("slug-huge", flask(f"project_slug={HUGE}"), "invalid answer for project_slug"),
    # values
    Case("name-empty", flask("project_name= "), "the project name must not be empty"),
    Case("name-huge", flask(f"project_name={HUGE}"), "at most 100 characters"),
    Case("email-invalid", flask("author_email=not-an-email"), "is not an email address"),
    Case("licence-unknown", flask("license=WTFPL"), "invalid answer for license"),
    Case("python-unknown", flask("python_version=2.7"), "invalid answer for python_version"),
    Case("database-unknown", flask("database=mongodb"), "invalid answer for database"),
    Case(
        "bool-invalid",
        new("svc", "-f", "fastapi", "-d", "websockets=maybe"),
        "invalid answer for websockets: write true or false",
    ),
    Case("django-admin-url", new("svc", "-f", "django", "-d", "admin_url=/admin"), "admin_url"),
    Case(
        "fastapi-admin-without-auth",
        new("svc", "-f", "fastapi", "-d", "auth=none", "-d", "admin=sqladmin"),
        "choose auth=jwt with admin=sqladmin",
    ),
    Case("flask-extension-unknown", flask("extensions=sqlalchemy,mongo"), "extensions"),
    Case("flask-extension-needs", flask("extensions=admin"), "admin needs login"),
    Case("flask-list-malformed", flask("extensions=[sqlalchemy, login"), "write a list"),
    # choices and flags
    Case("framework-unknown", new("svc", "-f", "rails"), "unknown framework 'rails'"),
    Case("template-unknown", new("svc", "--template", "rails"), "unknown template 'rails'"),
    Case("use-case-unknown", new("svc", "--use-case", "blog"), "unknown use case 'blog'"),
    Case("need-unknown", new("svc", "--need", "graphql"), "unknown need 'graphql'"),
    Case("question-unknown", flask("colour=blue"), "unknown question 'colour'"),
    Case("data-without-equals", new("svc", "-d", "no-equals"), "--data expects KEY=VALUE"),
    Case("data-without-key", new("svc", "-d", "=value"), "--data expects KEY=VALUE"),
    Case("flag-unknown", ("new", "svc", "--bogus"), "No such option: --bogus"),
    Case("command-unknown", ("frobnicate",), "No such command"),
    Case("no-destination", ("new", "--no-input"), "give the directory to create"),
    Case("no-terminal", ("new", "svc"), "no terminal to ask questions in"),
    Case("name-tab", flask("project_name=a\tb"), "the project name must be one line of text"),
    Case("name-escape-code", flask("project_name=\x1b[31mred"), "without control characters"),
    Case("description-line-break", flask("description=one\ntwo"), "description must be one line"),
    Case("description-line-separator", flask("description=a\u2028b"), "description must be one"),
    Case("description-huge", flask(f"description={HUGE}"), "at most 300 characters"),
    Case("author-control", flask("author_name=Ada\x7f"), "the author name must be one line"),
    Case("author-huge", flask(f"author_name={HUGE}"), "at most 100 characters"),
    Case("email-at-only", flask("author_email=@"), "'@' is not an email address"),
    Case("email-no-domain", flask("author_email=ada@"), "is not an email address"),
    Case("email-line-break", flask("author_email=a@b.c\nBcc: x@y.z"), "author email must be one"),
    Case("email-no-name", flask("author_email=@b"), "'@b' is not an email address"),
    Case("email-two-ats", flask("author_email=a@b@c"), "'a@b@c' is not an email address"),
    # a default nobody typed: the line says where it came from and the flag that replaces it
    Case(
        "name-from-a-long-folder-name",
        new("n" * 101, "-f", "flask"),
        "the project name must be at most 100 characters (the default made from the directory "
        f"name '{'n' * 101}': pass -d project_name=VALUE)",
    ),
    Case(
        "email-from-the-git-identity",
        new("svc", "-f", "fastapi"),
        "'@' is not an email address: write name@domain (the default from your git identity "
        "or the team configuration: pass -d author_email=VALUE)",
        setup=answers_file("[user]\n\temail = @\n", "gitconfig"),
        env={"GIT_CONFIG_GLOBAL": "gitconfig", "GIT_CONFIG_NOSYSTEM": "1"},
    ),
    # answers files
    Case("answers-file-missing", (*flask(), "--answers-file", "absent.yml"), "does not exist"),
    Case(
        "answers-file-list-for-a-name",
        (*flask(), "--answers-file", "answers.yml"),
        "invalid answer for project_name: write one value, not a list",
        setup=answers_file("project_name: [Shop, Store]\n"),
    ),
    Case(
        "answers-file-empty-name",
        (*flask(), "--answers-file", "answers.yml"),
        "the project name must not be empty",
        setup=answers_file("project_name:\n"),
    ),
    Case(
        "answers-file-alias-bomb",
        (*flask(), "--answers-file", "answers.yml"),
        "uses a YAML alias (line 2)",
        setup=answers_file(ALIAS_BOMB),
    ),
    Case(
        "answers-file-huge",
        (*flask(), "--answers-file", "answers.yml"),
        "answers.yml is larger than 1 MB",
        setup=answers_file(OVER_A_MEGABYTE),
    ),
    Case("answers-file-endless", (*flask(), "--answers-file", "/dev/zero"), "larger than 1 MB"),
    Case(
        "answers-file-malformed",
        (*flask(), "--answers-file", "answers.yml"),
        "answers.yml is not valid YAML (line 2)",
        setup=answers_file("license: [unclosed\n"),
    ),
    Case(
        "answers-file-not-a-mapping",
        (*flask(), "--answers-file", "answers.yml"),
        "must be a mapping",
        setup=answers_file("- a\n- list\n"),
    ),
    Case(
        "answers-file-is-a-directory",
        (*flask(), "--answers-file", "answers.yml"),
        "cannot read answers file",
        setup=answers_file(None),
    ),
    Case(
        "answers-file-unknown-question",
        (*flask(), "--answers-file", "answers.yml"),
        "unknown question 'colour'",
        setup=answers_file("colour: blue\n"),
    ),
    # destinations
    Case("destination-is-a-file", new("notes.txt", "-f", "flask"), "is a file"),
    Case("destination-inside-a-file", new("notes.txt/svc", "-f", "flask"), "cannot write to"),
    Case(
        "destination-not-empty",
        new("taken", "-f", "flask"),
        "is not empty",
        setup=non_empty_directory,
    ),
    Case("destination-not-creatable", new("/proc/stackwise/svc", "-f", "flask"), "cannot create"),
    Case("destination-not-permitted", new("/sys/svc", "-f", "flask"), "Operation not permitted"),
    Case(
        "destination-files-would-be-replaced",
        new("taken", "-f", "flask", "--force"),
        "would overwrite 1 file(s) in",
        setup=directory_with_notes,
    ),
    Case(
        "destination-dangling-symlink",
        new("link", "-f", "flask"),
        "is a symlink to nothing",
        setup=dangling_symlink,
    ),
    Case("destination-name-too-long", new("x" * 256, "-f", "flask"), "is over 255 bytes"),
    Case(
        "store-not-creatable",
        new("svc", "-f", "flask"),
        "cannot create it (No such file or directory); set STACKWISE_TEMPLATE_STORE",
        FAILURE,
        env={"STACKWISE_TEMPLATE_STORE": "/proc/stackwise/templates.git"},
    ),
    Case(
        "interrupted-mid-render",
        new("deep/svc", "-f", "django"),
        "interrupted; nothing was written",
        INTERRUPTED,
        patch=interrupt_mid_render,
    ),
    # template sources and versions
    Case(
        "template-store-is-a-file",
        new("svc", "-f", "flask"),
        "notes.txt is not a git repository; move it away, or set STACKWISE_TEMPLATE_STORE",
        FAILURE,
        env={"STACKWISE_TEMPLATE_STORE": "notes.txt"},
    ),
    Case(
        "team-template-source-missing",
        ("--config", "team.toml", *new("svc", "--template", "starter")),
        "team template starter:",
        setup=config('[templates.starter]\nsource = "gone"\nframework = "flask"\n'),
    ),
    Case(
        "team-template-ref-missing",
        ("--config", "team.toml", *new("svc", "--template", "starter")),
        "Unknown revision: 'v1.0.0'",
        setup=team_template_repository,
    ),
    Case(
        "team-template-broken-jinja",
        ("--config", "team.toml", *new("svc", "--template", "starter")),
        "template starter has a Jinja error in README.md.jinja, line 1:",
        FAILURE,
        setup=broken_team_template,
    ),
    Case(
        "status-version-not-in-store",
        ("status", "project"),
        "cannot be read",
        FAILURE,
        setup=project_on_missing_version,
    ),
    Case(
        "update-journal-unreadable",
        ("status", "project"),
        "was interrupted and",
        setup=project_with_unreadable_journal,
    ),
    Case(
        "working-directory-deleted",
        ("status",),
        "the current directory no longer exists; cd into one that does",
        setup=working_directory_deleted,
    ),
    # recommend
    Case("recommend-use-case", ("recommend", "--use-case", "blog"), "unknown use case"),
    Case("recommend-need", ("recommend", "--need", "graphql"), "unknown need"),
    Case("recommend-team", ("recommend", "--team-knows", "rails"), "unknown framework 'rails'"),
    # status, diff and update
    Case("status-not-generated", ("status", "."), "is not a generated project"),
    Case(
        "status-broken-answers",
        ("status", "project"),
        ".copier-answers.yml is not valid YAML (line 2)",
        setup=project_with_broken_answers,
    ),
    Case(
        "status-alias-bomb-answers",
        ("status", "project"),
        ".copier-answers.yml uses a YAML alias (line 2)",
        setup=project_with_alias_bomb,
    ),
    Case("diff-not-generated", ("diff", "."), "is not a generated project"),
    Case("update-not-generated", ("update", "."), "is not a generated project"),
    Case(
        "update-dirty-tree",
        ("update", "project"),
        "has uncommitted changes",
        setup=dirty_project,
    ),
    Case(
        "update-without-git",
        ("update", "project"),
        "is not in a git repository; `git init` and commit the project, then update",
        setup=project_without_git,
    ),
    Case(
        "update-version-not-found",
        ("update", "project", "--to", "v9.9.9"),
        "no template version v9.9.9",
        FAILURE,
        setup=project,
    ),
    Case(
        "update-to-older-version",
        ("update", "project", "--to", "v0.0.1"),
        "Downgrades are not supported",
        FAILURE,
        setup=older_version_in_store,
    ),
    Case(
        "update-unknown-question",
        ("update", "project", "--data", "colour=blue"),
        "unknown question 'colour'",
        setup=project,
    ),
    Case(
        "update-mid-merge",
        ("update", "project"),
        "is in the middle of a merge; finish it first (git merge --abort, or commit)",
        setup=project_mid_merge,
    ),
    Case(
        "update-interrupted",
        ("update", "project"),
        "interrupted; ",
        INTERRUPTED,
        setup=project,
        patch=interrupt_mid_render,
    ),
    Case(
        "update-invalid-answer",
        ("update", "project", "--data", "project_name=a\tb"),
        "invalid answer for project_name",
        setup=project,
    ),
    Case(
        "status-answer-refused",
        ("status", "project"),
        ".copier-answers.yml: invalid answer for database",
        setup=project_with_refused_answer,
    ),
    Case(
        "update-malformed-list",
        ("update", "project", "--data", "extensions=[cors"),
        "write a list",
        setup=project,
    ),
    # team configuration
    Case("config-missing", ("--config", "absent.toml", "recommend"), "does not exist"),
    Case(
        "config-huge",
        ("--config", "team.toml", "recommend"),
        "team configuration team.toml is larger than 1 MB",
        setup=config(OVER_A_MEGABYTE),
    ),
    Case(
        "config-env-missing",
        ("recommend",),
        "STACKWISE_CONFIG: absent.toml does not exist",
        env={"STACKWISE_CONFIG": "absent.toml"},
    ),
    Case(
        "config-not-toml",
        ("--config", "team.toml", "recommend"),
        "is not valid TOML",
        setup=config("[chooser\n"),
    ),
    Case(
        "config-unknown-key",
        ("--config", "team.toml", "recommend"),
        "colour: unknown key",
        setup=config("colour = 'blue'\n"),
    ),
    Case(
        "config-wrong-type",
        ("--config", "team.toml", "recommend"),
        "chooser.prefer: expected text, got int",
        setup=config("[chooser]\nprefer = 3\n"),
    ),
    Case(
        "config-lock-contradicted",
        ("--config", "team.toml", *flask("license=MIT")),
        "team.toml locks license to Proprietary",
        setup=config('[locked]\nlicense = "Proprietary"\n'),
    ),
    Case(
        "config-lock-unknown-question",
        ("--config", "team.toml", *flask()),
        "locked.licence: no template asks this question",
        setup=config('[locked]\nlicence = "MIT"\n'),
    ),
    Case(
        "update-lock-contradicted",
        ("--config", "team.toml", "update", "project", "--data", "license=MIT"),
        "locks license to Proprietary",
        setup=locked_license,
    ),
]

# A committed Flask project, generated once for the cases that need one.
GENERATED: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def generated_project(tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("generated") / "orders"
    assert main(["new", str(path), "-f", "flask", "--defaults"]) == 0
    GENERATED["path"] = path


def test_the_catalogue_has_at_least_forty_cases() -> None:
    assert len(CATALOGUE) >= 40
    assert len({case.id for case in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize("case", CATALOGUE, ids=lambda case: case.id)
def test_bad_input_is_one_line_its_exit_code_and_changes_nothing(  # type: ignore[no-untyped-def]
    case: Case, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    (sandbox / "notes.txt").write_text("the user's own file\n")
    monkeypatch.chdir(sandbox)
    if case.setup:
        case.setup(sandbox)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    if case.patch:
        case.patch(monkeypatch)
    before = sandbox_digest(sandbox)

    result = run_cli(*case.args)  # an unexpected exception would fail the test right here

    assert result.exit_code == case.exit_code, result.stderr
    assert result.stderr.startswith("stackwise: error: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert case.message in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert sandbox_digest(sandbox) == before
