"""Operational endpoints that belong to the deployment rather than to a feature."""

from django.http import HttpRequest, JsonResponse


def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process is up and serving requests."""
    return JsonResponse({"status": "ok"})
