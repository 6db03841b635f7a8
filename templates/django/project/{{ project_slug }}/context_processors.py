"""Values every page's template can show."""

from django.conf import settings
from django.http import HttpRequest


def project(request: HttpRequest) -> dict[str, str]:
    """The project's name for the layout, as data: Django escapes it like any variable, and no
    name can change what a template does."""
    return {"project_name": settings.PROJECT_NAME}
