"""stackwise: recommend a Python web framework and scaffold a production-ready project for it."""

from __future__ import annotations

import os
import sys
from importlib.metadata import version

__version__ = version("stackwise")  # one source: the version in pyproject.toml


def run() -> None:
    """The `stackwise` command: main() with what happens around it kept to one line too."""
    try:
        from stackwise.cli import main  # typer, rich and click load here

        code = main()
    except KeyboardInterrupt:  # Ctrl-C while they load, before main() can take it
        print("stackwise: error: interrupted; nothing was written", file=sys.stderr)
        code = 130
    try:
        sys.stdout.flush()
    except OSError:  # stdout was a full device or a closed pipe: main() has said so on stderr
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(code)
