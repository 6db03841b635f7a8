"""Render a new project with copier, then make it a git repository with a first commit."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stackwise import store
from stackwise.catalog import TemplateInfo
from stackwise.errors import (
    DestinationError,
    GitError,
    Interrupted,
    InvalidAnswerError,
    RenderError,
    UsageError,
)

ANSWERS_FILE = ".copier-answers.yml"


@dataclass(frozen=True)
class NewProject:
    """Everything `stackwise new` needs once the framework is decided."""

    destination: Path
    template: TemplateInfo
    data: Mapping[str, str] = field(default_factory=dict)
    prompt: bool = False  # ask copier's questions in the terminal; otherwise use defaults
    pretend: bool = False
    git: bool = True
    force: bool = False


@dataclass(frozen=True)
class Rendered:
    destination: Path
    answers: dict[str, Any]
    committed: bool


def parse_data(pairs: list[str]) -> dict[str, str]:
    """Turn repeated `KEY=VALUE` flags into a dict; the value may itself contain '='."""
    data: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--data expects KEY=VALUE, got {pair!r}")
        data[key.strip()] = value
    return data


def read_answers_file(path: Path) -> dict[str, str]:
    """Answers from a YAML mapping, as copier's own answers files are written."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"answers file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read answers file {path}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(f"answers file {path} is not valid YAML{where}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UsageError(f"answers file {path} must be a mapping of question: answer")
    # Copier's own bookkeeping keys (_src_path, _commit) are not answers. Lists and booleans
    # stay YAML, which is how copier reads an answer given as text.
    return {
        str(k): v if isinstance(v, str) else yaml.safe_dump(v, default_flow_style=True).strip()
        for k, v in loaded.items()
        if not str(k).startswith("_")
    }


def lists_as_yaml(data: Mapping[str, str], template: TemplateInfo) -> dict[str, str]:
    """Let a multiple-choice answer be written `a,b` as well as copier's YAML `[a, b]`."""
    multiple = {q.name for q in template.questions if q.multiselect}
    converted = dict(data)
    for name in multiple & set(data):
        text = data[name].strip()
        if text.startswith("["):
            try:
                values = yaml.safe_load(text)
            except yaml.YAMLError:
                values = None
            if not isinstance(values, list):
                raise InvalidAnswerError(
                    f"invalid answer for {name}: write a list, as [a, b] or a,b"
                )
        else:
            values = [part.strip() for part in text.split(",") if part.strip()]
        converted[name] = yaml.safe_dump(values, default_flow_style=True).strip()
    return converted


