"""status, diff and update of a generated project: copier's three-way update, offline."""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackwise import __version__, render_cache, store
from stackwise.catalog import ANSWERS_FILE, builtin_root
from stackwise.errors import GitError, Interrupted, InvalidAnswerError, RenderError, UsageError
from stackwise.inputs import load_yaml
from stackwise.render import (
    add_missing_secrets,
    answer_error,
    jinja_error,
    remove_empty_parents,
    signals_held,
)

if TYPE_CHECKING:
    from packaging.version import Version

    from stackwise.catalog import TemplateInfo
    from stackwise.config import TeamConfig, TeamTemplate

# Lines copier writes around a conflict it leaves inline (conflict="inline").
CONFLICT_MARKER = "<<<<<<< before updating"
# Not part of what the template renders: the repository itself, local and secret settings, and
# the lock stackwise writes beside the template's files.
NOT_RENDERED = {".git", ".env", ".venv", "uv.lock"}


class NotGeneratedError(UsageError):
    """The directory holds no project generated from a stackwise template."""


class DirtyTreeError(UsageError):
    """The project has uncommitted changes, which an update could mix with its own."""


@dataclass(frozen=True)
class Layer:
    """One template rendered into the project, as its answers file records it."""

    answers_file: str
    source: str
    version: str
    answers: dict[str, Any]
    latest: str  # the built-in's newest version, or the ref the team configuration pins
    builtin: bool
    trusted: bool  # copier may run the template's migrations

    @property
    def update_available(self) -> bool:
        if not self.version:  # a plain directory: nothing to move to
            return False
        if self.builtin or _version_of(self.latest).release != (0,):
            return _version_of(self.latest) > _version_of(self.version)
        return self.latest != self.version  # a commit the team configuration pins


@dataclass(frozen=True)
class Status:
    path: Path
    layers: list[Layer]
    changed_by_owner: dict[str, str] = field(default_factory=dict)  # file -> added/edited/deleted
    conflicts: list[str] = field(default_factory=list)  # markers a past update left unresolved

    @property
    def next_step(self) -> str:
        if self.conflicts:
            return "resolve the <<<<<<< markers, `git add` the files, then commit"
        if self.update_available:
            return "`stackwise diff` to see the update, then `stackwise update`"
        return "nothing: the project is on the newest template version"

    @property
    def template(self) -> Layer:
        """The template the project was made from; the others are rendered under it."""
        return self.layers[-1]

    @property
    def answers(self) -> dict[str, Any]:
        return {k: v for layer in self.layers for k, v in layer.answers.items()}

    @property
    def update_available(self) -> bool:
        return any(layer.update_available for layer in self.layers)


@dataclass(frozen=True)
class UpdateSummary:
    version_before: str
    version_after: str
    updated: list[str]
    added: list[str]
    removed: list[str]
    conflicts: list[str]
    # When the update changed pyproject.toml, uv.lock was refreshed (relocked), from the package
    # index or, with a warning, from uv's cache; or it could not be, and the warning says so.
    relocked: bool = False
    relock_warning: str | None = None
    # Files the owner edited that the new release no longer has: left in place, not removed.
    kept: list[str] = field(default_factory=list)
    changes: dict[str, str] = field(default_factory=dict)  # file -> M, A or D, as git says
    # Secrets a new option needs, given fresh values in the project's local `.env`.
    secrets_added: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def recorded(answers_file: Path) -> dict[str, Any]:
    """One answers file of a generated project, or one clear error."""
    if not answers_file.is_file():
        raise NotGeneratedError(
            f"{answers_file.parent} is not a generated project (no {answers_file.name})"
        )
    answers = load_yaml(answers_file, "the project's answers file", NotGeneratedError)
    if not isinstance(answers, dict) or not answers.get("_src_path"):
        raise NotGeneratedError(f"{answers_file} does not record a template source")
    return answers


