"""Where templates come from and what they ask: the built-in ones shipped with stackwise, and a
team's own copier templates registered in its configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from stackwise import __version__, store
from stackwise.chooser import check_choice
from stackwise.errors import UsageError

if TYPE_CHECKING:
    from stackwise.config import TeamConfig

# Where copier records a project's template and answers, unless a layer needs its own file.
ANSWERS_FILE = ".copier-answers.yml"


class TemplateSourceError(UsageError):
    """A team template's source or pinned ref cannot be read."""


@dataclass(frozen=True)
class Question:
    name: str
    help: str
    default: Any
    choices: tuple[str, ...]
    multiselect: bool = False  # the answer is a list of choices
    type: str = "str"  # copier's type: str, bool, int, float, yaml, json
    # A choice's own validator, as (value, validator): text when other answers rule it out.
    choice_rules: tuple[tuple[str, str], ...] = ()

    @property
    def offered(self) -> tuple[str, ...]:
        """The answers a person can type: the choices, or true and false for a yes/no."""
        return self.choices or (("true", "false") if self.type == "bool" else ())

    def rule_for(self, value: Any) -> str | None:
        """The validator of the choice `value`, if it has one of its own."""
        return dict(self.choice_rules).get(str(value))

    @property
    def default_text(self) -> str:
        """The default as a person reads it: a Jinja expression is worked out at render time."""
        text = "" if self.default is None else str(self.default)
        return "(computed)" if "{{" in text else text


@dataclass(frozen=True)
class TemplateInfo:
    """A template copier can render, with the template rendered under it, if any."""

    name: str
    framework: str
    version: str
    source: str  # what copier records as _src_path: the public URL, a path or a git URL
    questions: tuple[Question, ...]
    root: Path | None = None  # built-in only: the directory whose copier.yml is `version`
    ref: str | None = None  # the tag or commit copier renders; None for a built-in's own
    base: TemplateInfo | None = None  # a team template's `extends`, rendered first
    answers_file: str = ANSWERS_FILE
    trusted: bool = True  # copier may run the template's tasks and migrations
    description: str = ""

    @property
    def is_builtin(self) -> bool:
        return self.root is not None

    def layers(self) -> list[TemplateInfo]:
        """The templates rendered into one project, in order: base first."""
        return [*(self.base.layers() if self.base else []), self]

    def all_questions(self) -> list[Question]:
        seen: dict[str, Question] = {}
        for layer in self.layers():
            for question in layer.questions:
                seen.setdefault(question.name, question)
        return list(seen.values())

    def question_names(self) -> frozenset[str]:
        return frozenset(q.name for q in self.all_questions())


def shown_text(text: str, context: Mapping[str, Any]) -> str | None:
    """A template's Jinja text (a help, a choice's rule) rendered for a person to read, or None
    where it needs more than core Jinja (a team template may use copier's own filters)."""
    from jinja2 import TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    try:
        return SandboxedEnvironment().from_string(text).render(context)
    except TemplateError:
        return None


def builtin_root() -> Path:
    """The directory holding copier.yml: inside the installed package, or the source checkout."""
    packaged = Path(__file__).parent / "template"
    if (packaged / "copier.yml").is_file():
        return packaged
    return Path(__file__).resolve().parents[2]


class _IgnoreIncludes(yaml.SafeLoader):
    """Reads copier.yml without following `!include`: framework questions are read separately."""


_IgnoreIncludes.add_constructor("!include", lambda loader, node: None)


def _questions(path: Path) -> list[Question]:
    documents = yaml.load_all(path.read_text(encoding="utf-8"), Loader=_IgnoreIncludes)
    return [q for document in documents for q in _questions_in(document or {})]


