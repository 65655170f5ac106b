"""The push engine's clock: one place, so that a test can move time for the whole engine."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