def project_layers(path: Path, config: TeamConfig) -> list[Layer]:
    """The templates in the project: `.copier-answers.yml`, then a team layer's own file."""
    names = [ANSWERS_FILE, *sorted(p.name for p in path.glob(".copier-answers.*.yml"))]
    layers = []
    latest_builtin: str | None = None
    for name in names:
        if name == ANSWERS_FILE and not (path / name).is_file() and len(names) > 1:
            continue  # a team template that extends nothing may name its file itself
        answers = recorded(path / name)
        source, version = str(answers["_src_path"]), str(answers.get("_commit") or "")
        if not version and name == ANSWERS_FILE and len(names) == 1:
            raise NotGeneratedError(f"{path / name} does not record a template version")
        builtin = source == store.TEMPLATE_URL
        entry = _team_entry(config, source)
        if builtin:
            latest_builtin = latest_builtin or latest_version()
            latest, trusted = latest_builtin, True
        elif entry is not None:
            latest, trusted = entry.ref or version, entry.trusted
        else:  # a template the configuration does not list: its newest tag, as copier sees it
            latest, trusted = _newest_release(source) if version else version, False
        layers.append(
            Layer(
                answers_file=name,
                source=source,
                version=version,
                answers={k: v for k, v in answers.items() if not k.startswith("_")},
                latest=latest,
                builtin=builtin,
                trusted=trusted,
            )
        )
    return layers


def _team_entry(config: TeamConfig, source: str) -> TeamTemplate | None:
    return next((t for t in config.templates.values() if config.template_root(t) == source), None)


def _newest_release(source: str) -> str:
    """The newest release tag of a template repository (a path or a git URL), as copier picks
    it: PEP 440 versions, no pre-releases. One line when the source cannot be read."""
    try:
        listing = store.git(["ls-remote", "--tags", "--refs", source], {"GIT_TERMINAL_PROMPT": "0"})
    except GitError as error:
        raise UsageError(
            f"cannot read the versions of the project's template {source} ({error.message}); "
            "make it reachable, or list it under [templates] in the team configuration with a ref"
        ) from None
    tags = [line.rpartition("refs/tags/")[2] for line in listing.splitlines()]
    releases = [
        tag
        for tag in tags
        if not _version_of(tag).is_prerelease and _version_of(tag).release != (0,)
    ]
    if not releases:
        raise UsageError(f"the project's template {source} has no release tags to update to")
    return max(releases, key=_version_of)


def _inside_work_tree(path: Path) -> bool:
    try:
        return store.git(["rev-parse", "--is-inside-work-tree"], cwd=path) == "true"
    except GitError:
        return False


# `git describe` as copier records a commit past a tag: v1.1.0-3-g0d087ee is 1.1.0.post3.
DESCRIBED = re.compile(r"(?P<tag>.+)-(?P<distance>\d+)-g[0-9a-f]+")
COMMIT = re.compile(r"[0-9a-f]{7,40}")  # what copier records for a template without tags


def _version_of(tag: str) -> Version:
    """A tag such as `v0.2.0` as a PEP 440 version; a tag that is not one sorts first."""
    from packaging.version import InvalidVersion, Version  # copier depends on packaging

    if described := DESCRIBED.fullmatch(tag):
        tag = f"{described['tag']}.post{described['distance']}"
    try:
        return Version(tag.lstrip("v"))
    except InvalidVersion:
        return Version("0")


def latest_version() -> str:
    """The newest released template version in the store, after adding the running
    stackwise's own: a local build of another checkout (`v0.1.0+<tree>`) is never newest."""
    own = store.add_version(builtin_root())
    tags = store.git(["--git-dir", str(store.store_path()), "tag"]).split()
    return max((tag for tag in tags if "+" not in tag or tag == own), key=_version_of)


def status(path: Path, config: TeamConfig) -> Status:
    recover_interrupted_update(path)
    layers = project_layers(path, config)
    with _rendered_as_generated(path, layers) as pristine:
        changed = _files_changed(pristine, path, {layer.answers_file for layer in layers})
    conflicts = [
        name
        for name, how in changed.items()
        if how != "deleted" and CONFLICT_MARKER in _text(path / name)
    ]
    return Status(path=path, layers=layers, changed_by_owner=changed, conflicts=conflicts)


def diff(path: Path, config: TeamConfig, to: str | None = None) -> tuple[UpdateSummary, str]:
    """What `update` would do, worked out the same way, and its git diff; the project is not
    touched (uncommitted changes are not part of it: update needs them committed first)."""
    with _updated_copy(path, config, to, {}, read_only=True) as (trial, summary):
        show = [
            "-c",
            "core.quotePath=false",
            "diff",
            "--cached",
            "--relative",
            "--no-color",
            "HEAD",
        ]
        return summary, store.git(show, cwd=trial)


