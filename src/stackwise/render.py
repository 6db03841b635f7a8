"""Render a new project with copier, then make it a git repository with a first commit."""

from __future__ import annotations

import filecmp
import importlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import textwrap
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackwise import store
from stackwise.answers import check_answer_names, normalise_answers
from stackwise.catalog import TemplateInfo
from stackwise.errors import (
    DestinationError,
    GitError,
    Interrupted,
    InvalidAnswerError,
    RenderError,
    UsageError,
)
from stackwise.inputs import load_yaml

if TYPE_CHECKING:
    from jinja2 import TemplateError

# Shows that a slow step is running: called with what the step does, held while it runs. The
# CLI passes a spinner; the core only names its steps.
Progress = Callable[[str], AbstractContextManager[object]]


@dataclass(frozen=True)
class NewProject:
    """Everything `stackwise new` needs once the framework is decided."""

    destination: Path
    template: TemplateInfo
    data: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)  # pre-fill prompts (team config)
    prompt: bool = False  # ask copier's questions in the terminal; otherwise use defaults
    pretend: bool = False
    git: bool = True
    lock: bool = True  # write uv.lock (`uv lock`) before the first commit
    force: bool = False  # render into a directory that holds files
    # Asked with the files (relative paths) the render would replace; True lets it replace them.
    overwrite: Callable[[list[str]], bool] = field(default=lambda replaced: False)
    progress: Progress = nullcontext
    # The guide's answers for what is being built (typed): they pre-fill in place of
    # `defaults`, and one whose choice the other answers rule out gives way to the default.
    suggested: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rendered:
    destination: Path
    answers: dict[str, Any]
    committed: bool
    lock: Lock | None  # None when not asked (--no-lock)
    replaced: list[str] = field(default_factory=list)  # files of an existing directory replaced
    new_repository: bool = True  # the first commit went into a repository stackwise made


def start_command(project: Path) -> str | None:
    """The command that starts the app, as the project's README gives it under "Run it" (the
    template rendered it for these answers: migrations first where the project has them)."""
    try:
        readme = (project / "README.md").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found = re.search(r"^## Run it\n.*?^```(?:sh|bash|console)?\n(.+?)\n```", readme, re.M | re.S)
    return found[1].strip() if found else None


def parse_data(pairs: list[str]) -> dict[str, str]:
    """Turn repeated `KEY=VALUE` flags into a dict; the value may itself contain '='."""
    data: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--data expects KEY=VALUE, got {pair!r}")
        data[key.strip()] = value
    return data


def read_answers_file(path: Path) -> dict[str, Any]:
    """Answers from a YAML mapping, as copier's own answers files are written.

    Values keep their YAML types (a list, a yes/no) for `normalise_answers` to check against
    the questions; an empty value is an empty answer, not the text "null".
    """
    loaded = load_yaml(path, "answers file")
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UsageError(f"answers file {path} must be a mapping of question: answer")
    # Copier's own bookkeeping keys (_src_path, _commit) are not answers.
    return {str(k): "" if v is None else v for k, v in loaded.items() if not str(k).startswith("_")}


def check_destination(destination: Path, force: bool) -> None:
    if any(len(os.fsencode(part)) > 255 for part in destination.parts):
        raise DestinationError(f"destination {str(destination)[:40]}...: a name is over 255 bytes")
    if destination.is_symlink() and not destination.is_dir():
        raise DestinationError(f"destination {destination} is a symlink to nothing")
    if destination.is_file():
        raise DestinationError(f"destination {destination} is a file")
    if destination.is_dir() and _holds_files(destination) and not force:
        raise DestinationError(
            f"destination {destination} is not empty (use --force to render into it)"
        )
    existing = next((p for p in (destination, *destination.parents) if p.exists()), None)
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise DestinationError(f"cannot write to {existing}")


def _holds_files(directory: Path) -> bool:
    """Anything besides a `.git` (a repository made for the project counts as empty)."""
    return any(entry.name != ".git" for entry in directory.iterdir())


def new_project(request: NewProject) -> Rendered | None:
    """Render `request` into its destination; on any failure leave nothing behind.

    The project is rendered, locked and checked in a staging directory beside the destination;
    a new destination is that directory renamed, an existing one (`.`, an empty directory, one
    holding only `.git`, or anything with --force) receives its files only once all is done.
    """
    template = request.template
    check_answer_names(request.data, template)
    data = normalise_answers(request.data, template)
    destination = request.destination.absolute()
    check_destination(destination, request.force)

    identity = _git_identity()
    if request.pretend:
        _render_layers(template, destination, data, identity, request, pretend=True)
        return None

    try:
        return _render_staged(request, template, data, destination, identity)
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM or SIGHUP (see cli.main), cleaned up already
        raise Interrupted("interrupted; nothing was written") from None


