"""The pairwise generator the template tests rely on covers what it claims."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given
from hypothesis import strategies as st

from tests.templates.combinations import pairwise

option_spaces = st.dictionaries(
    keys=st.sampled_from(["a", "b", "c", "d", "e", "f"]),
    values=st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True),
    min_size=2,
    max_size=5,
)


@given(option_spaces)
def test_every_pair_of_values_appears_in_some_row(options: dict[str, list[int]]) -> None:
    rows = pairwise(options)

    for first, second in combinations(sorted(options), 2):
        for x in options[first]:
            for y in options[second]:
                assert any(row[first] == x and row[second] == y for row in rows)


@given(option_spaces.flatmap(lambda options: st.tuples(st.just(options), rows_of(options))))
def test_rows_already_covered_leave_only_the_pairs_they_miss(
    case: tuple[dict[str, list[int]], list[dict[str, int]]],
) -> None:
    options, covered = case
    rows = pairwise(options, covered=covered)

    for first, second in combinations(sorted(options), 2):
        for x in options[first]:
            for y in options[second]:
                assert any(row[first] == x and row[second] == y for row in [*covered, *rows])
    if covered == pairwise(options):
        assert rows == []


def rows_of(options: dict[str, list[int]]) -> st.SearchStrategy[list[dict[str, int]]]:
    row = st.fixed_dictionaries({name: st.sampled_from(values) for name, values in options.items()})
    return st.lists(row, max_size=4) | st.just(pairwise(options))


@given(option_spaces)
def test_rows_are_valid_and_fewer_than_the_full_product(options: dict[str, list[int]]) -> None:
    rows = pairwise(options)
    full = 1
    for values in options.values():
        full *= len(values)

    assert all(row[name] in options[name] for row in rows for name in options)
    assert len(rows) <= full
    assert rows == pairwise(options)


def test_django_options_need_only_a_handful_of_rows() -> None:
    options = {
        "database": ["sqlite", "postgres"],
        "login_by": ["username", "email"],
        "api": ["none", "drf", "ninja"],
        "cms": ["none", "wagtail"],
        "celery": [False, True],
        "sentry": [False, True],
    }

    assert len(pairwise(options)) <= 8


def test_refused_combinations_are_never_used_and_every_other_pair_is_covered() -> None:
    options = {"auth": ["jwt", "none"], "admin": ["none", "sqladmin"], "ws": [False, True]}

    def allowed(row: dict[str, object]) -> bool:
        return not (row["admin"] == "sqladmin" and row["auth"] == "none")

    rows = pairwise(options, allowed)

    assert all(allowed(row) for row in rows)
    assert {(row["auth"], row["admin"]) for row in rows} == {
        ("jwt", "none"),
        ("jwt", "sqladmin"),
        ("none", "none"),
    }
    assert {(row["admin"], row["ws"]) for row in rows} == {
        (admin, ws) for admin in ("none", "sqladmin") for ws in (False, True)
    }