def update(
    path: Path,
    config: TeamConfig,
    to: str | None = None,
    data: Mapping[str, str] | None = None,
) -> UpdateSummary:
    """Update a committed project as one transaction: the work happens in a clone, and only a
    complete result is written into the project, with signals held back while it is."""
    with _updated_copy(path, config, to, dict(data or {}), read_only=False) as (trial, summary):
        if summary.changed:
            _refuse_writing_over_untracked(path, summary)
            _apply(trial, path, summary)
            summary = replace(summary, secrets_added=add_missing_secrets(path))
    return summary


@contextmanager
def _updated_copy(
    path: Path, config: TeamConfig, to: str | None, data: dict[str, str], *, read_only: bool
) -> Iterator[tuple[Path, UpdateSummary]]:
    """The project's last commit, cloned and updated; everything the update changes is staged
    in the clone, so `git diff --cached HEAD` there is the update. A project in a subdirectory
    of a larger repository is updated where it sits in a clone of that repository."""
    recover_interrupted_update(path)
    try:
        layers = project_layers(path, config)
        top, prefix, git_dir, head = _repository_of(path)
        _refuse_unfinished_git_operation(path, git_dir)
        with nullcontext() if read_only else _one_update_at_a_time(path, git_dir):
            if not read_only:
                _require_clean_git_tree(path)
            if data:
                data = _checked_answers(data, layers, config)
            with _scratch_directory("stackwise-update-") as scratch:
                clone = scratch / top.name
                # --shared borrows the project's objects instead of copying them.
                store.git(["clone", "--quiet", "--shared", "--no-checkout", str(top), str(clone)])
                store.git(["checkout", "--quiet", head], cwd=clone)
                trial = clone / prefix
                _run_update(trial, layers, to, data, read_only=read_only)
                yield trial, _summary(path, trial, layers)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted; {path} is as it was") from None
    except OSError as error:
        if not _raised_while_interrupted(error):
            raise
        raise Interrupted(f"interrupted; {path} is as it was") from None


@contextmanager
def _scratch_directory(prefix: str) -> Iterator[Path]:
    """A temporary directory that also holds every temporary file copier makes meanwhile, so
    that one removal takes them all, whatever interrupts the work."""
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    outer = tempfile.tempdir
    tempfile.tempdir = str(scratch)
    try:
        yield scratch
    finally:
        tempfile.tempdir = outer
        _remove_patiently(scratch)


def _remove_patiently(tree: Path, patience: float = 10.0) -> None:
    """Remove a scratch tree. A git process that copier started outlives an interruption of
    stackwise by a moment and may still write into the tree, so removal is tried again until
    it succeeds or `patience` seconds have passed."""
    deadline = time.monotonic() + patience
    while tree.exists():
        try:
            shutil.rmtree(tree)
        except OSError:
            if time.monotonic() > deadline:
                shutil.rmtree(tree, ignore_errors=True)
                return
            time.sleep(0.05)


def _raised_while_interrupted(error: BaseException) -> bool:
    """Whether `error` came from cleaning up after Ctrl-C, SIGTERM or SIGHUP (copier removes its
    temporary directories while the git process it started may still be writing in them)."""
    context = error.__context__
    while context is not None:
        if isinstance(context, KeyboardInterrupt):
            return True
        context = context.__context__
    return False


def _repository_of(path: Path) -> tuple[Path, str, Path, str]:
    """The top of the project's git repository, the project's place in it (`` or `a/b/`), its
    git directory and its last commit."""
    asked = ["rev-parse", "--show-toplevel", "--show-prefix", "--absolute-git-dir"]
    try:  # one git process, not four: each costs more than its work on a busy machine
        top, prefix, git_dir, head = store.git([*asked, "--verify", "HEAD"], cwd=path).split("\n")
        return Path(top), prefix, Path(git_dir), head
    except (GitError, ValueError):  # ValueError: a newline in a path; the steps below say why
        pass
    try:
        top = store.git(["rev-parse", "--show-toplevel"], cwd=path)
    except GitError:
        raise UsageError(
            f"{path} is not in a git repository; `git init` and commit the project, then update"
        ) from None
    try:
        head = store.git(["rev-parse", "--verify", "--quiet", "HEAD"], cwd=path)
    except GitError:
        raise UsageError(f"{path} has no commit yet; commit the project, then update") from None
    return Path(top), store.git(["rev-parse", "--show-prefix"], cwd=path), _git_dir(path), head