def _render_staged(
    request: NewProject,
    template: TemplateInfo,
    data: Mapping[str, str],
    destination: Path,
    identity: Mapping[str, str],
) -> Rendered:
    existing = destination.is_dir()
    with _staging(destination) as staged:
        answers = _render_layers(template, staged, data, identity, request, pretend=False)
        if (staged / ".git").exists():  # copier's exclude keeps it out; this proves it
            raise RenderError(f"template {template.name} wrote a .git directory; refused")
        if link := store.link_escaping(staged):
            raise RenderError(
                f"template {template.name} ships a symlink out of the project ({link}); refused"
            )
        git = request.git and _repository_around(destination) is None
        if not existing:
            committed, lock = _finish(staged, answers, identity, request, git=git)
            try:
                staged.rename(destination)
            except OSError:
                raise DestinationError(
                    f"{destination} was created by another process meanwhile; nothing was written"
                ) from None
            return Rendered(destination, answers, committed, lock)
        replaced = _files_replaced(staged, destination)
        if replaced and not request.overwrite(replaced):
            raise DestinationError(
                f"would overwrite {len(replaced)} file(s) in {destination}: "
                f"{_listed(replaced)}; pass --overwrite to replace them"
            )
        write_local_env(staged, keep=destination / ".env")
        lock = _lock(staged, request)
        rendered = [str(p.relative_to(staged)) for p in staged.rglob("*") if not p.is_dir()]
        _move_into(staged, destination, staged.with_name("replaced"))
    had_repository = (destination / ".git").exists()
    committed = git and _commit(destination, answers, identity, request, only=rendered)
    return Rendered(
        destination, answers, committed, lock, replaced=replaced, new_repository=not had_repository
    )


def _repository_around(destination: Path) -> Path | None:
    """The git work tree the destination belongs to, unless it is the destination's own or
    ignores it: a project made inside a larger repository (a monorepo) is committed by its
    owner there, not given a .git of its own."""
    parent = next((p for p in destination.parents if p.exists()), None)
    if parent is None:
        return None
    try:
        top = Path(store.git(["rev-parse", "--show-toplevel"], cwd=parent))
    except GitError:
        return None
    if top == destination:
        return None
    try:
        # The slash: a pattern such as `/my-app/` matches a directory that is not made yet.
        store.git(["check-ignore", "--quiet", f"{destination}/"], cwd=parent)
        return None  # ignored there: a project of its own
    except GitError:
        return top


def _files_replaced(staged: Path, destination: Path) -> list[str]:
    """Files of the destination the render would replace with different content; a directory
    of the destination's that is a symlink is refused, as files would be written through it."""
    replaced = []
    for source in sorted(staged.rglob("*")):
        target = destination / source.relative_to(staged)
        if target.is_symlink() and source.is_dir() and not source.is_symlink():
            raise DestinationError(
                f"{target} is a symlink: the project's files would be written through it"
            )
        if source.is_file() and target.exists() and not filecmp.cmp(source, target, shallow=False):
            replaced.append(str(source.relative_to(staged)))
    return replaced


def _listed(names: list[str], most: int = 5) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _finish(
    project: Path,
    answers: Mapping[str, Any],
    identity: Mapping[str, str],
    request: NewProject,
    *,
    git: bool,
) -> tuple[bool, Lock | None]:
    """The steps after rendering: the local `.env`, the lock, the first commit (which holds the
    lock, so the image builds and CI installs the same versions from a fresh clone)."""
    write_local_env(project)
    lock = _lock(project, request)
    committed = git and _commit(project, answers, identity, request)
    return committed, lock


def _commit(
    project: Path,
    answers: Mapping[str, Any],
    identity: Mapping[str, str],
    request: NewProject,
    only: list[str] | None = None,
) -> bool:
    with request.progress("Making the first commit"):
        return _git_first_commit(project, answers, identity, only)


def _lock(project: Path, request: NewProject) -> Lock | None:
    if not request.lock:
        return None
    with request.progress("Locking the dependencies (uv lock)"):
        return lock_dependencies(project)


