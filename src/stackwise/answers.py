"""Answers to a template's questions: as copier reads them, checked against the questions,
and with the team configuration's defaults and locks applied."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import yaml

from stackwise.catalog import builtin_templates
from stackwise.config import ConfigError, LockedAnswerError
from stackwise.errors import InvalidAnswerError

if TYPE_CHECKING:
    from stackwise.catalog import TemplateInfo
    from stackwise.config import TeamConfig


def answer_text(value: Any) -> str:
    """An answer as text copier reads back as the same value: lists, booleans and numbers in
    JSON, which is YAML too."""
    return value if isinstance(value, str) else json.dumps(value)


# How copier reads a yes/no answer given as text; anything else is refused rather than
# taken as "yes", which is what copier would make of "maybe".
BOOLEAN_WORDS = {
    **dict.fromkeys(("true", "yes", "y", "on", "1"), "true"),
    **dict.fromkeys(("false", "no", "n", "off", "0"), "false"),
}


def normalise_answers(data: Mapping[str, Any], template: TemplateInfo) -> dict[str, str]:
    """Answers as the text copier reads: yes/no answers checked, a multiple-choice answer as
    `a,b` or `[a, b]`, and a list or mapping refused where one value is asked."""
    kinds = {q.name: q for q in template.all_questions()}
    converted = {}
    for name, value in data.items():
        question = kinds.get(name)
        text = answer_text(value)
        if question is not None and question.type == "bool":
            if text.strip().lower() not in BOOLEAN_WORDS:
                raise InvalidAnswerError(f"invalid answer for {name}: write true or false")
            text = BOOLEAN_WORDS[text.strip().lower()]
        elif question is not None and question.multiselect:
            text = answer_text(value) if isinstance(value, list) else _list_answer(name, text)
        elif question is not None and isinstance(value, (list, dict)):
            kind = "list" if isinstance(value, list) else "mapping"
            raise InvalidAnswerError(f"invalid answer for {name}: write one value, not a {kind}")
        converted[name] = text
    return converted


def _list_answer(name: str, text: str) -> str:
    if text.startswith("["):
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError:
            values = None
        if not isinstance(values, list):
            raise InvalidAnswerError(f"invalid answer for {name}: write a list, as [a, b] or a,b")
    else:
        values = [part.strip() for part in text.split(",") if part.strip()]
    return answer_text(values)


def check_answer_names(data: Mapping[str, str], template: TemplateInfo) -> None:
    known = template.question_names() | {"framework"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidAnswerError(
            f"unknown question {unknown[0]!r} for the {template.name} template; "
            f"known: {', '.join(sorted(known))}"
        )


def team_answers(
    config: TeamConfig, template: TemplateInfo, given: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """The answers to render with (locks enforced) and the defaults that pre-fill prompts.

    Only the questions `template` asks are touched: a lock on a Flask option does not stop a
    FastAPI project. A name no known template asks is a typo the team should hear about.
    """
    asked = {q.name: q for q in template.all_questions()}
    known = set(asked).union(*(t.question_names() for t in builtin_templates().values()))
    for table in ("defaults", "locked"):
        for name in getattr(config, table):
            if name not in known:
                raise ConfigError(f"{config.label}: {table}.{name}: no template asks this question")

    def relevant(table: str) -> dict[str, str]:
        values: Mapping[str, Any] = getattr(config, table)
        texts = {k: answer_text(v) for k, v in values.items() if k in asked}
        for name, text in texts.items():
            choices = asked[name].choices
            if choices and not asked[name].multiselect and text not in choices:
                raise ConfigError(
                    f"{config.label}: {table}.{name}: {text!r} is not one of {', '.join(choices)}"
                )
        return normalise_answers(texts, template)

    locked, defaults = relevant("locked"), relevant("defaults")
    answers = normalise_answers(given, template)
    for name, value in locked.items():
        if name in answers and answers[name] != value:
            raise LockedAnswerError(
                f"{name}={given[name]} is refused: {config.label} locks {name} to {value}"
            )
    return {**answers, **locked}, defaults
