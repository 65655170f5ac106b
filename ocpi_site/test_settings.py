"""Settings for the test suite: the normal settings plus what only tests need."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-never-used-in-production")
# Never the checkout's .env (`make run` writes one): tests see only their own environment,
# and so do the worker and server processes they start (they inherit it).
os.environ["OCPI_ENV_FILE"] = ""

from .settings import *  # noqa: F403
from .settings import env_bool

# The tests' partners listen on 127.0.0.1 over plain HTTP (as with DEBUG on); the tests of
# the partner URL rules switch these off.
OCPI_ALLOW_HTTP_PARTNER_URLS = env_bool("OCPI_ALLOW_HTTP_PARTNER_URLS", True)
OCPI_ALLOW_PRIVATE_PARTNER_URLS = env_bool("OCPI_ALLOW_PRIVATE_PARTNER_URLS", True)

# The test client speaks plain HTTP.
SECURE_SSL_REDIRECT = False
# Fast hashing for the many users the admin tests create.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
