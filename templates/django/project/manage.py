#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys
from pathlib import Path


def main() -> None:
    env_file = Path(__file__).resolve().with_name(".env")
    if env_file.is_file():
        import environ

        environ.Env.read_env(env_file)  # variables already in the environment win
    # Production unless told otherwise, like every other entry point: `.env` names the local
    # settings on a developer's machine, CI its test settings.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
