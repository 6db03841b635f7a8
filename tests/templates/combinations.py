"""Option combinations for template tests: every value of every option, and every pair of them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import combinations, product
from math import prod
from typing import Any

import pytest

Answers = dict[str, Any]


Pair = tuple[tuple[str, Any], tuple[str, Any]]


def _pairs(row: Answers) -> set[Pair]:
    return set(combinations(sorted(row.items(), key=lambda item: item[0]), 2))


# The template proofs' option spaces (at most 4,096 combinations) are scanned whole, so their
# rows, and the projects the proofs generate, stay the same as long as their options do.
SCAN_LIMIT = 100_000


def _built_pairwise(
    options: Mapping[str, Sequence[Any]],
    names: list[str],
    allowed: Callable[[Answers], bool],
    covered: set[Pair],
) -> list[Answers]:
    """Pairwise rows for a large space: each row starts from the first pair not yet covered
    and takes, option by option, the value that covers the most uncovered pairs with the
    values chosen so far (the first such in the option's order). A row `allowed` refuses is
    dropped with its starting pair, so every row built covers at least that pair or ends it."""
    uncovered = {
        ((first, x), (second, y))
        for first, second in combinations(names, 2)
        for x in options[first]
        for y in options[second]
    } - covered
    rows: list[Answers] = []
    while uncovered:
        start = min(uncovered, key=repr)
        row: Answers = dict(start)
        for name in names:
            if name not in row:
                row[name] = max(
                    options[name],
                    key=lambda value, name=name: sum(
                        tuple(sorted(((chosen, row[chosen]), (name, value)))) in uncovered
                        for chosen in row
                    ),
                )
        if allowed(row := {name: row[name] for name in names}):
            rows.append(row)
            uncovered -= _pairs(row)
        else:
            uncovered.discard(start)
    return rows


def pairwise(
    options: Mapping[str, Sequence[Any]],
    allowed: Callable[[Answers], bool] = lambda row: True,
    covered: Sequence[Answers] = (),
) -> list[Answers]:
    """A small set of rows in which every pair of values of two options appears at least once,
    beside the rows in `covered` (proven anyway: the defaults, every option at once...), whose
    pairs need no row of their own.

    Only rows that `allowed` accepts are used, so a pair that no allowed row holds (a
    combination the template refuses) is left out. Greedy and deterministic: each row is the
    full combination that covers the most pairs not yet covered (the first such in product
    order). A space too large to scan (every question of a template: millions of combinations)
    has its rows built option by option instead.
    """
    names = sorted(options)
    already = set().union(*(_pairs({name: row[name] for name in names}) for row in covered))
    if prod(len(options[n]) for n in names) > SCAN_LIMIT:
        return _built_pairwise(options, names, allowed, already)
    candidates = [
        row
        for values in product(*(options[n] for n in names))
        if allowed(row := dict(zip(names, values, strict=True)))
    ]
    # Each pair is one bit, so the pairs a candidate would add are one AND and a bit count:
    # a dozen options (Flask's extensions with the shared questions) scan in a second, not 15.
    bits: dict[Pair, int] = {}
    masks = [
        sum(1 << bits.setdefault(pair, len(bits)) for pair in _pairs(row)) for row in candidates
    ]
    uncovered = (1 << len(bits)) - 1
    for pair in already & bits.keys():
        uncovered &= ~(1 << bits[pair])
    rows: list[Answers] = []
    while uncovered:
        best = max(range(len(candidates)), key=lambda i: (masks[i] & uncovered).bit_count())
        rows.append(candidates[best])
        uncovered &= ~masks[best]
    return rows


def row_id(row: Answers) -> str:
    return "-".join(f"{key}={value}" for key, value in row.items())


def as_params(template: str, rows: list[Answers], label: Callable[[Answers], str]) -> list[Any]:
    """Fixture params for `rows`, each its own pytest-xdist group: the tests of one combination
    run on one worker, which generates its project and replays its image once."""
    return [
        pytest.param(row, id=label(row), marks=pytest.mark.xdist_group(f"{template}-{label(row)}"))
        for row in rows
    ]


# Answers as hostile as validation lets through: template code of the generated app's own
# framework and of Jinja, quotes of both kinds, backslashes, HTML, non-BMP and right-to-left
# characters, a slug that sorts before `config` and `tests`. Every template gets one such
# project, proven like the others; its pages must show the name as text.
HOSTILE_ANSWERS: Answers = {
    "project_name": (
        "Shop {{ config.SECRET_KEY }} {% raw %} </title><b>\"q\" 'q' C:\\New \U0001f600\u200f"
    ),
    "project_slug": "aaa_shop",
    "description": 'Ends with """ and a backslash \\',
    "author_name": 'O\'Brien "Bob" \\ \u0430',
    "author_email": "o'brien+shop@example.com",
}


def hostile_id(row: Answers) -> str | None:
    return "hostile-answers" if row.get("project_name") == HOSTILE_ANSWERS["project_name"] else None


# The Flask template's extensions, in the order its question lists them.
FLASK_EXTENSIONS = [
    "sqlalchemy",
    "migrate",
    "login",
    "wtf",
    "admin",
    "api",
    "cors",
    "limiter",
    "caching",
    "talisman",
    "celery",
]