def _render_layers(
    template: TemplateInfo,
    destination: Path,
    data: Mapping[str, str],
    identity: Mapping[str, str],
    request: NewProject,
    *,
    pretend: bool,
) -> dict[str, Any]:
    """Render each layer of `template` over the last; return every answer they recorded.

    A layer is given the answers it shares with the layers under it, so a team template that
    asks for `project_slug` too agrees with the built-in template it extends.
    """
    answers: dict[str, Any] = {}
    if pretend and template.base is not None:
        # Pretend mode writes no answers file to pass on, so work the answers out for real.
        with tempfile.TemporaryDirectory(prefix="stackwise-pretend-") as scratch:
            trial = Path(scratch) / destination.name
            answers = _render_layers(template, trial, data, identity, request, pretend=False)
    for layer in template.layers():
        asked = {q.name for q in layer.questions} | ({"framework"} if layer.is_builtin else set())
        layer_data = {k: v for k, v in answers.items() if k in asked}  # typed, as recorded
        layer_data.update({k: v for k, v in data.items() if k in asked})
        if layer.is_builtin:
            layer_data["framework"] = layer.framework
        _copy(
            layer,
            destination,
            layer_data,
            # The guide's suggestion replaces a team default (guide_options builds on it).
            {**identity, **_without(request.defaults, request.suggested)},
            request,
            pretend=pretend,
            over_base=layer is not template.layers()[0],
        )
        record = destination / layer.answers_file
        if not pretend and record.is_file():  # a template without an answers-file template has none
            what = f"the answers file template {layer.name} wrote,"
            recorded = load_yaml(record, what, RenderError)
            if isinstance(recorded, dict):
                answers.update({k: v for k, v in recorded.items() if not str(k).startswith("_")})
    return answers


def write_local_env(project: Path, keep: Path | None = None) -> None:
    """Create `.env` from `.env.example`, giving every empty `*SECRET_KEY` a fresh random value.

    Templates cannot make secrets (copier has no safe random source, and tasks would force
    `--trust` on plain copier users), so this is stackwise's post-step. `.env` is gitignored.
    """
    example, env_file = project / ".env.example", project / ".env"
    if not example.is_file() or env_file.exists() or (keep is not None and keep.exists()):
        return  # `keep`: the .env of the directory the project goes into, which stays its own
    lines = [_with_secret(line) for line in example.read_text(encoding="utf-8").splitlines()]
    env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env_file.chmod(0o600)


def add_missing_secrets(project: Path) -> list[str]:
    """After an update: each empty `*SECRET_KEY` of `.env.example` that the project's `.env`
    lacks (an option turned on later brought it) is added to `.env` with a fresh value, so the
    app still starts in development. Returns the names added; a project without `.env` keeps
    its configuration where it is."""
    example, env_file = project / ".env.example", project / ".env"
    if not (example.is_file() and env_file.is_file()):
        return []
    present = env_file.read_text(encoding="utf-8")
    have = {line.partition("=")[0].strip() for line in present.splitlines()}
    missing = [
        _with_secret(line)
        for line in example.read_text(encoding="utf-8").splitlines()
        if _empty_secret(line) and line.partition("=")[0] not in have
    ]
    if missing:
        separator = "" if present.endswith("\n") or not present else "\n"
        with env_file.open("a", encoding="utf-8") as env:
            env.write(separator + "\n".join(missing) + "\n")
    return [line.partition("=")[0] for line in missing]


def _empty_secret(line: str) -> bool:
    name, sep, value = line.partition("=")
    secret = name.endswith("SECRET_KEY") and not name.startswith("#")
    return bool(sep) and secret and not value.strip()


def _with_secret(line: str) -> str:
    """An `.env.example` line, with a fresh random value when it is an empty secret."""
    return f"{line.partition('=')[0]}={secrets.token_urlsafe(50)}" if _empty_secret(line) else line


@dataclass(frozen=True)
class Lock:
    """What `uv lock` did for a project."""

    written: bool
    from_cache: bool = False  # the index did not answer: versions are the ones uv had cached
    reason: str = ""  # uv's own words for what failed

    def warning(self) -> str | None:
        """One line for the user, or None when the lock came from the package index."""
        if self.written and not self.from_cache:
            return None
        if self.written:
            return (
                f"uv.lock written from uv's cache alone ({self.reason}); run `uv lock` when the "
                "package index is reachable, for current versions"
            )
        return (
            f"uv.lock not written ({self.reason}); run `uv lock` and commit uv.lock: "
            "CI and the image install from it"
        )


