"""Answers are data wherever they land: any answer that passes validation renders a project whose
Python compiles, whose TOML and YAML parse, that ruff finds clean and formatted, and that keeps
the answer exactly as given; what cannot be made safe is refused up front with one line.

The template tier proves a hostile sample per template further: its own suite, its pages.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st

from stackwise.answers import answer_text
from stackwise.catalog import template_for
from stackwise.errors import InvalidAnswerError
from stackwise.render import NewProject, new_project
from tests.conftest import REPO_ROOT
from tests.templates.combinations import FLASK_EXTENSIONS
from tests.unit.test_slug_rule import slug_error

FREE_TEXT = ("project_name", "description", "author_name", "author_email")
# Pieces that mean something in some file an answer lands in, and characters that look alike.
ADVERSARIAL = [
    '"',
    "'",
    '"""',
    "\\",
    "\\n",
    "\\x00",
    "{{",
    "}}",
    "{%",
    "%}",
    "{% raw %}",
    "{#",
    "{{ config.SECRET_KEY }}",
    "<script>",
    "</title>",
    "&amp;",
    "`",
    "*",
    "_",
    "#",
    "|",
    "$HOME",
    "%s",
    "\U0001f600",  # non-BMP
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\xa0",  # no-break space
    "\u0430",  # Cyrillic a
    "\uff53",  # fullwidth s
]
# What no file can hold safely, so the validators refuse it.
UNSAFE = ["\t", "\n", "\r", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"]
SAFE_TEXT = st.lists(
    st.sampled_from(ADVERSARIAL) | st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"]),
    max_size=30,
).map("".join)
NAMES = (
    st.lists(
        st.sampled_from(ADVERSARIAL) | st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"]),
        min_size=1,
        max_size=30,
    )
    .map("".join)
    .filter(str.strip)
)
EMAILS = st.emails() | SAFE_TEXT.map(lambda text: re.sub(r"[@\s]", "", text) + "@example.com")
# At the limits: 100 characters for a name, 300 for the description.
LONG_NAMES = st.sampled_from(ADVERSARIAL).map(lambda piece: (piece * 100)[:100])
LONG_DESCRIPTIONS = st.sampled_from(ADVERSARIAL).map(lambda piece: (piece * 300)[:300])
SLUGS = st.from_regex(r"[a-z][a-z0-9_]{0,49}", fullmatch=True)
# Option sets that render the most files an answer or the slug lands in.
OPTIONS = [
    ("django", {"api": "drf", "celery": True, "cms": "wagtail", "sentry": True}),
    ("django", {"api": "ninja", "celery": True, "database": "postgres", "login_by": "email"}),
    ("flask", {"extensions": FLASK_EXTENSIONS, "database": "postgres"}),
    ("flask", {"extensions": [name for name in FLASK_EXTENSIONS if name != "talisman"]}),
    (
        "fastapi",
        {"admin": "sqladmin", "websockets": True, "ml_serving": True, "background": "celery"},
    ),
]
LIMITS = {"project_name": 100, "description": 300, "author_name": 100, "author_email": 254}
REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
RUFF = str(Path(sys.executable).parent / "ruff")


def refusal(answers: dict[str, str]) -> str | None:
    """The first question copier refuses these answers at, or None: the rules written again."""

    def text_refused(name: str) -> bool:
        value = answers[name]
        return bool(REFUSED.search(value)) or len(value) > LIMITS[name]

    email = answers["author_email"]
    refused = {
        "project_name": not answers["project_name"].strip() or text_refused("project_name"),
        "project_slug": bool(slug_error(answers["project_slug"])),
        "description": text_refused("description"),
        "author_name": text_refused("author_name"),
        "author_email": text_refused("author_email")
        or bool(email and not re.fullmatch(r"[^@\s]+@[^@\s]+", email)),
    }
    return next((name for name, is_refused in refused.items() if is_refused), None)


def rendered_problems(project: Path, answers: dict[str, str]) -> list[str]:
    problems = []
    for path in project.rglob("*.py"):
        try:
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
        except SyntaxError as error:
            problems.append(f"{path.relative_to(project)}: {error}")
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    if pyproject["project"]["description"] != answers["description"]:
        problems.append("pyproject.toml: the description changed")
    for path in [*project.rglob("*.yml"), *project.rglob("*.yaml")]:
        yaml.safe_load(path.read_text(encoding="utf-8"))
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    problems += [f"answers file: {n}" for n in FREE_TEXT if recorded[n] != answers[n]]
    about = next(project.rglob("about.py"))
    values = {
        node.targets[0].id: ast.literal_eval(node.value)  # type: ignore[attr-defined]
        for node in ast.parse(about.read_text()).body
        if isinstance(node, ast.Assign)
    }
    if (values["NAME"], values["DESCRIPTION"]) != (answers["project_name"], answers["description"]):
        problems.append("about.py does not hold the answers as given")
    for command in (["check"], ["format", "--check"]):
        ruff = subprocess.run(
            [RUFF, *command, "--no-cache", "."], cwd=project, capture_output=True, text=True
        )
        if ruff.returncode:
            problems.append(f"ruff {command[0]}: {ruff.stdout[-1500:]}")
    return problems


def render(
    framework: str, options: dict[str, object], answers: dict[str, str], destination: Path
) -> None:
    data = {key: answer_text(value) for key, value in {**options, **answers}.items()}
    request = NewProject(destination, template_for(framework), data=data, git=False, lock=False)
    new_project(request)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # explaining re-renders
)
@given(
    template=st.sampled_from(["django", "flask", "fastapi"]).flatmap(
        lambda framework: st.sampled_from([pair for pair in OPTIONS if pair[0] == framework])
    ),
    name=NAMES | LONG_NAMES,
    description=SAFE_TEXT | LONG_DESCRIPTIONS,
    author=SAFE_TEXT,
    email=EMAILS | st.just(""),
    slug=SLUGS,
)
def test_any_valid_answer_renders_a_project_that_compiles_parses_and_lints(
    template: tuple[str, dict[str, object]],
    name: str,
    description: str,
    author: str,
    email: str,
    slug: str,
) -> None:
    framework, options = template
    answers = {
        "project_name": name,
        "description": description,
        "author_name": author,
        "author_email": email,
        "project_slug": slug,
    }
    assume(refusal(answers) is None)  # reserved slugs, e-mail addresses hypothesis finds odd
    event(framework)
    with tempfile.TemporaryDirectory() as scratch:
        render(framework, options, answers, Path(scratch) / "project")
        assert rendered_problems(Path(scratch) / "project", answers) == []