def _questions_in(specs: Mapping[str, Any]) -> list[Question]:
    """Questions from copier's `name: spec` mapping; `_settings` and shorthand answers skipped."""
    questions = []
    for name, spec in specs.items():
        if name.startswith("_") or not isinstance(spec, dict):
            continue
        choices = spec.get("choices", ())
        values = list(choices.values() if isinstance(choices, dict) else choices)
        rules = tuple(
            (str(v["value"]), v["validator"])
            for v in values
            if isinstance(v, dict) and "validator" in v
        )
        questions.append(
            Question(
                name=name,
                help=spec.get("help", ""),
                default=spec.get("default"),
                # A choice may be copier's `{value: ..., validator: ...}`: its value counts.
                choices=tuple(str(v["value"] if isinstance(v, dict) else v) for v in values),
                multiselect=bool(spec.get("multiselect", False)),
                type=str(spec.get("type", "str")),
                choice_rules=rules,
            )
        )
    return questions


@cache
def builtin_templates() -> dict[str, TemplateInfo]:
    """One template per `templates/<framework>/questions.yml`; a new directory is a new one."""
    root = builtin_root()
    shared = [q for q in _questions(root / "copier.yml") if q.name != "framework"]
    return {
        path.parent.name: TemplateInfo(
            name=path.parent.name,
            framework=path.parent.name,
            version=__version__,
            source=store.TEMPLATE_URL,
            questions=tuple(shared + _questions(path)),
            root=root,
        )
        for path in sorted(root.glob("templates/*/questions.yml"))
    }


def team_template(config: TeamConfig, name: str) -> TemplateInfo:
    """The team template `[templates.NAME]`, its questions read at its pinned ref."""
    entry = config.templates[name]
    source = config.template_root(entry)
    if not entry.is_git_url and not Path(source).is_dir():
        raise TemplateSourceError(f"team template {name}: {source} is not a directory")
    questions, answers_file = _read_template(name, source, entry.ref)
    base = builtin_templates()[entry.extends] if entry.extends else None
    if base is not None and answers_file == ANSWERS_FILE:
        # Two templates in one project each need their own record for `update`.
        answers_file = f".copier-answers.{name}.yml"
    return TemplateInfo(
        name=name,
        framework=entry.framework or str(entry.extends),
        version=entry.ref or "unversioned",
        source=source,
        questions=tuple(questions),
        ref=entry.ref,
        base=base,
        answers_file=answers_file,
        trusted=entry.trusted,
        description=entry.description,
    )


def _read_template(name: str, source: str, ref: str | None) -> tuple[list[Question], str]:
    """Questions and answers file of any copier template, read the way copier reads it."""
    from copier._template import Template  # copier's reader: handles !include and git refs
    from copier.errors import CopierError
    from plumbum import ProcessExecutionError

    template = Template(url=source, ref=ref)
    try:
        with store.redirected_to_store():
            return _questions_in(template.questions_data), str(template.answers_relpath)
    except ProcessExecutionError:
        raise TemplateSourceError(f"team template {name}: cannot read {source}") from None
    except (CopierError, ValueError, OSError, yaml.YAMLError) as error:
        # e.g. "Unknown revision: 'v9'" for a ref the repository does not have
        detail = " ".join(str(error).split())
        raise TemplateSourceError(f"team template {name} ({source}): {detail}") from None
    finally:
        template._cleanup()


def all_templates(config: TeamConfig) -> dict[str, TemplateInfo]:
    """Built-in templates, then the team's, by name."""
    return {**builtin_templates(), **{n: team_template(config, n) for n in config.templates}}


def template_named(name: str, config: TeamConfig) -> TemplateInfo:
    if name in config.templates:
        return team_template(config, name)
    known = [*builtin_templates(), *config.templates]
    return builtin_templates()[check_choice("template", name, known)]


def template_for(framework: str, config: TeamConfig | None = None) -> TemplateInfo:
    """The team's first template for `framework` if it has one, else the built-in one."""
    templates = builtin_templates()
    check_choice("framework", framework, templates)
    if config is not None:
        for name, entry in config.templates.items():
            if (entry.framework or entry.extends) == framework:
                return team_template(config, name)
    return templates[framework]
