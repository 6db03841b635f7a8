"""Team configuration: stackwise.toml, where it is found, its schema, and the answers it sets."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from stackwise.errors import UsageError
from stackwise.inputs import read_text

CONFIG_NAME = "stackwise.toml"
CONFIG_ENV = "STACKWISE_CONFIG"
# Template sources written like these are cloned with git; anything else is a path.
GIT_URL_PREFIXES = ("https://", "http://", "ssh://", "git://", "git@", "git+", "file://")


class ConfigError(UsageError):
    """The team configuration cannot be read or breaks its schema."""


class LockedAnswerError(UsageError):
    """An answer contradicts one the team configuration locks."""


# An answer as TOML writes it: text, a yes/no, a number, or the choices of a multiselect.
Answer = StrictStr | StrictBool | StrictInt | list[StrictStr]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeamTemplate(_Strict):
    """`[templates.NAME]`: any copier template the team renders with `--template NAME`."""

    source: StrictStr = Field(description="a path (relative to the config file) or a git URL")
    ref: StrictStr | None = Field(default=None, description="the pinned tag or commit")
    framework: StrictStr | None = None
    extends: StrictStr | None = Field(
        default=None, description="a built-in template rendered first, under this one"
    )
    description: StrictStr = ""
    # Copier runs a template's tasks and migrations only when it is trusted.
    trusted: StrictBool = False

    @property
    def is_git_url(self) -> bool:
        return self.source.startswith(GIT_URL_PREFIXES)


class ChooserPreferences(_Strict):
    team_knows: StrictStr | None = None
    prefer: StrictStr | None = None


class _Schema(_Strict):
    defaults: dict[str, Answer] = {}
    locked: dict[str, Answer] = {}
    templates: dict[str, TeamTemplate] = {}
    chooser: ChooserPreferences = ChooserPreferences()


@dataclass(frozen=True)
class TeamConfig:
    """What a team's configuration says, and the file it came from (None: no config found)."""

    path: Path | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    locked: Mapping[str, Any] = field(default_factory=dict)
    templates: Mapping[str, TeamTemplate] = field(default_factory=dict)
    chooser: ChooserPreferences = field(default_factory=ChooserPreferences)

    @property
    def label(self) -> str:
        return str(self.path) if self.path else "the team configuration"

    def template_root(self, template: TeamTemplate) -> str:
        """The template's source as copier takes it: a git URL, or an absolute path."""
        if template.is_git_url:
            return template.source
        base = self.path.parent if self.path else Path.cwd()
        return str((base / Path(template.source).expanduser()).resolve())


def find_config(explicit: Path | None = None, cwd: Path | None = None) -> Path | None:
    """The first configuration in the documented order, or None.

    `--config`, then `$STACKWISE_CONFIG` (both must exist), then `./stackwise.toml` or a
    `[tool.stackwise]` table in `./pyproject.toml`, then the user's config directory.
    """
    for given, origin in ((explicit, "--config"), (os.environ.get(CONFIG_ENV), CONFIG_ENV)):
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise ConfigError(f"{origin}: {path} does not exist")
            return path
    here = cwd or Path.cwd()
    if (here / CONFIG_NAME).is_file():
        return here / CONFIG_NAME
    pyproject = here / "pyproject.toml"
    if pyproject.is_file() and "stackwise" in _read_toml(pyproject).get("tool", {}):
        return pyproject
    import platformdirs

    user_config = platformdirs.user_config_path("stackwise") / CONFIG_NAME
    return user_config if user_config.is_file() else None


def load_config(explicit: Path | None = None, cwd: Path | None = None) -> TeamConfig:
    path = find_config(explicit, cwd)
    if path is None:
        return TeamConfig()
    table = _read_toml(path)
    if path.name == "pyproject.toml":
        table = table.get("tool", {}).get("stackwise", {})
    try:
        schema = _Schema.model_validate(table)
    except ValidationError as error:
        raise ConfigError(f"{path}: {_first_problem(error)}") from None
    config = TeamConfig(
        path=path.absolute(),
        defaults=schema.defaults,
        locked=schema.locked,
        templates=schema.templates,
        chooser=schema.chooser,
    )
    _check_names(config)
    return config


def _read_toml(path: Path) -> dict[str, Any]:
    text = read_text(path, "team configuration", ConfigError)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None


def _first_problem(error: ValidationError) -> str:
    """Pydantic's first complaint as `key: what was expected`."""
    problem = error.errors()[0]
    key = ".".join(str(part) for part in problem["loc"])
    kind = problem["type"]
    if kind == "extra_forbidden":
        tables: dict[str, type[BaseModel]] = {
            "chooser": ChooserPreferences,
            "templates": TeamTemplate,
        }
        table = tables.get(str(problem["loc"][0]) if len(problem["loc"]) > 1 else "", _Schema)
        return f"{key}: unknown key; expected one of {', '.join(table.model_fields)}"
    if kind == "missing":
        return f"{key}: missing; it is required"
    expected = {
        "string_type": "text",
        "bool_type": "true or false",
        "int_type": "a whole number",
        "list_type": "a list",
        "dict_type": "a table",
        "model_type": "a table",
    }.get(kind)
    if key.startswith(("defaults.", "locked.")):
        expected = "text, true/false, a number, or a list of text"
        key = ".".join(str(part) for part in problem["loc"][:2])
    given = type(problem["input"]).__name__
    return f"{key}: expected {expected or problem['msg'].lower()}, got {given}"


def _check_names(config: TeamConfig) -> None:
    """Names the schema cannot know: frameworks, built-in templates, the framework question."""
    from stackwise.guide import load_guide

    frameworks = list(load_guide().frameworks)
    builtin = frameworks  # one built-in template per framework, named after it

    def check(key: str, value: str | None, known: list[str]) -> None:
        if value is not None and value not in known:
            raise ConfigError(
                f"{config.label}: {key}: unknown {value!r}; expected one of {', '.join(known)}"
            )

    check("chooser.team_knows", config.chooser.team_knows, frameworks)
    check("chooser.prefer", config.chooser.prefer, frameworks)
    for table in ("defaults", "locked"):
        if "framework" in getattr(config, table):
            raise ConfigError(
                f"{config.label}: {table}.framework: the framework is not an answer here; "
                "use chooser.prefer or a team template"
            )
    for name, template in config.templates.items():
        key = f"templates.{name}"
        if name in builtin:
            raise ConfigError(f"{config.label}: {key}: {name!r} is the name of a built-in template")
        check(f"{key}.extends", template.extends, list(builtin))
        check(f"{key}.framework", template.framework, frameworks)
        if template.framework is None and template.extends is None:
            raise ConfigError(f"{config.label}: {key}: missing framework (or extends)")
        if template.extends and template.framework not in (None, template.extends):
            raise ConfigError(
                f"{config.label}: {key}.framework: {template.framework!r} differs from "
                f"what it extends, {template.extends!r}"
            )
        if template.is_git_url and not template.ref:
            raise ConfigError(f"{config.label}: {key}.ref: missing; pin a tag or commit")
