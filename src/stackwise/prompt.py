"""The interactive part of `stackwise new`: what is being built, and which framework to use."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from stackwise.chooser import Recommendation, Requirements
from stackwise.errors import Interrupted
from stackwise.guide import Guide


def _ask(question: object) -> object:
    """Ask a questionary question; Ctrl-C becomes our own clean interruption."""
    try:
        return question.unsafe_ask()  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        raise Interrupted("interrupted; nothing was written") from None


def ask_destination() -> Path:
    import questionary

    answer = _ask(questionary.text("Project directory:", default="my-app"))
    return Path(str(answer).strip() or "my-app")


def ask_requirements(guide: Guide, known: Requirements) -> Requirements:
    """What is being built and what it needs; the team question starts at what `known` (the
    command line or a team configuration) says, and a configuration's preference is kept."""
    import questionary
    from questionary import Choice

    use_case = _ask(
        questionary.select(
            "What are you building?",
            choices=[Choice(u.label, value=key) for key, u in guide.use_cases.items()]
            + [Choice("Not sure yet", value="")],
        )
    )
    needs = _ask(
        questionary.checkbox(
            "What does it need?",  # questionary says how to tick
            choices=[Choice(n.label, value=key) for key, n in guide.needs.items()],
        )
    )
    teams = [Choice("No preference", value="")] + [
        Choice(f.label, value=key) for key, f in guide.frameworks.items()
    ]
    team = _ask(
        questionary.select(
            "Does your team already know one of them?",
            choices=teams,
            default=next(c for c in teams if c.value == (known.team_knows or "")),
        )
    )
    return replace(
        known,
        use_case=str(use_case) or None,
        needs=frozenset(str(n) for n in needs),  # type: ignore[attr-defined]
        team_knows=str(team) or None,
    )


def ask_framework(recommendation: Recommendation, guide: Guide) -> str:
    import questionary
    from questionary import Choice

    choices = [
        Choice(
            guide.frameworks[r.framework].label
            + (" (recommended)" if r.framework == recommendation.recommended else ""),
            value=r.framework,
        )
        for r in recommendation.ranking
    ]
    return str(_ask(questionary.select("Which framework?", choices=choices, default=choices[0])))


def confirm(question: str) -> bool:
    import questionary

    return bool(_ask(questionary.confirm(question, default=False)))