def lock_dependencies(project: Path) -> Lock:
    """Write the project's `uv.lock`: from the package index, else from uv's cache alone.

    Neither working is a warning for the user, not a failed project.
    """
    if not (project / "pyproject.toml").is_file():
        return Lock(written=True)  # a team template may render something else than a project
    from uv import find_uv_bin  # the uv that stackwise depends on, whatever is on PATH

    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env.setdefault("UV_HTTP_TIMEOUT", LOCK_HTTP_TIMEOUT)
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")  # a lock is no reason to fetch a Python
    reasons = []
    for offline in (False, True):
        try:
            completed = subprocess.run(
                [find_uv_bin(), "lock", "--no-progress", *(["--offline"] if offline else [])],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                timeout=LOCK_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            return Lock(written=False, reason="uv is not installed")
        except subprocess.TimeoutExpired:
            reasons.append(f"uv lock took longer than {LOCK_TIMEOUT} s")
            continue
        if completed.returncode == 0:
            return Lock(written=True, from_cache=offline, reason=reasons[0] if reasons else "")
        reasons.append(uv_reason(completed.stderr))
    # The index's answer says more than the cache's ("not in the cache").
    return Lock(written=False, reason=reasons[0])


# uv retries a silent index a few times; these bound how long `new` and `update` wait for it.
LOCK_HTTP_TIMEOUT = "10"
LOCK_TIMEOUT = 120


def uv_reason(output: str) -> str:
    """uv's error in a few words: its first error line and the root cause under it."""
    # uv draws its error trees with these; the words are what counts.
    lines = [line.strip(" \u00d7\u2570\u2500\u25b6\u2502") for line in output.splitlines()]
    lines = [line for line in lines if line]
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error")]
    causes = [line.split(": ", 1)[1] for line in lines if line.startswith(("cause:", "Caused by:"))]
    reason = "; ".join([*(errors or lines or ["uv lock failed"])[:1], *causes[-1:]])
    return reason if len(reason) <= 240 else reason[:237] + "..."


@contextmanager
def _staging(destination: Path) -> Iterator[Path]:
    """A directory named like `destination`, next to it; on failure it goes, with the parent
    directories this call made as long as nothing else was put in them meanwhile.

    Copier names the project after the folder it renders into (`_folder_name`), so the staged
    copy has the destination's name; it sits on the same file system so the final move is a
    rename and the user never sees a half-written project.
    """
    existing = next(p for p in destination.parents if p.exists())  # "/" at the latest
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        holder = Path(tempfile.mkdtemp(prefix=".stackwise-", dir=destination.parent))
    except OSError as error:  # root may lack permission too: /proc, /sys, read-only mounts
        remove_empty_parents(destination.parent, existing)
        raise DestinationError(f"cannot create {destination}: {error.strerror}") from None
    try:
        yield holder / destination.name
    except BaseException:
        shutil.rmtree(holder, ignore_errors=True)
        remove_empty_parents(destination.parent, existing)
        raise
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def remove_empty_parents(directory: Path, root: Path) -> None:
    """Remove `directory` and its parents below `root` while they are empty."""
    while directory != root and directory.is_dir() and not any(directory.iterdir()):
        try:
            directory.rmdir()
        except OSError:  # someone else's file arrived in it meanwhile
            return
        directory = directory.parent


@contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP are ignored while files are moved into place: the move is
    short, and stopping half way would leave a project that is neither the old nor the new one."""
    held = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _move_into(staged: Path, destination: Path, backup: Path) -> None:
    """Move the staged project's files into an existing directory; a file there that would be
    replaced goes to `backup` first, and any failure puts everything back."""
    moved: list[Path] = []
    replaced: list[Path] = []
    try:
        with signals_held():
            for source in sorted(p for p in staged.rglob("*") if not p.is_dir() or p.is_symlink()):
                name = source.relative_to(staged)
                target = destination / name
                if target.exists() or target.is_symlink():
                    (backup / name).parent.mkdir(parents=True, exist_ok=True)
                    target.replace(backup / name)
                    replaced.append(name)
                target.parent.mkdir(parents=True, exist_ok=True)
                source.replace(target)
                moved.append(name)
    except BaseException:
        for name in moved:
            (destination / name).unlink(missing_ok=True)
        for name in replaced:
            (backup / name).replace(destination / name)
        raise


def _copy(
    template: TemplateInfo,
    destination: Path,
    data: dict[str, Any],
    user_defaults: dict[str, str],
    request: NewProject,
    *,
    pretend: bool,
    over_base: bool,
) -> None:
    # copier costs ~0.4 s to import; only commands that render pay for it.
    import copier
    from copier.errors import CopierAnswersInterrupt, CopierError, UnsafeTemplateError
    from jinja2 import TemplateError

    # A built-in renders the templates this stackwise carries, stored under its version; the
    # public URL goes into .copier-answers.yml and git reads it from the store.
    version = store.add_version(template.root) if template.root else template.ref
    progress = nullcontext if pretend else request.progress  # pretend lists files as it goes
    try:
        with (
            store.redirected_to_store(),
            _checked_then_shown(progress, template.name),
            _validation_messages_wrapped(),
        ):
            copier.run_copy(
                src_path=template.source,
                dst_path=destination,
                answers_file=template.answers_file,
                data=data,
                user_defaults=user_defaults,
                defaults=not request.prompt,
                overwrite=request.force or over_base,  # a layer replaces files on purpose
                pretend=pretend,
                quiet=not pretend,
                vcs_ref=version,
                unsafe=template.trusted,
                exclude=store.NEVER_RENDERED,
                cleanup_on_error=False,  # _staging cleans up, including parents it created
                # Also keeps the user's own copier settings out of stackwise's projects.
                settings=copier.Settings(defaults=_guarded(template, request)),
            )
    except (KeyboardInterrupt, CopierAnswersInterrupt):
        raise Interrupted("interrupted; nothing was written") from None
    except UnsafeTemplateError:
        raise RenderError(
            f"template {template.name} runs tasks or migrations; if the team trusts it, "
            f"set trusted = true in [templates.{template.name}]"
        ) from None
    except ValueError as error:
        message = answer_error(error)
        if not request.prompt:
            message += _unseen_default(
                error, template, data, user_defaults, request.suggested, destination.name
            )
        raise InvalidAnswerError(message) from None
    except CopierError as error:
        raise RenderError(f"rendering failed: {' '.join(str(error).split())}") from None
    except TemplateError as error:
        raise RenderError(jinja_error(template.name, error)) from None
    except OSError as error:  # the disk filled up, a file could not be written
        raise RenderError(f"rendering failed: {error.strerror}: {error.filename}") from None


def _without(mapping: Mapping[str, str], names: Mapping[str, Any]) -> dict[str, str]:
    return {key: value for key, value in mapping.items() if key not in names}


def _guarded(template: TemplateInfo, request: NewProject) -> dict[str, Any]:
    """The guide's suggestions as copier's settings defaults, which copier renders with the
    answers so far: a choice with a rule of its own (FastAPI's admin needs auth=jwt) becomes an
    expression that falls back to the default it replaced (the team's, else the template's)
    where the rule refuses it, instead of a default copier would refuse after the other answers."""
    questions = {q.name: q for q in template.all_questions()}
    defaults = dict(request.suggested)
    for name, value in request.suggested.items():
        if name in questions and (rule := questions[name].rule_for(value)):
            fallback = request.defaults.get(name, questions[name].default)
            literal = "none" if fallback is None else json.dumps(fallback)
            defaults[name] = (
                f"{{% set refused %}}{rule}{{% endset %}}"
                f"{{{{ {literal} if refused | trim else {json.dumps(value)} }}}}"
            )
    return defaults


@contextmanager
def _checked_then_shown(progress: Progress, name: str) -> Iterator[None]:
    """Between copier's questions and its render: check every answer against its question's
    validator, then hold `progress` while the files are written. Copier runs no validator on a
    select or yes/no prompt, so a prompted answer is checked here as --data is before asking;
    run_copy asks and renders in one call, so this wraps where copier's Worker renders."""
    from copier._main import Worker  # copier has no hook between asking and rendering
    from copier._user_data import Question

    render = Worker._render_template

    def checked_then_shown(worker: Worker) -> None:
        context = worker._render_context()  # every answer is in: one context serves them all
        for var_name, details in worker.template.questions_data.items():
            if "validator" in details and var_name in worker.answers.user:
                question = Question(
                    answers=worker.answers,
                    context=context,
                    jinja_env=worker.jinja_env,
                    settings=worker.settings,
                    var_name=var_name,
                    **details,
                )
                question.validate_answer(worker.answers.user[var_name])  # ValueError if refused
        with progress(f"Rendering the {name} template"):
            render(worker)

    Worker._render_template = checked_then_shown  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Worker._render_template = render  # type: ignore[method-assign]


@contextmanager
def _validation_messages_wrapped() -> Iterator[None]:
    """A refused answer's message under copier's prompt wraps onto more lines instead of being
    cut at the terminal's edge: it is broken into lines of the terminal's width (a checkbox
    shows it in a toolbar that never wraps), and a text prompt's toolbar for it, one line high
    in prompt_toolkit, grows to hold them."""
    import copier._main as copier_main
    from prompt_toolkit.filters import has_validation_error
    from prompt_toolkit.layout import ConditionalContainer, Window
    from prompt_toolkit.widgets import ValidationToolbar

    # The module: `prompt_toolkit.shortcuts.prompt` as an attribute is its function.
    session = importlib.import_module("prompt_toolkit.shortcuts.prompt")
    ask = copier_main.unsafe_prompt  # type: ignore[attr-defined]

    class Wrapped(ValidationToolbar):
        def __init__(self, show_position: bool = False) -> None:
            super().__init__(show_position)
            window = Window(self.control, wrap_lines=True, dont_extend_height=True)
            self.container = ConditionalContainer(window, filter=has_validation_error)

    def wrapping(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def wrapped(answer: Any) -> Any:
            verdict = check(answer)
            width = shutil.get_terminal_size().columns - 1
            return verdict if verdict is True else textwrap.fill(str(verdict), width)

        return wrapped

    def ask_wrapped(questions: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        for question in questions:
            if callable(check := question.get("validate")):
                question["validate"] = wrapping(check)
        return ask(questions, *args, **kwargs)

    session.ValidationToolbar = Wrapped  # type: ignore[attr-defined]
    copier_main.unsafe_prompt = ask_wrapped  # type: ignore[attr-defined,assignment]
    try:
        yield
    finally:
        session.ValidationToolbar = ValidationToolbar  # type: ignore[attr-defined]
        copier_main.unsafe_prompt = ask  # type: ignore[attr-defined]


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


def _unseen_default(
    error: ValueError,
    template: TemplateInfo,
    given: Mapping[str, Any],
    user_defaults: Mapping[str, str],
    suggested: Mapping[str, Any],
    folder: str,
) -> str:
    """For a refused answer nobody typed (a default, with --defaults or --no-input): where it
    came from and the flag that replaces it; empty when the answer was given."""
    match = re.search(r"question '(?P<name>[^']+)'", str(error))
    name = match["name"] if match else None
    question = next((q for q in template.all_questions() if q.name == name), None)
    if question is None or name in given:
        return ""
    source = "the template's default"
    if name in suggested:
        source = "the value pre-filled for your use case and needs"
    elif name in user_defaults:
        source = "the default from your git identity or the team configuration"
    elif "{{" in str(question.default):
        source = "a default worked out from your other answers"
        if re.search(r"_folder_name|project_name", str(question.default)):
            source = f"the default made from the directory name {folder!r}"
    return f" ({source}: pass -d {name}=VALUE)"


def jinja_error(template_name: str, error: TemplateError) -> str:
    """A broken file in a template (a team's, usually), named as the template's author sees it."""
    where = getattr(error, "name", None)  # the file, for a syntax error
    if where and (line := getattr(error, "lineno", None)):
        where = f"{where}, line {line}"
    return f"template {template_name} has a Jinja error{f' in {where}' if where else ''}: {error}"


def answer_error(error: ValueError) -> str:
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


def _git_first_commit(
    project: Path,
    answers: Mapping[str, Any],
    identity: Mapping[str, str],
    only: list[str] | None = None,
) -> bool:
    """`git init` and commit the project, so `stackwise update` has a clean tree to merge into.

    A repository made for the project but without commits gets that first commit; one with
    history is the owner's to commit to (False). In a directory that had files, `only` names
    the rendered ones: the owner's other files are not committed for them.
    """
    if (project / ".git").exists():
        try:
            store.git(["rev-parse", "--verify", "--quiet", "HEAD"], cwd=project)
            return False
        except GitError:  # no commit yet
            pass
    else:
        store.git(["init", "--quiet", "--initial-branch=main"], cwd=project)
    if only is None:
        store.git(["add", "--all"], cwd=project)
    else:  # the rendered files, less those the project's .gitignore keeps out (.env)
        listed = store.git(
            ["check-ignore", "--stdin", "-z"], cwd=project, stdin="\0".join(only), fine=(0, 1)
        )
        ignored = set(listed.split("\0"))
        store.git(["add", "--", *(name for name in only if name not in ignored)], cwd=project)
    env: dict[str, str] = {}
    if "author_email" not in identity:
        # Without a configured identity git refuses to commit; use the project's author.
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
