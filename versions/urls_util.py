from django.conf import settings
from django.urls import reverse


def public_url(path: str) -> str:
    """An absolute URL under OCPI_BASE_URL; joins without `//` and keeps the base's path."""
    return settings.OCPI_BASE_URL.rstrip("/") + "/" + path.lstrip("/")


def public_reverse(name: str, **kwargs) -> str:
    return public_url(reverse(name, kwargs=kwargs or None))
