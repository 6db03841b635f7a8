"""The error family stackwise reports to users: one line each, with an exit code."""

from __future__ import annotations

# Exit codes, documented in the README. 2 follows the Unix convention for bad usage.
EXIT_FAILURE = 1
EXIT_USAGE = 2


class StackwiseError(Exception):
    """Something the user can act on. The CLI prints `message` on one line and exits."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(StackwiseError):
    """The request itself is wrong: a bad flag value, answer or destination."""

    exit_code = EXIT_USAGE


class InvalidAnswerError(UsageError):
    """An answer fails its question's validator or names an unknown question."""


class UnknownChoiceError(UsageError):
    """A framework, use case, need or template name that stackwise does not know."""


class DestinationError(UsageError):
    """The destination cannot receive a new project."""


class RenderError(StackwiseError):
    """The template could not be rendered; nothing was left on disk."""


class GitError(StackwiseError):
    """git is missing or a git step failed."""


class Interrupted(StackwiseError):
    """The user pressed Ctrl-C; whatever was started has been removed."""

    exit_code = 130  # 128 + SIGINT, as shells report it
