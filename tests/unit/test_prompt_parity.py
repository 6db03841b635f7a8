"""A prompt cannot build what `--data` refuses, nor refuse what it builds.

For each built-in template, a set of answer rows holding every pair of option values (every
choice and yes/no question; each Flask extension on or off) is answered twice: through
copier's real prompt, typed key by key in-process as a person would reach those values, and
through `--data`. Both must accept or both refuse, with the same reason, and an accepted row
must reach copier's rendering with exactly the values it asked for.

Run with `-rP` for the number of rows and pairs per template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import combinations
from pathlib import Path
from typing import Any

import copier._main
import pytest
from prompt_toolkit.application.current import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from questionary import unsafe_prompt

from stackwise.catalog import TemplateInfo, builtin_templates
from stackwise.errors import StackwiseError
from stackwise.render import NewProject, new_project
from tests.templates.combinations import Answers, pairwise

DOWN = "\x1b[B"
ENTER = "\r"
SPACE = " "


def option_space(template: TemplateInfo) -> dict[str, list[Any]]:
    """Every value of every choice and yes/no question; a multiple-choice question's choices
    are each a yes/no option of their own."""
    options: dict[str, list[Any]] = {}
    for question in template.all_questions():
        if question.multiselect:
            options.update({choice: [False, True] for choice in question.choices})
        elif question.type == "bool":
            options[question.name] = [False, True]
        elif question.choices:
            options[question.name] = list(question.choices)
    return options


def answers_for(row: Answers, template: TemplateInfo) -> Answers:
    """The row as the template's answers: a multiple choice as the list of its chosen values."""
    answers = dict(row)
    for question in template.all_questions():
        if question.multiselect:
            answers[question.name] = [c for c in question.choices if answers.pop(c)]
    return answers


@dataclass(frozen=True)
class Decision:
    accepted: bool
    reason: str = ""  # why it was refused, as the user was told
    answers: Answers | None = None  # what copier renders with, when accepted
    asked: frozenset[str] = frozenset()  # the questions the prompt showed (their `when` held)


