"""Answers to a template's questions: as copier reads them, checked against the questions,
and with the team configuration's defaults and locks applied."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from stackwise.catalog import builtin_templates, shown_text
from stackwise.config import ConfigError, LockedAnswerError
from stackwise.errors import InvalidAnswerError
from stackwise.guide import load_guide

if TYPE_CHECKING:
    from stackwise.catalog import Question, TemplateInfo
    from stackwise.chooser import Requirements
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


def typed_text(value: Any) -> str:
    """An answer as a person types it on the command line: `true`, `a,b`, `sqladmin`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def guide_options(
    requirements: Requirements,
    framework: str,
    template: TemplateInfo,
    defaults: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The answers the guide gives `template` for what is being built (guide.toml `options`).

    The use case comes first and its list (Flask's extensions) is the starting set; each need,
    in the guide's order, adds to a list or sets a value. A list a need adds to with no use case
    before it starts from `defaults` (the team's, as answer text) or the template's default.
    Only questions the template asks are answered.
    """
    guide = load_guide()
    questions = {q.name: q for q in template.all_questions()}
    use_case = guide.use_cases[requirements.use_case] if requirements.use_case else None
    needs = [need for key, need in guide.needs.items() if key in requirements.needs]
    options: dict[str, Any] = {}
    for source in [use_case, *needs]:
        for name, value in (source.options.get(framework, {}) if source else {}).items():
            if name not in questions or not _fits(questions[name], value):
                continue  # a team template may ask a question of that name differently
            if isinstance(value, list):
                if source is use_case:
                    start: list[str] = []
                else:
                    start = options.get(name) or _default_list(questions[name], defaults)
                value = [c for c in questions[name].choices if c in {*start, *value}]
            options[name] = value
    return options


@dataclass(frozen=True)
class Suggestions:
    """The guide's answers for what is being built (`guide_options`), beside the answers given
    and locked (which win over them) and the defaults they replace."""

    guide: dict[str, Any]  # every answer the guide gives the template
    template: TemplateInfo
    given: dict[str, str]  # --data, the answers file and the team's locks
    defaults: dict[str, str]  # the team's

    @property
    def options(self) -> dict[str, Any]:
        """The guide's answers that pre-fill the questions: those not given or locked."""
        return {name: value for name, value in self.guide.items() if name not in self.given}

    def switched_on(self, recorded: Mapping[str, Any] | None = None) -> list[str]:
        """`name=value` of the pre-filled answers that change a default; given the answers a
        project `recorded`, of those it took."""
        if recorded is None:
            chosen = self.options
        else:
            chosen = {
                name: value for name, value in self.guide.items() if recorded.get(name) == value
            }
        return [f"{name}={typed_text(chosen[name])}" for name in self._changing_defaults(chosen)]

    def not_switched_on(self, recorded: Mapping[str, Any]) -> list[str]:
        """`name=value` of the guide's answers the project did not take (given otherwise,
        locked, changed at the prompt), each with its choice's rule where that refused it."""
        missed = {name: value for name, value in self.guide.items() if recorded.get(name) != value}
        questions = {q.name: q for q in self.template.all_questions()}
        said = []
        for name in self._changing_defaults(missed):
            rule = questions[name].rule_for(missed[name])
            why = (shown_text(rule, recorded) or "").strip() if rule else ""
            said.append(f"{name}={typed_text(missed[name])}" + (f" ({why})" if why else ""))
        return said

    def _changing_defaults(self, options: Mapping[str, Any]) -> list[str]:
        """The names in `options` whose value is not the default (the team's, else the
        template's)."""
        chosen = normalise_answers(options, self.template)
        standard = normalise_answers(
            {q.name: q.default for q in self.template.all_questions() if q.name in chosen},
            self.template,
        )
        return [
            name for name, text in chosen.items() if text != self.defaults.get(name, standard[name])
        ]


def _fits(question: Question, value: Any) -> bool:
    if isinstance(value, bool):
        return question.type == "bool"
    values = value if isinstance(value, list) else [value]
    return question.multiselect == isinstance(value, list) and set(values) <= set(question.choices)


def _default_list(question: Question, defaults: Mapping[str, str] | None) -> list[str]:
    if defaults and question.name in defaults:
        return list(yaml.safe_load(defaults[question.name]) or [])
    return list(question.default or [])
