"""The test suite: fast password hashing, a key made per run."""

import secrets

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = secrets.token_urlsafe(50)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
