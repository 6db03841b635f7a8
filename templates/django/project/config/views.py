"""Probes for load balancers and orchestrators; both are exempt from the HTTPS redirect."""

from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, JsonResponse


# ATOMIC_REQUESTS would open a transaction per request; probes must not need the database.
@transaction.non_atomic_requests
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process is up and serving requests."""
    return JsonResponse({"status": "ok"})


@transaction.non_atomic_requests
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers a query, so requests can be served."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
