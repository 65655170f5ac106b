"""Celery tasks of the locations app: thin wrappers taking ids (`locations.bulk_jobs`)."""

from celery import shared_task

from . import bulk_jobs


# Idempotent: the job's row says how far it got (a batch is applied once), so a message
# delivered twice, or queued again by the sweep, does no harm.
@shared_task(acks_late=True)
def bulk_change_batch(job_id: int) -> bool:
    return bulk_jobs.run_batch(job_id)


@shared_task(acks_late=True)
def sweep_bulk_changes() -> int:
    return bulk_jobs.sweep()