@contextmanager
def _one_update_at_a_time(path: Path, git_dir: Path) -> Iterator[None]:
    """A lock on the project's git directory itself, so no lock file is left behind."""
    import fcntl

    descriptor = os.open(git_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"another stackwise update is running on {path}; wait for it"
            ) from None
        yield
    finally:
        os.close(descriptor)


def _checked_answers(
    data: Mapping[str, str], layers: list[Layer], config: TeamConfig
) -> dict[str, str]:
    from stackwise.answers import check_answer_names, team_answers

    template = _template_of(layers[-1], config)
    check_answer_names(data, template)
    checked, _ = team_answers(config, template, data)  # refuses a locked answer
    return {name: checked[name] for name in data}


def _summary(path: Path, trial: Path, layers: list[Layer]) -> UpdateSummary:
    """Stage the updated clone, keep what the owner edited and the release removes, re-lock."""
    store.git(["add", "--all", "--", "."], cwd=trial)
    changes, renamed = _staged_changes(trial)
    removed = [name for name, state in changes.items() if state == "D"]
    kept = _edited_by_owner(path, trial, layers, removed, renamed) if removed else []
    if kept:
        store.git(["checkout", "HEAD", "--", *kept], cwd=trial)
    relocked, relock_warning = False, None
    if "pyproject.toml" in changes:
        relocked, relock_warning = _relock(trial)
        store.git(["add", "--all", "--", "."], cwd=trial)
    if kept or "pyproject.toml" in changes:  # what is staged moved since it was listed
        changes, _ = _staged_changes(trial)
    written = [name for name, state in changes.items() if state != "D"]
    if link := store.link_escaping(trial, written):
        raise RenderError(f"the update ships a symlink out of the project ({link}); refused")
    answers_files = {layer.answers_file for layer in layers}
    names = {state: sorted(n for n, s in changes.items() if s == state) for state in "MAD"}
    # The version a person knows the project by: its top layer's, unless that has none.
    named = next(layer for layer in reversed(layers) if layer.version or layer is layers[0])
    return UpdateSummary(
        version_before=named.version,
        version_after=str(recorded(trial / named.answers_file).get("_commit", "")),
        updated=[name for name in names["M"] if name not in answers_files],
        added=names["A"],
        removed=names["D"],
        conflicts=[n for n in names["M"] + names["A"] if CONFLICT_MARKER in _text(trial / n)],
        kept=kept,
        relocked=relocked,
        relock_warning=relock_warning,
        changes=changes,
    )


def _staged_changes(trial: Path) -> tuple[dict[str, str], dict[str, str]]:
    """{file: M, A or D} for what is staged against HEAD (paths relative to the project), and
    {old: new} for the files git sees as moved (a removal plus a similar new file)."""
    listing = ["diff", "--cached", "--relative", "--name-status", "--find-renames", "-z", "HEAD"]
    fields = iter(store.git(listing, cwd=trial).rstrip("\0").split("\0"))
    changes: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for state in fields:
        if not state:
            continue
        name = next(fields)
        if state.startswith("R"):
            renamed[name] = next(fields)
            changes[name], changes[renamed[name]] = "D", "A"
        else:
            changes[name] = state[0]
    return changes, renamed


def _edited_by_owner(
    path: Path, trial: Path, layers: list[Layer], names: list[str], renamed: dict[str, str]
) -> list[str]:
    """Of the files the update removes, those holding edits of the owner's that would be lost:
    edited against what the template rendered, and not carried into a file it was moved to
    (a template migration moves the owner's copy; a template that only renames does not)."""
    kept = []
    with _rendered_as_generated(path, layers) as pristine:
        for name in names:
            ours = _committed(path, name)
            rendered = (pristine / name).read_bytes() if (pristine / name).is_file() else b""
            if ours == rendered:
                continue  # untouched by the owner: the release may remove it
            edits = set(ours.splitlines()) - set(rendered.splitlines())
            moved_to = trial / renamed[name] if name in renamed else None
            if moved_to and moved_to.is_file() and edits <= set(moved_to.read_bytes().splitlines()):
                continue
            kept.append(name)
    return kept


