"""Celery tasks of the locations app, thin wrappers taking ids: the periodic re-check of
data quality (`locations.quality_store`) and the queued bulk changes (`locations.bulk_jobs`);
scheduled in settings.CELERY_BEAT_SCHEDULE."""

from celery import shared_task

from . import bulk_jobs, quality_store


@shared_task(acks_late=True)
def refresh_quality() -> int:
    """Re-check the Locations changed since their last check (at most
    `quality_store.REFRESH_LIMIT` per run); how many were checked."""
    return quality_store.refresh_stale()


# Idempotent: the job's row says how far it got (a batch is applied once), so a message
# delivered twice, or queued again by the sweep, does no harm.
@shared_task(acks_late=True)
def bulk_change_batch(job_id: int) -> bool:
    return bulk_jobs.run_batch(job_id)


@shared_task(acks_late=True)
def sweep_bulk_changes() -> int:
    return bulk_jobs.sweep()
