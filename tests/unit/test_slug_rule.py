"""The project-slug rule in templates/_shared/validate_slug.jinja, evaluated as copier does."""

from __future__ import annotations

import keyword
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import FileSystemLoader
from jinja2.sandbox import SandboxedEnvironment

from tests.conftest import REPO_ROOT

ENV = SandboxedEnvironment(loader=FileSystemLoader(REPO_ROOT))
RULE = ENV.get_template("templates/_shared/validate_slug.jinja")
RESERVED = {
    line.strip()
    for line in (REPO_ROOT / "templates/_shared/reserved-names.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
}


def slug_error(slug: str) -> str:
    return RULE.render(project_slug=slug).strip()


@pytest.mark.parametrize("slug", ["shop", "my_app", "billing2", "a", "order_service_v2"])
def test_valid_package_names_pass(slug: str) -> None:
    assert slug_error(slug) == ""


@pytest.mark.parametrize(
    ("slug", "why"),
    [
        ("", "must not be empty"),
        ("class", "shadow"),
        ("import", "shadow"),
        ("test", "shadow"),
        ("json", "shadow"),
        ("django", "shadow"),
        ("flask", "shadow"),
        ("fastapi", "shadow"),
        ("config", "shadow"),
        ("app", "shadow"),
        ("My_App", "not a valid package name"),
        ("my-app", "not a valid package name"),
        ("2fast", "not a valid package name"),
        ("_private", "not a valid package name"),
        ("../escape", "not a valid package name"),
        ("a/b", "not a valid package name"),
        ("caf\u00e9", "not a valid package name"),
        ("x" * 51, "at most 50"),
    ],
)
def test_invalid_or_reserved_slugs_are_refused_with_a_reason(slug: str, why: str) -> None:
    assert why in slug_error(slug)


def test_reserved_names_cover_this_pythons_keywords_and_stdlib() -> None:
    public_stdlib = {m for m in sys.stdlib_module_names if not m.startswith("_")}

    assert set(keyword.kwlist) - RESERVED == set()
    assert public_stdlib - RESERVED == set()


@given(st.text(max_size=60))
def test_rule_accepts_exactly_the_unreserved_lowercase_identifiers(slug: str) -> None:
    acceptable = (
        0 < len(slug) <= 50
        and slug.isascii()
        and slug.isidentifier()
        and slug == slug.lower()
        and slug[0].isalpha()
        and slug not in RESERVED
    )

    assert (slug_error(slug) == "") == acceptable
