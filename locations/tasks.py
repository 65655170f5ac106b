"""Celery tasks of the locations app: the periodic re-check of data quality
(`locations.quality_store`; scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import quality_store


@shared_task(acks_late=True)
def refresh_quality() -> int:
    """Re-check the Locations changed since their last check (at most
    `quality_store.REFRESH_LIMIT` per run); how many were checked."""
    return quality_store.refresh_stale()
