"""Requirements in, ranked frameworks with reasons out. Pure: every fact comes from the guide."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from stackwise.errors import UnknownChoiceError
from stackwise.guide import Caveat, Guide


@dataclass(frozen=True)
class Requirements:
    use_case: str | None = None
    needs: frozenset[str] = field(default_factory=frozenset)
    team_knows: str | None = None
    prefer: str | None = None  # the framework a team configuration prefers

    @property
    def is_empty(self) -> bool:
        """Nothing was said about the project (a team preference is not about the project)."""
        return self.use_case is None and not self.needs and self.team_knows is None


@dataclass(frozen=True)
class RankedFramework:
    framework: str
    score: int
    reasons: tuple[str, ...]
    caveats: tuple[str, ...]


@dataclass(frozen=True)
class Recommendation:
    ranking: tuple[RankedFramework, ...]

    @property
    def recommended(self) -> str:
        return self.ranking[0].framework

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommended": self.recommended,
            "ranking": [
                {
                    "framework": r.framework,
                    "score": r.score,
                    "reasons": list(r.reasons),
                    "caveats": list(r.caveats),
                }
                for r in self.ranking
            ],
        }


def check_choice(kind: str, value: str, known: Iterable[str]) -> str:
    """Return `value` if it is one of `known`, else raise an error listing the valid values."""
    options = list(known)
    if value not in options:
        raise UnknownChoiceError(f"unknown {kind} {value!r}; choose from: {', '.join(options)}")
    return value


def validate(requirements: Requirements, guide: Guide) -> None:
    if requirements.use_case is not None:
        check_choice("use case", requirements.use_case, guide.use_cases)
    for need in sorted(requirements.needs):
        check_choice("need", need, guide.needs)
    for framework in (requirements.team_knows, requirements.prefer):
        if framework is not None:
            check_choice("framework", framework, guide.frameworks)


def _caveat_applies(caveat: Caveat, requirements: Requirements) -> bool:
    if not caveat.needs and not caveat.use_cases:
        return True
    by_use_case = requirements.use_case in caveat.use_cases
    by_needs = bool(caveat.needs) and (
        len(requirements.needs.intersection(caveat.needs)) >= caveat.min_needs
    )
    return by_use_case or by_needs


def _rank_one(framework: str, requirements: Requirements, guide: Guide) -> RankedFramework:
    points = guide.scoring
    score = 0
    reasons: list[str] = []
    caveats: list[str] = []

    if requirements.use_case is not None:
        use_case = guide.use_cases[requirements.use_case]
        if framework in use_case.picks:
            score += points.pick_points
            reasons.append(f"The guide's pick for {use_case.label.lower()}. {use_case.why}")
        elif framework in use_case.fits:
            score += points.fit_points
            reasons.append(f"Also a reasonable fit for {use_case.label.lower()}.")
        else:
            picks = " or ".join(guide.frameworks[p].label for p in use_case.picks)
            label = use_case.label.lower()
            caveats.append(f"Not the guide's choice for {label}: it picks {picks}.")

    for need_key in sorted(requirements.needs):
        need = guide.needs[need_key]
        if framework in need.native:
            score += points.need_points
            reasons.append(need.has[framework])
        else:
            caveats.append(need.lacks[framework])

    if requirements.team_knows == framework:
        score += points.team_points
        reasons.append(f"Your team already knows {guide.frameworks[framework].label}.")

    if requirements.prefer == framework:
        score += points.prefer_points
        reasons.append(f"Your team configuration prefers {guide.frameworks[framework].label}.")

    caveats.extend(
        c.text
        for c in guide.caveats
        if framework in c.frameworks and _caveat_applies(c, requirements)
    )
    return RankedFramework(framework, score, tuple(reasons), tuple(caveats))


def recommend(requirements: Requirements, guide: Guide) -> Recommendation:
    """Rank every framework in the guide for `requirements`, best first."""
    validate(requirements, guide)
    tie_order = {name: index for index, name in enumerate(guide.scoring.tie_order)}
    ranked = [_rank_one(name, requirements, guide) for name in guide.frameworks]
    ranked.sort(key=lambda r: (-r.score, tie_order.get(r.framework, len(tie_order)), r.framework))
    first, second = ranked[0], ranked[1]
    if first.score == second.score and first.score > 0:  # say why the first of equals leads
        label = guide.frameworks[second.framework].label
        why = f"Level with {label}; a tie goes to the more general framework."
        ranked[0] = replace(first, reasons=(*first.reasons, why))
    return Recommendation(tuple(ranked))
