"""Random answers through the renderer: every result is a rendered project or a clean error."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from stackwise.catalog import builtin_templates
from stackwise.errors import StackwiseError
from stackwise.render import NewProject, new_project

# Text a person could type or paste: any character but lone surrogates, which no terminal
# or file system hands a program as text.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=120)
SLUGS = st.from_regex(r"[a-z][a-z0-9_]{0,30}", fullmatch=True) | TEXT

ANSWERS = st.fixed_dictionaries(
    {},
    optional={
        "project_name": TEXT,
        "project_slug": SLUGS,
        "description": TEXT,
        "author_name": TEXT,
        "author_email": st.emails() | TEXT,
        "license": st.sampled_from(["MIT", "Apache-2.0", "Proprietary", "GPL-3.0", ""]),
        "python_version": st.sampled_from(["3.11", "3.13", "2.7", "3"]),
        "database": st.sampled_from(["sqlite", "postgres", "oracle"]),
        "websockets": st.sampled_from(["true", "no", "maybe"]),
        "extensions": st.sampled_from(["sqlalchemy,cors", "[login]", "[", "celery", ""]),
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(framework=st.sampled_from(["django", "flask", "fastapi"]), answers=ANSWERS)
def test_random_answers_render_a_project_or_fail_cleanly(
    framework: str, answers: dict[str, str]
) -> None:
    template = builtin_templates()[framework]
    data = {k: v for k, v in answers.items() if k in template.question_names()}
    with tempfile.TemporaryDirectory() as scratch:
        destination = Path(scratch) / "fuzzed" / "service"
        try:
            rendered = new_project(
                NewProject(destination=destination, template=template, data=data, git=False)
            )
        except StackwiseError as error:
            event(f"refused ({type(error).__name__})")
            assert "\n" not in error.message
            assert not (Path(scratch) / "fuzzed").exists()
            return
        assert rendered is not None
        event("rendered")
        recorded = yaml.safe_load((destination / ".copier-answers.yml").read_text())
        assert recorded["framework"] == framework
        for name in ("project_name", "project_slug", "description", "author_name", "license"):
            if name in data:
                assert recorded[name] == data[name]
