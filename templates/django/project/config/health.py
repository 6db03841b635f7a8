"""Probes for load balancers and orchestrators, answered before any other middleware runs.

This middleware comes first in MIDDLEWARE, so a probe addressed to the container's IP address is
not refused by ALLOWED_HOSTS, is not redirected to HTTPS, and costs no session or CSRF work:
it stays cheap however often the platform asks.
"""

from collections.abc import Callable

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse

LIVENESS_PATH = "/health"
READINESS_PATH = "/health/ready"


def liveness() -> JsonResponse:
    """The process is up and serving requests; the database is not touched."""
    return JsonResponse({"status": "ok"})


def readiness() -> JsonResponse:
    """The database answers a query, so requests can be served."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            if request.path == LIVENESS_PATH:
                return liveness()
            if request.path == READINESS_PATH:
                return readiness()
        return self.get_response(request)