def check_answer_names(data: Mapping[str, str], template: TemplateInfo) -> None:
    known = template.question_names() | {"framework"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidAnswerError(
            f"unknown question {unknown[0]!r} for the {template.name} template; "
            f"known: {', '.join(sorted(known))}"
        )


def check_destination(destination: Path, force: bool) -> None:
    if destination.is_file():
        raise DestinationError(f"destination {destination} is a file")
    if destination.is_dir() and any(destination.iterdir()) and not force:
        raise DestinationError(
            f"destination {destination} is not empty (use --force to render into it)"
        )
    existing = next((p for p in (destination, *destination.parents) if p.exists()), None)
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise DestinationError(f"cannot write to {existing}")


def new_project(request: NewProject) -> Rendered | None:
    """Render `request` into its destination; on any failure leave nothing behind."""
    template = request.template
    data = {**request.data, "framework": template.framework}
    check_answer_names(data, template)
    data = lists_as_yaml(data, template)
    destination = request.destination.absolute()
    check_destination(destination, request.force)

    identity = _git_identity()
    if request.pretend:
        _copy(template, destination, data, identity, request, pretend=True)
        return None

    if request.force and destination.is_dir():
        # Rendering over existing files is what --force asks for, so it happens in place.
        _copy(template, destination, data, identity, request, pretend=False)
        write_local_env(destination)
        committed = request.git and _git_first_commit(destination, identity)
    else:
        with _staging(destination) as staged:
            _copy(template, staged, data, identity, request, pretend=False)
            write_local_env(staged)
            committed = request.git and _git_first_commit(staged, identity)
            staged.rename(destination)
    answers = yaml.safe_load((destination / ANSWERS_FILE).read_text(encoding="utf-8"))
    return Rendered(destination=destination, answers=answers, committed=committed)


def write_local_env(project: Path) -> None:
    """Create `.env` from `.env.example`, giving every empty `*SECRET_KEY` a fresh random value.

    Templates cannot make secrets (copier has no safe random source, and tasks would force
    `--trust` on plain copier users), so this is stackwise's post-step. `.env` is gitignored.
    """
    example, env_file = project / ".env.example", project / ".env"
    if not example.is_file() or env_file.exists():
        return
    lines = []
    for line in example.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and not name.startswith("#") and name.endswith("SECRET_KEY") and not value.strip():
            line = f"{name}={secrets.token_urlsafe(50)}"
        lines.append(line)
    env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env_file.chmod(0o600)


@contextmanager
def _staging(destination: Path) -> Iterator[Path]:
    """A directory named like `destination`, next to it, removed with its parents on failure.

    Copier names the project after the folder it renders into (`_folder_name`), so the staged
    copy has the destination's name; it sits on the same file system so the final move is a
    rename and the user never sees a half-written project.
    """
    created = [p for p in (*reversed(destination.parents), destination) if not p.exists()]
    destination.parent.mkdir(parents=True, exist_ok=True)
    holder = Path(tempfile.mkdtemp(prefix=".stackwise-", dir=destination.parent))
    try:
        # The caller renames the staged project onto `destination`; POSIX lets a directory
        # replace an empty one, so an empty destination that already existed is fine.
        yield holder / destination.name
    except BaseException:
        if created:  # the outermost directory this call made holds everything else it made
            shutil.rmtree(created[0], ignore_errors=True)
        raise
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def _copy(
    template: TemplateInfo,
    destination: Path,
    data: dict[str, str],
    identity: dict[str, str],
    request: NewProject,
    *,
    pretend: bool,
) -> None:
    # copier costs ~0.4 s to import; only commands that render pay for it.
    import copier
    from copier.errors import CopierAnswersInterrupt, CopierError

    version = store.add_version(template.source)
    try:
        with store.redirected_to_store():
            copier.run_copy(
                # The public URL goes into .copier-answers.yml; git reads it from the store.
                src_path=store.TEMPLATE_URL,
                dst_path=destination,
                data=data,
                user_defaults=identity,
                defaults=not request.prompt,
                overwrite=request.force,
                pretend=pretend,
                quiet=not pretend,
                vcs_ref=version,  # the templates this stackwise carries, not an older tag
                cleanup_on_error=False,  # _staging cleans up, including parents it created
            )
    except (KeyboardInterrupt, CopierAnswersInterrupt):
        raise Interrupted("interrupted; nothing was written") from None
    except ValueError as error:
        raise InvalidAnswerError(_answer_error(error)) from None
    except CopierError as error:
        raise RenderError(f"rendering failed: {error}") from None


# Copier's ways of rejecting an answer, reworded into stackwise's one-line style.
_COPIER_ANSWER_ERRORS = (
    (
        re.compile(r"Validation error for question '(?P<name>[^']+)': (?P<why>.*)", re.S),
        "invalid answer for {name}: {why}",
    ),
    (
        re.compile(r"Invalid choice for '(?P<name>[^']+)': (?P<why>.*)", re.S),
        "invalid answer for {name}: {why}",
    ),
    (
        re.compile(r'Question "(?P<name>[^"]+)" is required'),
        "no answer for {name}: pass --data {name}=VALUE",
    ),
)


def _answer_error(error: ValueError) -> str:
    text = str(error)
    for pattern, message in _COPIER_ANSWER_ERRORS:
        if match := pattern.fullmatch(text):
            return " ".join(message.format(**match.groupdict()).split())
    return " ".join(text.split())


def _git_identity() -> dict[str, str]:
    """The user's git name and email as default answers, like a cookiecutterrc would give."""
    try:
        configured = store.git(["config", "--get-regexp", r"^user\.(name|email)$"], cwd=Path.cwd())
    except GitError:  # no git, or no identity configured
        return {}
    keys = {"user.name": "author_name", "user.email": "author_email"}
    identity = {}
    for line in configured.splitlines():
        key, _, value = line.partition(" ")
        if key in keys and value:
            identity[keys[key]] = value
    return identity


def _git_first_commit(project: Path, identity: Mapping[str, str]) -> bool:
    """`git init` and commit everything, so `stackwise update` has a clean tree to merge into."""
    if (project / ".git").exists():
        return False
    store.git(["init", "--quiet", "--initial-branch=main"], cwd=project)
    store.git(["add", "--all"], cwd=project)
    env: dict[str, str] = {}
    if "author_email" not in identity:
        # Without a configured identity git refuses to commit; use the project's author.
        answers = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
        name = answers.get("author_name") or "stackwise"
        email = answers.get("author_email") or "stackwise@localhost"
        env = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
    message = "Generate project with stackwise"
    store.git(["commit", "--quiet", "--no-verify", "-m", message], env, cwd=project)
    return True
