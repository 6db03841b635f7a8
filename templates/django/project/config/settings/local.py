"""Development on your own machine: debug on, local hosts only."""

import os
import secrets

from .base import *  # noqa: F403

DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
# Without DJANGO_SECRET_KEY each run gets a throwaway key: sessions end on restart, nothing
# guessable ever signs a cookie.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
