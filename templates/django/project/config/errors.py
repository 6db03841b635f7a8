"""Error responses for uncaught exceptions: a dependency that is down answers 503, not 500."""

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

# The database is down, refuses connections or did not answer within DEPENDENCY_TIMEOUT: the
# request may be retried shortly (503 with Retry-After), and it is not a bug (500).
UNAVAILABLE = (OperationalError, InterfaceError)
# SQLite reports a missing table or column (a migration not run) as an OperationalError too.
NOT_AN_OUTAGE = ("no such table", "no such column", "syntax error")


def is_outage(error: BaseException | None) -> bool:
    return isinstance(error, UNAVAILABLE) and not any(w in str(error) for w in NOT_AN_OUTAGE)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500. It runs while the uncaught exception is being handled, whether a
    view or a middleware (the session loading its row) raised it, so it can tell which it was.
    The pages render without the request: nothing here may touch the database again."""
    unavailable = is_outage(sys.exc_info()[1])
    status = 503 if unavailable else 500
    if request.path.startswith("/api/"):
        detail = "Service unavailable; try again shortly" if unavailable else "Server error"
        response: HttpResponse = JsonResponse({"detail": detail}, status=status)
    else:
        page = loader.get_template(f"{status}.html")
        response = HttpResponse(page.render(), status=status)
    if unavailable:
        response["Retry-After"] = str(settings.DEPENDENCY_TIMEOUT)
    return response