class Typist:
    """Stands in for the person at the keyboard of copier's prompt: at each question it looks at
    what is shown (choices, which are greyed out, the default) and types the keys that reach
    `wanted`. Each question gets its own input, closed after the keys: a prompt still open then
    ends (EOF) instead of waiting for a key nobody will type."""

    def __init__(self, wanted: Answers) -> None:
        self.wanted = wanted
        self.refusal = ""  # what the prompt showed that stopped the typist
        self.asked: set[str] = set()

    def __call__(self, questions: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        question = dict(questions[0])
        if "validate" in question:
            question["validate"] = self._watched(question["validate"])
        with create_pipe_input() as keyboard, create_app_session(keyboard, DummyOutput()):
            if question["when"](kwargs.get("answers")):
                self.asked.add(question["name"])
                keyboard.send_text(self.keys(question))
            keyboard.close()
            return unsafe_prompt([question], **kwargs)  # copier's, by name in copier._main

    def _watched(self, validate: Any) -> Any:
        """The prompt's own validator; what it says is what the user reads before giving up."""

        def watched(answer: Any) -> Any:
            verdict = validate(answer)
            if verdict is not True:  # wrapped to the terminal's width: read as one line
                said = " ".join(verdict.split())
                self.refusal = re.sub(r"^Validation error for question '[^']+': ", "", said)
            return verdict

        return watched

    def keys(self, question: dict[str, Any]) -> str:
        name = question["name"]
        if name not in self.wanted:
            return ENTER  # not an option under test: take what is offered
        wanted = self.wanted[name]
        kind = question["type"]
        if kind == "confirm":
            return "y" if wanted else "n"
        # The cursor moves over the choices that are not greyed out, wrapping around.
        open_choices = [c for c in question["choices"] if not c.disabled]
        if kind == "checkbox":
            keys = ""
            for choice in question["choices"]:
                if (choice.value in wanted) != bool(choice.checked):
                    if choice.disabled:
                        self.refusal = choice.disabled
                        return ""
                    keys += SPACE
                if not choice.disabled:
                    keys += DOWN
            return keys + ENTER
        if kind == "select":
            target = next(c for c in question["choices"] if c.value == wanted)
            if target.disabled:
                self.refusal = target.disabled
                return ""
            default = question.get("default")
            start = next(
                (i for i, c in enumerate(open_choices) if default and c.value == default.value), 0
            )
            return DOWN * ((open_choices.index(target) - start) % len(open_choices)) + ENTER
        raise AssertionError(f"{name}: no way to type a {kind} answer")


class Answered(Exception):
    """Raised where copier starts rendering: every answer has passed, and these are they."""

    def __init__(self, answers: Answers) -> None:
        super().__init__()
        self.answers = answers


def stop_at_rendering(worker: copier._main.Worker) -> None:
    raise Answered(dict(worker.answers.combined))


def decided(request: NewProject, typist: Typist | None = None) -> Decision:
    """`stackwise new` run up to where copier would render the accepted answers. What is
    rendered from them is proven elsewhere; rendering ~90 projects here would triple the time."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(copier._main.Worker, "_render_template", stop_at_rendering)
        if typist is not None:
            patch.setattr(copier._main, "unsafe_prompt", typist)
        try:
            new_project(request)
        except Answered as done:
            return Decision(True, answers=done.answers)
        except StackwiseError as error:
            return Decision(False, (typist.refusal if typist else "") or error.message)
    raise AssertionError("copier rendered without passing through Worker._render_template")


def prompted(template: TemplateInfo, row: Answers, destination: Path) -> Decision:
    typist = Typist(answers_for(row, template))
    decision = decided(
        NewProject(destination, template, prompt=True, git=False, lock=False), typist
    )
    return replace(decision, asked=frozenset(typist.asked))


def typed(value: Any) -> str:
    """An answer as typed after `--data name=`: true, a,b, sqladmin."""
    if isinstance(value, bool):
        return str(value).lower()
    return ",".join(value) if isinstance(value, list) else str(value)


def given_as_data(template: TemplateInfo, row: Answers, destination: Path) -> Decision:
    data = {name: typed(value) for name, value in answers_for(row, template).items()}
    return decided(NewProject(destination, template, data=data, git=False, lock=False))


def verdict(decision: Decision) -> str:
    return "accepted" if decision.accepted else f"refused ({decision.reason})"


def disagreement(template: TemplateInfo, row: Answers, prompt: Decision, data: Decision) -> str:
    """What is wrong with the two decisions on `row`, or nothing."""
    if prompt.accepted != data.accepted:
        return f"prompt {verdict(prompt)}, --data {verdict(data)}"
    if not prompt.accepted:
        # --data names the answer first: "invalid answer for admin: <reason>".
        if not prompt.reason or prompt.reason not in data.reason:
            return (
                f"refused for different reasons: prompt {prompt.reason!r}, --data {data.reason!r}"
            )
        return ""
    # A question whose `when` does not hold (the account questions of a project without users)
    # is neither asked nor recorded, whatever the row says of it.
    wanted = {n: v for n, v in answers_for(row, template).items() if n in prompt.asked}
    for decision in (prompt, data):
        assert decision.answers is not None
        recorded = {name: decision.answers.get(name) for name in wanted}
        if recorded != wanted:
            return f"asked {wanted}, recorded {recorded}"
    return ""


@pytest.mark.parametrize("name", sorted(builtin_templates()))
def test_prompt_and_data_accept_and_refuse_the_same_answers(name: str, tmp_path: Path) -> None:
    template = builtin_templates()[name]
    options = option_space(template)
    rows = pairwise(options)
    problems, refused = [], 0
    for number, row in enumerate(rows):
        # The folder is the default project name, and so the slug: one that is valid.
        prompt = prompted(template, row, tmp_path / f"p{number}" / "parity_app")
        data = given_as_data(template, row, tmp_path / f"d{number}" / "parity_app")
        refused += not data.accepted
        if problem := disagreement(template, row, prompt, data):
            problems.append(f"{row}: {problem}")

    pairs = {pair for row in rows for pair in combinations(sorted(row.items()), 2)}
    every_pair = sum(len(a) * len(b) for a, b in combinations(options.values(), 2))
    print(f"{name}: {len(rows)} rows ({refused} refused) hold {len(pairs)} pairs of option values")
    assert len(pairs) == every_pair
    assert not problems, "\n".join(problems)
    assert refused < len(rows)  # the rows exercise the templates, not only their refusals