def _committed(path: Path, name: str) -> bytes:
    """The file as the project's last commit holds it (`name` relative to `path`)."""
    return subprocess.run(
        ["git", "show", f"HEAD:./{name}"], cwd=path, capture_output=True, check=True
    ).stdout


def _refuse_writing_over_untracked(path: Path, summary: UpdateSummary) -> None:
    """A file the update adds may exist already, ignored or untracked by git; and no file is
    written through a symlinked directory of the project's."""
    for name, state in summary.changes.items():
        target = path / name
        if state == "A" and (target.exists() or target.is_symlink()):
            raise UsageError(
                f"the update adds {name}, which {path} has but git does not track (ignored or "
                "untracked); move it away, then update"
            )
        if link := _symlinked_parent(target, path):
            raise UsageError(f"the update would write {name} through the symlink {link}; refused")


def _symlinked_parent(target: Path, root: Path) -> Path | None:
    for parent in target.relative_to(root).parents:
        if parent != Path() and (root / parent).is_symlink():
            return parent
    return None


# Written into the project's git directory while an update writes files, removed after: its
# presence means the process was killed part way, and the next command puts the files back.
JOURNAL = "stackwise-update.json"


def _apply(trial: Path, path: Path, summary: UpdateSummary) -> None:
    """Write the updated files into the project; Ctrl-C, SIGTERM and SIGHUP do not stop it, and
    a failure (a full disk) puts back what was written."""
    journal = _git_dir(path) / JOURNAL
    record = {
        "changes": summary.changes,
        "written": {n: _fingerprint(trial / n) for n, s in summary.changes.items() if s != "D"},
    }
    with signals_held():
        staged_journal = journal.with_suffix(".tmp")
        staged_journal.write_text(json.dumps(record))
        staged_journal.replace(journal)  # whole or absent, whenever the process dies
        try:
            for name, state in summary.changes.items():
                _write(trial / name, path / name, path, removed=state == "D")
        except OSError as error:
            _put_back(path, record)
            journal.unlink()
            raise RenderError(
                f"could not write the update ({error.strerror}: {error.filename}); "
                f"{path} is as it was"
            ) from None
        journal.unlink()


def _write(source: Path, target: Path, root: Path, *, removed: bool) -> None:
    if removed:
        target.unlink(missing_ok=True)
        remove_empty_parents(target.parent, root)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = _staged_name(target)
    staged.unlink(missing_ok=True)
    if source.is_symlink():
        staged.symlink_to(source.readlink())
    else:
        shutil.copy2(source, staged)
    staged.replace(target)


def _fingerprint(file: Path) -> str | None:
    """What is at `file`: None, a symlink's target, or a digest of the bytes."""
    if file.is_symlink():
        return f"link:{file.readlink()}"
    if not file.is_file():
        return None
    return hashlib.sha256(file.read_bytes()).hexdigest()


def _put_back(path: Path, record: dict[str, Any]) -> list[str]:
    """Undo what an interrupted `_apply` wrote, file by file: a file holding what the update
    wrote goes back to the last commit (or away, if the update added it); a file changed since
    is left alone and named. Returns those names."""
    restore, left = [], []
    for name, state in record["changes"].items():
        target = path / name
        _staged_name(target).unlink(missing_ok=True)
        now = _fingerprint(target)
        if state == "D":
            if now is None:
                restore.append(name)
        elif now == record["written"].get(name):
            if state == "A":
                target.unlink()
                remove_empty_parents(target.parent, path)
            else:
                restore.append(name)
        elif now is not None and (state == "A" or now != _committed_fingerprint(path, name)):
            left.append(name)
    if restore:
        store.git(["checkout", "HEAD", "--", *restore], cwd=path)
    return left


def _committed_fingerprint(path: Path, name: str) -> str:
    return hashlib.sha256(_committed(path, name)).hexdigest()


def recover_interrupted_update(path: Path) -> None:
    """Put back the files an update killed part way had written (see JOURNAL)."""
    try:
        journal = _git_dir(path) / JOURNAL
    except GitError:  # not a repository: no update ever ran here
        return
    if not journal.is_file():
        return
    try:
        record = json.loads(journal.read_text())
        left = _put_back(path, record)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UsageError(
            f"an update of {path} was interrupted and {journal} cannot be read; check "
            "`git status`, restore what you do not want (`git restore PATH`), then delete it"
        ) from None
    journal.unlink()
    kept = f"; left alone, changed since: {', '.join(left)}" if left else ""
    print(
        f"stackwise: warning: an earlier update of {path} was interrupted while writing files; "
        f"they are back as they were{kept}",
        file=sys.stderr,
    )


