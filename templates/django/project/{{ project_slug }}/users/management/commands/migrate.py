"""`manage.py migrate` without the statement timeout that requests run under."""

from typing import Any

from django.core.management.commands import migrate
from django.db import connections


class Command(migrate.Command):
    """Django's `migrate`, with PostgreSQL's statement_timeout off on the connection it migrates.

    DATABASE_STATEMENT_TIMEOUT bounds what a request waits for one statement, so that a request
    stuck behind a lock answers 503 instead of holding a worker until gunicorn kills it. A
    migration is not a request: building an index or rewriting a large table may rightly take
    minutes, and a migration cancelled halfway fails the release. The connection gets its own
    timeout back afterwards (RESET returns to what it was opened with, or to the role's).
    """

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            super().handle(*args, **options)
            return
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
        try:
            super().handle(*args, **options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout")
