"""The decision guide: frameworks, use cases, needs and caveats, loaded from guide.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Framework:
    key: str
    label: str
    version: str
    philosophy: str
    orm: str
    admin: str
    auth: str
    api_docs: str
    async_support: str
    type_safety: str
    learning_curve: str
    best_for: str
    json_rps: int
    db_rps: int
    concurrency: str
    memory_per_worker_mb: str
    server: str


@dataclass(frozen=True)
class UseCase:
    key: str
    label: str
    picks: tuple[str, ...]
    fits: tuple[str, ...]
    why: str
    options: dict[str, dict[str, Any]]  # per framework: the template answers that build it


@dataclass(frozen=True)
class Need:
    key: str
    label: str
    native: tuple[str, ...]
    has: dict[str, str]
    lacks: dict[str, str]
    options: dict[str, dict[str, Any]]  # per framework: the template answers that provide it


@dataclass(frozen=True)
class Caveat:
    frameworks: tuple[str, ...]
    text: str
    needs: tuple[str, ...] = ()
    min_needs: int = 1
    use_cases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scoring:
    pick_points: int
    fit_points: int
    need_points: int
    team_points: int
    prefer_points: int
    tie_order: tuple[str, ...]


@dataclass(frozen=True)
class Guide:
    scoring: Scoring
    frameworks: dict[str, Framework]
    use_cases: dict[str, UseCase]
    needs: dict[str, Need]
    caveats: tuple[Caveat, ...]


def _framework(key: str, raw: dict[str, Any]) -> Framework:
    fields = dict(raw)
    fields["async_support"] = fields.pop("async")  # `async` is a keyword in Python
    return Framework(key=key, **fields)


def parse_guide(raw: dict[str, Any]) -> Guide:
    return Guide(
        scoring=Scoring(**{**raw["scoring"], "tie_order": tuple(raw["scoring"]["tie_order"])}),
        frameworks={key: _framework(key, value) for key, value in raw["frameworks"].items()},
        use_cases={
            key: UseCase(
                key=key,
                label=value["label"],
                picks=tuple(value["picks"]),
                fits=tuple(value["fits"]),
                why=value["why"],
                options=value.get("options", {}),
            )
            for key, value in raw["use_cases"].items()
        },
        needs={
            key: Need(
                key=key,
                label=value["label"],
                native=tuple(value["native"]),
                has=value.get("has", {}),
                lacks=value.get("lacks", {}),
                options=value.get("options", {}),
            )
            for key, value in raw["needs"].items()
        },
        caveats=tuple(
            Caveat(
                frameworks=tuple(c["frameworks"]),
                text=c["text"],
                needs=tuple(c.get("needs", ())),
                min_needs=c.get("min_needs", 1),
                use_cases=tuple(c.get("use_cases", ())),
            )
            for c in raw["caveats"]
        ),
    )


@cache
def load_guide() -> Guide:
    text = resources.files("stackwise").joinpath("guide.toml").read_text(encoding="utf-8")
    return parse_guide(tomllib.loads(text))
