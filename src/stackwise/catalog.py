"""Where templates come from and what they ask: the built-in template shipped with stackwise."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from stackwise import __version__
from stackwise.chooser import check_choice


@dataclass(frozen=True)
class Question:
    name: str
    help: str
    default: Any
    choices: tuple[str, ...]
    multiselect: bool = False  # the answer is a list of choices

    @property
    def default_text(self) -> str:
        """The default as a person reads it: a Jinja expression is worked out at render time."""
        text = "" if self.default is None else str(self.default)
        return "(computed)" if "{{" in text else text


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    framework: str
    version: str
    source: Path
    questions: tuple[Question, ...]

    def question_names(self) -> frozenset[str]:
        return frozenset(q.name for q in self.questions)


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
    questions: list[Question] = []
    for document in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_IgnoreIncludes):
        for name, spec in (document or {}).items():
            if name.startswith("_") or not isinstance(spec, dict):
                continue
            choices = spec.get("choices", ())
            values = choices.values() if isinstance(choices, dict) else choices
            questions.append(
                Question(
                    name=name,
                    help=spec.get("help", ""),
                    default=spec.get("default"),
                    choices=tuple(str(v) for v in values),
                    multiselect=bool(spec.get("multiselect", False)),
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
            source=root,
            questions=tuple(shared + _questions(path)),
        )
        for path in sorted(root.glob("templates/*/questions.yml"))
    }


def template_for(framework: str) -> TemplateInfo:
    templates = builtin_templates()
    return templates[check_choice("framework", framework, templates)]