def _staged_name(target: Path) -> Path:
    """Where `_apply` writes a file before renaming it over `target`."""
    return target.with_name(f".{target.name}.stackwise")


def _git_dir(path: Path) -> Path:
    return Path(store.git(["rev-parse", "--absolute-git-dir"], cwd=path))


# Files git keeps while an operation waits for the user; an update in the middle would mix in.
UNFINISHED = {
    "MERGE_HEAD": "a merge (git merge --abort, or commit)",
    "rebase-merge": "a rebase (git rebase --continue or --abort)",
    "rebase-apply": "a rebase (git rebase --continue or --abort)",
    "CHERRY_PICK_HEAD": "a cherry-pick (git cherry-pick --continue or --abort)",
    "REVERT_HEAD": "a revert (git revert --continue or --abort)",
}


def _refuse_unfinished_git_operation(path: Path, git_dir: Path) -> None:
    for name, operation in UNFINISHED.items():
        if (git_dir / name).exists():
            what, _, how = operation.partition(" (")
            raise UsageError(f"{path} is in the middle of {what}; finish it first ({how}")


def _relock(path: Path) -> tuple[bool, str | None]:
    """Bring uv.lock in line with the updated pyproject.toml, so the tree the update leaves
    installs with `uv sync --locked`, as CI and the image do: (refreshed, a warning or None)."""
    from stackwise.render import lock_dependencies

    stale = "uv.lock no longer matches pyproject.toml"
    then = "run `uv lock` and commit uv.lock (CI and the image install with --locked)"
    if CONFLICT_MARKER in _text(path / "pyproject.toml"):
        return False, f"{stale}: resolve the conflict in pyproject.toml, then {then}"
    lock = lock_dependencies(path)
    if not lock.written:
        return False, f"{stale} ({lock.reason}): {then}"
    return True, lock.warning()


def _template_of(layer: Layer, config: TeamConfig) -> TemplateInfo:
    """The template that made `layer`, to check answers against its questions."""
    from stackwise.catalog import team_template, template_for

    if layer.builtin:
        return template_for(str(layer.answers.get("framework")))
    for name, entry in config.templates.items():
        if config.template_root(entry) == layer.source:
            return team_template(config, name)
    raise UsageError(
        f"the project's template {layer.source} is not in {config.label}; "
        "list it under [templates] to change answers"
    )


def _run_update(
    path: Path, layers: list[Layer], to: str | None, data: Mapping[str, str], *, read_only: bool
) -> None:
    """Update every layer of the clone at `path`, base first; `to` moves the top one, the
    others go to their latest. A read-only run (diff) runs no team template's tasks or
    migrations; the built-in's migrations are stackwise's own file moves, so diff shows them.

    Copier refuses a dirty tree, so each layer's result is committed for the next one to
    merge into, and the commits are undone at the end: the owner reviews one set of changes.
    """
    # Only several layers commit in the clone (see below); one layer needs no way back.
    start = store.git(["rev-parse", "HEAD"], cwd=path) if len(layers) > 1 else ""
    # An answer goes to the layers that recorded it; one no layer recorded, to the base.
    unclaimed = {name for name in data if not any(name in layer.answers for layer in layers)}
    for index, layer in enumerate(layers):
        if index:
            store.git(["add", "--all"], cwd=path)
            message = f"stackwise: {layers[index - 1].answers_file} updated"
            store.git(
                ["commit", "--quiet", "--no-verify", "--allow-empty", "-m", message],
                store.STORE_IDENTITY,
                cwd=path,
            )
        if not layer.version:
            continue  # made from a plain directory: it has no other version to go to
        target = to if to and layer is layers[-1] else layer.latest
        if layer.builtin and not target.startswith("v"):
            target = f"v{target}"
        asked = {
            k: v for k, v in data.items() if k in layer.answers or (index == 0 and k in unclaimed)
        }
        if read_only and not layer.builtin:
            with _no_tasks_or_migrations():
                _update_layer(path, layer, target, asked)
        else:
            _update_layer(path, layer, target, asked)
        _refuse_changed_answers(path, layer, asked)
    if len(layers) > 1:
        store.git(["reset", "--quiet", start], cwd=path)