@settings(max_examples=40, deadline=None)
@given(
    question=st.sampled_from(FREE_TEXT),
    value=st.one_of(
        st.builds(lambda a, bad, b: a + bad + b, SAFE_TEXT, st.sampled_from(UNSAFE), SAFE_TEXT),
        NAMES.map(lambda text: (text * 301)[:301]),  # over every limit but the e-mail's
    ),
)
def test_an_answer_no_file_can_hold_is_refused_in_one_line(question: str, value: str) -> None:
    answers = {"project_name": "Shop", "project_slug": "shop", question: value}
    assume(refusal({"description": "", "author_name": "", "author_email": "", **answers}))
    with tempfile.TemporaryDirectory() as scratch:
        destination = Path(scratch) / "project"
        with pytest.raises(InvalidAnswerError) as refused:
            render("flask", {}, answers, destination)
        assert not destination.exists()
    assert refused.value.message.startswith(f"invalid answer for {question}: ")
    assert "\n" not in refused.value.message


TEMPLATES = REPO_ROOT / "templates"
ANSWER_IN_OUTPUT = re.compile(r"\{\{-?([^}]*\b(?:" + "|".join(FREE_TEXT) + r")\b[^}]*)\}\}")


def test_every_free_text_answer_goes_through_an_escaping_macro() -> None:
    raw = [
        f"{path.relative_to(TEMPLATES)}: {match[0]}"
        for path in sorted(TEMPLATES.rglob("*.jinja"))
        for match in ANSWER_IN_OUTPUT.finditer(path.read_text(encoding="utf-8"))
        if not re.match(r"\s*esc\.(py|py_assign|toml|md|text)\(", match[1])
    ]
    assert raw == [], "use a macro of templates/_shared/escape.jinja"
    assert len(list(TEMPLATES.rglob("*.jinja"))) > 100  # it read the templates
