"""Files users hand stackwise to read: answers files, team configurations, a project's answers.

Each is read with a size bound, and YAML without aliases (an alias can expand without bound), so
a hostile or broken file costs one line and exit 2, never memory or minutes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stackwise.errors import StackwiseError, UsageError

# Far above any answers file or configuration a person writes; small enough to read at once.
MAX_INPUT_BYTES = 1_000_000


def read_text(path: Path, what: str, error: type[StackwiseError] = UsageError) -> str:
    """The UTF-8 text of `path`, at most MAX_INPUT_BYTES; `what` names the file in errors."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except OSError as problem:
        raise error(f"cannot read {what} {path}: {problem.strerror}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise error(f"{what} {path} is larger than {MAX_INPUT_BYTES // 1_000_000} MB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{what} {path} is not UTF-8 text") from None


class _AliasRefused(yaml.YAMLError):
    pass


class _NoAliases(yaml.SafeLoader):
    """YAML without aliases: a few lines of nested aliases can expand to gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _AliasRefused(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        return super().compose_node(parent, index)


def load_yaml(path: Path, what: str, error: type[StackwiseError] = UsageError) -> Any:
    """The YAML document in `path`, read as `read_text` does, without aliases."""
    text = read_text(path, what, error)
    try:
        return yaml.load(text, Loader=_NoAliases)  # noqa: S506 (a SafeLoader)
    except _AliasRefused as refused:
        mark = refused.args[0]
        raise error(
            f"{what} {path} uses a YAML alias (line {mark.line + 1}); write the values out"
        ) from None
    except yaml.YAMLError as problem:
        raise error(f"{what} {yaml_problem(path, problem)}") from None


def yaml_problem(path: Path, error: yaml.YAMLError) -> str:
    """A YAML parse error as one line: the file and the line it broke on."""
    mark = getattr(error, "problem_mark", None)
    where = f" (line {mark.line + 1})" if mark is not None else ""
    return f"{path} is not valid YAML{where}"