def _refuse_changed_answers(path: Path, layer: Layer, asked: Mapping[str, str]) -> None:
    """An update changes no answer nobody asked it to. Copier quietly replaces a recorded
    answer that the answers given (or the new version) rule out with its default: FastAPI's
    admin=sqladmin becomes none after auth=none, and the admin's files go."""
    from stackwise.answers import typed_text

    now = recorded(path / layer.answers_file)
    for name, before in layer.answers.items():
        if name not in asked and name in now and now[name] != before:
            raise InvalidAnswerError(
                f"the update would change {name} from {typed_text(before)} to "
                f"{typed_text(now[name])}, which the answers given or the new version rule "
                f"out; pass -d {name}={typed_text(now[name])} (or another value) to change it"
            )


def _update_layer(path: Path, layer: Layer, target: str, data: Mapping[str, str]) -> None:
    import copier
    from copier.errors import CopierError, UnsafeTemplateError
    from jinja2 import TemplateError
    from plumbum import ProcessExecutionError  # how copier reports a failed git step

    try:
        with store.redirected_to_store():
            copier.run_update(
                dst_path=path,
                answers_file=layer.answers_file,
                vcs_ref=target,
                data=dict(data),
                defaults=True,
                overwrite=True,
                conflict="inline",
                quiet=True,
                settings=copier.Settings(),  # as `new`: the user's copier settings play no part
                # The built-in template's migrations (file moves between versions) are
                # stackwise's own commands; plain copier asks for --trust to run them.
                unsafe=layer.trusted,
                exclude=store.NEVER_RENDERED,
            )
    except UnsafeTemplateError:
        raise RenderError(
            f"{layer.source} runs migrations; set trusted = true for it in the team config"
        ) from None
    except ValueError as error:  # copier's way of refusing an answer
        raise InvalidAnswerError(answer_error(error)) from None
    except CopierError as error:
        raise RenderError(f"update to {target} failed: {' '.join(str(error).split())}") from None
    except ProcessExecutionError as error:
        said = str(error.stderr).strip().splitlines()
        if any(word in line for line in said for word in ("invalid reference", "did not match")):
            raise RenderError(f"update to {target} failed: no template version {target}") from None
        raise RenderError(
            f"update to {target} failed: git: {said[-1] if said else 'failed'}"
        ) from None
    except TemplateError as error:
        raise RenderError(jinja_error(f"{layer.source} {target}", error)) from None
    except AssertionError as error:  # copier's own checks (a directory that became a file)
        raise RenderError(f"update to {target} failed in copier: {_one_line(error)}") from None


@contextmanager
def _no_tasks_or_migrations() -> Iterator[None]:
    """Copier runs a template's tasks and its migrations through one method of its Worker; a
    read-only command swaps it for one that runs nothing, trusted template or not. (A file a
    migration would move then shows as removed and added.)"""
    from copier._main import Worker  # copier offers no switch for migrations

    run_tasks = Worker._execute_tasks
    Worker._execute_tasks = lambda self, tasks: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        Worker._execute_tasks = run_tasks  # type: ignore[method-assign]


@contextmanager
def _rendered_as_generated(path: Path, layers: list[Layer]) -> Iterator[Path]:
    """The project as its recorded template versions render it, with its recorded answers:
    from the render cache when it holds this render, which does not even import copier."""
    with _scratch_directory("stackwise-status-") as scratch:
        render = partial(_render_layers, layers)
        with render_cache.rendered(_render_key(layers), render, scratch / path.name) as pristine:
            yield pristine


def _render_key(layers: list[Layer]) -> str | None:
    """What the render of `layers` depends on, as a cache key; None when a layer's files can
    change under the same version (a plain directory, a ref that does not name a commit)."""
    from importlib.metadata import version

    rendered = []
    for layer in layers:
        commit = _commit_of(layer)
        if commit is None:
            return None
        rendered.append(
            {
                "source": layer.source,
                "commit": commit,
                "answers_file": layer.answers_file,
                "answers": layer.answers,
                "trusted": layer.trusted,
            }
        )
    # A newer copier or stackwise may render the same files differently.
    tools = {"copier": version("copier"), "stackwise": __version__}
    return render_cache.key_of({"layers": rendered, "excluded": store.NEVER_RENDERED, **tools})


