"""Development on your own machine: debug on, emails printed to the console."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import STORAGES, env

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
# Mail printed to the console; DJANGO_EMAIL_HOST=localhost and DJANGO_EMAIL_PORT=1025 send it to
# the compose file's Mailpit instead (its web UI: http://localhost:8025).
if env("DJANGO_EMAIL_HOST", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env("DJANGO_EMAIL_HOST")
    EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=1025)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# Uploads where base.py puts them; static files from the apps' folders, no collectstatic.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
