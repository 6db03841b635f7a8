"""status, diff and update of a generated project: copier's three-way update, offline."""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from stackwise import store
from stackwise.catalog import builtin_root
from stackwise.errors import RenderError, UsageError
from stackwise.render import ANSWERS_FILE

if TYPE_CHECKING:
    from packaging.version import Version

# Lines copier writes around a conflict it leaves inline (conflict="inline").
CONFLICT_MARKER = "<<<<<<< before updating"
# Not part of what the template renders: the repository itself and local, secret settings.
NOT_RENDERED = {".git", ".env", ".venv"}


class NotGeneratedError(UsageError):
    """The directory holds no project generated from a stackwise template."""


class DirtyTreeError(UsageError):
    """The project has uncommitted changes, which an update could mix with its own."""


@dataclass(frozen=True)
class Status:
    path: Path
    source: str
    version: str
    latest: str
    answers: dict[str, Any]
    changed_by_owner: list[str] = field(default_factory=list)

    @property
    def update_available(self) -> bool:
        return _version_of(self.latest) > _version_of(self.version)


@dataclass(frozen=True)
class UpdateSummary:
    version_before: str
    version_after: str
    updated: list[str]
    added: list[str]
    removed: list[str]
    conflicts: list[str]


def recorded(path: Path) -> dict[str, Any]:
    """The answers file of the project at `path`, or one clear error."""
    answers_file = path / ANSWERS_FILE
    if not answers_file.is_file():
        raise NotGeneratedError(f"{path} is not a generated project (no {ANSWERS_FILE})")
    try:
        answers = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise NotGeneratedError(f"cannot read {answers_file}: {error}") from None
    if not isinstance(answers, dict) or not answers.get("_src_path") or not answers.get("_commit"):
        raise NotGeneratedError(f"{answers_file} does not record a template source and version")
    return answers


def _version_of(tag: str) -> Version:
    """A tag such as `v0.2.0` as a PEP 440 version; a tag that is not one sorts first."""
    from packaging.version import InvalidVersion, Version  # copier depends on packaging

    try:
        return Version(tag.lstrip("v"))
    except InvalidVersion:
        return Version("0")


def latest_version() -> str:
    """The newest template version in the store, after adding the running stackwise's own."""
    store.add_version(builtin_root())
    tags = store.git(["--git-dir", str(store.store_path()), "tag"]).split()
    return max(tags, key=_version_of)


def status(path: Path) -> Status:
    answers = recorded(path)
    latest = latest_version()  # also puts the running stackwise's version in the store
    with _rendered_as_generated(path, answers) as pristine:
        changed = _files_changed(pristine, path)
    return Status(
        path=path,
        source=str(answers["_src_path"]),
        version=str(answers["_commit"]),
        latest=latest,
        answers={k: v for k, v in answers.items() if not k.startswith("_")},
        changed_by_owner=changed,
    )


def diff(path: Path, to: str | None = None) -> str:
    """What `update` would change, as a git diff; the project itself is not touched."""
    recorded(path)
    _require_clean_git_tree(path)
    with tempfile.TemporaryDirectory(prefix="stackwise-diff-") as scratch:
        trial = Path(scratch) / path.name
        shutil.copytree(path, trial, symlinks=True)
        _run_update(trial, to, {})
        store.git(["add", "--all", "--intent-to-add"], cwd=trial)
        return store.git(["diff", "--no-color"], cwd=trial)


def update(
    path: Path, to: str | None = None, data: Mapping[str, str] | None = None
) -> UpdateSummary:
    answers = recorded(path)
    _require_clean_git_tree(path)
    changed = dict(data or {})
    if changed:
        from stackwise.catalog import template_for
        from stackwise.render import check_answer_names, lists_as_yaml

        template = template_for(str(answers.get("framework")))
        check_answer_names(changed, template)
        changed = lists_as_yaml(changed, template)
    _run_update(path, to, changed)
    changes = store.git(["status", "--porcelain", "--untracked-files=all"], cwd=path).splitlines()
    updated: list[str] = []
    added: list[str] = []
    removed: list[str] = []
    for line in changes:
        state, name = line[:2], line[3:]
        (removed if "D" in state else added if state == "??" or "A" in state else updated).append(
            name
        )
    conflicts = [
        name
        for name in updated + added
        if (path / name).is_file() and CONFLICT_MARKER in _text(path / name)
    ]
    return UpdateSummary(
        version_before=str(answers["_commit"]),
        version_after=str(recorded(path)["_commit"]),
        updated=sorted(set(updated) - {ANSWERS_FILE}),
        added=sorted(added),
        removed=sorted(removed),
        conflicts=sorted(conflicts),
    )


def _run_update(path: Path, to: str | None, data: dict[str, str]) -> None:
    import copier
    from copier.errors import CopierError
    from plumbum import ProcessExecutionError  # how copier reports a failed git step

    target = to or latest_version()
    if not target.startswith("v"):
        target = f"v{target}"
    try:
        with store.redirected_to_store():
            copier.run_update(
                dst_path=path,
                vcs_ref=target,
                data=data,
                defaults=True,
                overwrite=True,
                conflict="inline",
                quiet=True,
                # The built-in template's migrations (file moves between versions) are
                # stackwise's own commands; plain copier asks for --trust to run them.
                unsafe=True,
            )
    except (CopierError, ValueError) as error:
        raise RenderError(f"update to {target} failed: {' '.join(str(error).split())}") from None
    except ProcessExecutionError:
        raise RenderError(f"update to {target} failed: no template version {target}") from None


@contextmanager
def _rendered_as_generated(path: Path, answers: Mapping[str, Any]) -> Iterator[Path]:
    """The project as its recorded template version renders it, with its recorded answers."""
    import copier
    from plumbum import ProcessExecutionError

    data = {k: v for k, v in answers.items() if not k.startswith("_")}
    with tempfile.TemporaryDirectory(prefix="stackwise-status-") as scratch:
        pristine = Path(scratch) / path.name
        try:
            with store.redirected_to_store():
                copier.run_copy(
                    str(answers["_src_path"]),
                    pristine,
                    data=data,
                    defaults=True,
                    quiet=True,
                    vcs_ref=str(answers["_commit"]),
                )
        except ProcessExecutionError:
            raise RenderError(
                f"template version {answers['_commit']} is not in the store; "
                "run the stackwise release that made it once, or reach the public repository"
            ) from None
        yield pristine


def _files_changed(pristine: Path, project: Path) -> list[str]:
    """Files the owner edited, deleted or added, relative to what the template rendered."""

    def files(root: Path) -> set[str]:
        return {
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and not NOT_RENDERED & set(p.relative_to(root).parts)
        }

    ours, theirs = files(project), files(pristine)
    edited = {
        name
        for name in ours & theirs
        if name != ANSWERS_FILE and not filecmp.cmp(project / name, pristine / name, shallow=False)
    }
    return sorted(edited | (ours ^ theirs))


def _require_clean_git_tree(path: Path) -> None:
    if not (path / ".git").exists():
        raise UsageError(f"{path} is not a git repository; commit the project before updating")
    if store.git(["status", "--porcelain"], cwd=path):
        raise DirtyTreeError(f"{path} has uncommitted changes; commit or stash them first")


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