def _commit_of(layer: Layer) -> str | None:
    """The commit a layer's recorded version names (for the built-in template, the tree its
    store tag holds), or None if it names none for certain."""
    if not layer.version:
        return None
    if layer.builtin:  # the store's tags hold the template's files and never move
        return store.tag_tree(store.store_path(), layer.version)
    if DESCRIBED.fullmatch(layer.version):  # v1.1.0-3-g0d087ee names its commit
        return layer.version.rpartition("-g")[2]
    if COMMIT.fullmatch(layer.version):
        return layer.version
    if layer.source.startswith("-") or layer.version.startswith("-"):
        return None  # git would read it as an option
    try:
        listing = store.git(
            ["ls-remote", "--tags", layer.source, layer.version, f"{layer.version}^{{}}"],
            {"GIT_TERMINAL_PROMPT": "0"},
        )
    except GitError:
        return None
    # An annotated tag is listed twice, the second time peeled to its commit.
    commits = dict(line.split("\t")[::-1] for line in listing.splitlines())
    tag = f"refs/tags/{layer.version}"
    return commits.get(f"{tag}^{{}}") or commits.get(tag)


def _render_layers(layers: list[Layer], pristine: Path) -> None:
    """Render every layer into `pristine`, the base first, as the project was generated."""
    import copier
    from jinja2 import TemplateError
    from plumbum import ProcessExecutionError

    for index, layer in enumerate(layers):
        try:
            with store.redirected_to_store():
                copier.run_copy(
                    layer.source,
                    pristine,
                    answers_file=layer.answers_file,
                    data=layer.answers,
                    defaults=True,
                    overwrite=index > 0,
                    quiet=True,
                    vcs_ref=layer.version or None,
                    unsafe=layer.trusted,
                    exclude=store.NEVER_RENDERED,
                    settings=copier.Settings(),  # as `new` and `update`
                    skip_tasks=True,  # status only reads
                )
        except ProcessExecutionError:
            raise RenderError(
                f"template version {layer.version} of {layer.source} cannot be read; "
                "run the stackwise release that made it once, or reach its repository"
            ) from None
        except TemplateError as error:
            raise RenderError(jinja_error(f"{layer.source} {layer.version}", error)) from None
        except ValueError as error:  # copier refuses an answer the file records
            raise InvalidAnswerError(
                f"{layer.answers_file}: {answer_error(error)}; correct it there"
            ) from None
        except AssertionError as error:  # copier's own checks
            raise RenderError(
                f"template version {layer.version} of {layer.source} could not be rendered: "
                f"{_one_line(error)}"
            ) from None


def _files_changed(pristine: Path, project: Path, answers_files: set[str]) -> dict[str, str]:
    """{file: added, edited or deleted} for what the owner changed against what the template
    rendered; what git ignores (caches, build output, `.env`) is not the owner's change."""

    def files(root: Path, *, in_git: bool) -> set[str]:
        if in_git:
            listed = store.git(
                ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=root
            )
            names = set(filter(None, listed.split("\0")))
            return {name for name in names if (root / name).is_file()}
        return {
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and not NOT_RENDERED & set(p.relative_to(root).parts)
        }

    in_git = _inside_work_tree(project)  # its own repository, or a larger one it sits in
    ours, theirs = files(project, in_git=in_git) - NOT_RENDERED, files(pristine, in_git=False)
    changes = {name: "added" for name in ours - theirs}
    changes |= {name: "deleted" for name in theirs - ours}
    changes |= {
        name: "edited"
        for name in ours & theirs
        if name not in answers_files
        and not filecmp.cmp(project / name, pristine / name, shallow=False)
    }
    return dict(sorted(changes.items()))


def _require_clean_git_tree(path: Path) -> None:
    """Nothing uncommitted in the project's directory, untracked files included whatever
    `status.showUntrackedFiles` says."""
    if store.git(["status", "--porcelain", "--untracked-files=normal", "--", "."], cwd=path):
        raise DirtyTreeError(f"{path} has uncommitted changes; commit or stash them first")


def _one_line(error: Exception) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
