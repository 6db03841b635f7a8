"""The chooser agrees with the decision guide and behaves like a ranking should."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackwise.chooser import Requirements, recommend
from stackwise.errors import UnknownChoiceError
from stackwise.guide import load_guide

GUIDE = load_guide()


# One row per line of the guide's decision table, plus the use cases its prose names
# ("Choose Flask when: ... webhooks, small internal tools"; "Choose Django when: ... e-commerce").
@pytest.mark.parametrize(
    ("use_case", "expected_first"),
    [
        ("web-app", {"django"}),
        ("api", {"fastapi"}),
        ("ml-serving", {"fastapi"}),
        ("microservice", {"flask", "fastapi"}),
        ("cms", {"django"}),
        ("realtime", {"fastapi"}),
        ("prototype", {"django"}),
        ("webhooks", {"flask"}),
        ("internal-tool", {"flask"}),
        ("e-commerce", {"django"}),
    ],
)
def test_recommendation_follows_the_decision_guide(use_case: str, expected_first: set[str]) -> None:
    recommendation = recommend(Requirements(use_case=use_case), GUIDE)

    assert recommendation.recommended in expected_first
    assert any("guide's pick" in reason for reason in recommendation.ranking[0].reasons)


def test_microservice_ranks_both_light_frameworks_above_django() -> None:
    ranking = recommend(Requirements(use_case="microservice"), GUIDE).ranking

    assert {r.framework for r in ranking[:2]} == {"flask", "fastapi"}
    assert ranking[2].framework == "django"


def test_cms_reason_names_wagtail() -> None:
    top = recommend(Requirements(use_case="cms"), GUIDE).ranking[0]

    assert any("Wagtail" in reason for reason in top.reasons)


def test_flask_with_django_sized_needs_carries_the_rebuilding_django_caveat() -> None:
    requirements = Requirements(use_case="microservice", needs=frozenset({"admin", "auth"}))
    flask = next(r for r in recommend(requirements, GUIDE).ranking if r.framework == "flask")

    assert any("Flask-Admin" in c for c in flask.caveats)
    assert any("rebuilding Django" in c for c in flask.caveats)


def test_async_api_needs_carry_the_database_bottleneck_caveat_for_django() -> None:
    requirements = Requirements(use_case="api", needs=frozenset({"async"}))
    django = next(r for r in recommend(requirements, GUIDE).ranking if r.framework == "django")

    assert any("database is the bottleneck" in c for c in django.caveats)


def test_team_experience_breaks_a_tie() -> None:
    requirements = Requirements(use_case="microservice", team_knows="fastapi")
    recommendation = recommend(requirements, GUIDE)

    assert recommendation.recommended == "fastapi"
    assert any("team already knows FastAPI" in r for r in recommendation.ranking[0].reasons)


def test_team_experience_does_not_override_the_guide_for_a_full_web_app() -> None:
    requirements = Requirements(use_case="web-app", team_knows="flask")

    assert recommend(requirements, GUIDE).recommended == "django"


def test_json_shape_is_stable_for_scripts() -> None:
    as_dict = recommend(Requirements(use_case="api"), GUIDE).to_dict()

    assert set(as_dict) == {"recommended", "ranking"}
    assert as_dict["recommended"] == as_dict["ranking"][0]["framework"]
    assert all(set(r) == {"framework", "score", "reasons", "caveats"} for r in as_dict["ranking"])
    scores = [r["score"] for r in as_dict["ranking"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    "requirements",
    [
        Requirements(use_case="blog"),
        Requirements(needs=frozenset({"graphql"})),
        Requirements(team_knows="rails"),
    ],
)
def test_unknown_vocabulary_is_refused(requirements: Requirements) -> None:
    with pytest.raises(UnknownChoiceError, match="choose from"):
        recommend(requirements, GUIDE)


requirements_strategy = st.builds(
    Requirements,
    use_case=st.none() | st.sampled_from(sorted(GUIDE.use_cases)),
    needs=st.frozensets(st.sampled_from(sorted(GUIDE.needs))),
    team_knows=st.none() | st.sampled_from(sorted(GUIDE.frameworks)),
)


@given(requirements_strategy)
def test_every_input_gets_a_full_deterministic_ranking(requirements: Requirements) -> None:
    first = recommend(requirements, GUIDE)

    assert first == recommend(requirements, GUIDE)
    assert sorted(r.framework for r in first.ranking) == sorted(GUIDE.frameworks)
    scores = [r.score for r in first.ranking]
    assert scores == sorted(scores, reverse=True)


def _position(framework: str, requirements: Requirements) -> int:
    ranking = recommend(requirements, GUIDE).ranking
    return [r.framework for r in ranking].index(framework)


@given(requirements_strategy, st.sampled_from(sorted(GUIDE.needs)))
def test_adding_a_need_never_lifts_a_framework_that_lacks_it(
    requirements: Requirements, need: str
) -> None:
    with_need = Requirements(
        requirements.use_case, requirements.needs | {need}, requirements.team_knows
    )
    for framework in GUIDE.frameworks:
        if framework in GUIDE.needs[need].native:
            continue
        assert _position(framework, with_need) >= _position(framework, requirements)


@given(requirements_strategy)
def test_every_requested_need_is_explained_for_every_framework(requirements: Requirements) -> None:
    for ranked in recommend(requirements, GUIDE).ranking:
        explained = " ".join(ranked.reasons + ranked.caveats)
        for need in requirements.needs:
            native = ranked.framework in GUIDE.needs[need].native
            text = GUIDE.needs[need].has if native else GUIDE.needs[need].lacks
            assert text[ranked.framework] in explained


def test_a_tie_says_why_the_first_of_equals_leads() -> None:
    ranking = recommend(Requirements(use_case="microservice"), GUIDE).ranking

    assert ranking[0].score == ranking[1].score
    assert ranking[0].reasons[-1] == "Level with FastAPI; a tie goes to the more general framework."
    assert not any("Level with" in reason for reason in ranking[1].reasons)
