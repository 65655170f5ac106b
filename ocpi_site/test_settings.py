"""Settings for the test suite: the normal settings plus what only tests need."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-never-used-in-production")

from .settings import *  # noqa: F403

# The test client speaks plain HTTP.
SECURE_SSL_REDIRECT = False
# Fast hashing for the many users the admin tests create.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
