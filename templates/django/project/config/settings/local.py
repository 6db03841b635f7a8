"""Development on your own machine: debug on, emails printed to the console."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
# `stackwise new` writes a fresh key to .env, which manage.py reads. No key, no start: a key
# made up per process would differ between the workers of one server (sessions and CSRF tokens
# failing on every other request).
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "Set DJANGO_SECRET_KEY to run with local settings (copy .env.example to .env and "
        'set it: python -c "import secrets; print(secrets.token_urlsafe(50))").'
    )
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
