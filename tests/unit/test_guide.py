"""The guide's data is complete: every fact the chooser reads is there for every framework."""

from __future__ import annotations

from stackwise.guide import load_guide

GUIDE = load_guide()


def test_every_need_says_what_each_framework_has_or_lacks() -> None:
    for need in GUIDE.needs.values():
        for framework in GUIDE.frameworks:
            table = need.has if framework in need.native else need.lacks
            assert framework in table, f"{need.key} says nothing about {framework}"


def test_use_cases_and_caveats_name_only_known_frameworks_needs_and_use_cases() -> None:
    frameworks = set(GUIDE.frameworks)
    for use_case in GUIDE.use_cases.values():
        assert use_case.picks
        assert set(use_case.picks + use_case.fits) <= frameworks
    for caveat in GUIDE.caveats:
        assert set(caveat.frameworks) <= frameworks
        assert set(caveat.needs) <= set(GUIDE.needs)
        assert set(caveat.use_cases) <= set(GUIDE.use_cases)


def test_tie_order_covers_every_framework() -> None:
    assert sorted(GUIDE.scoring.tie_order) == sorted(GUIDE.frameworks)


def test_published_figures_match_the_seed_guide() -> None:
    figures = {key: (f.json_rps, f.db_rps) for key, f in GUIDE.frameworks.items()}

    assert figures == {"django": (3000, 1500), "flask": (4500, 1800), "fastapi": (9000, 3500)}
