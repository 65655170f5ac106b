"""Bulk changes queued for a worker: "Set status …", "Mark removed" and publish/unpublish of
more rows than a web request should write (`ADMIN_BULK_IN_REQUEST`, docs/admin.md).

The request only writes a `BulkChange` row (the selected ids, in the order of their
Locations) and queues `tasks.bulk_change_batch` with its id after the commit. Each run of
the task applies the next `bulk_changes.BATCH` rows with the same service as a small
selection (`locations.bulk_changes`: the same rules, a constant number of statements) and
records its progress in the same transaction, with the row locked: a batch is applied once,
whatever runs twice. Then it queues the next batch after its commit, so no transaction or
task grows with the selection. A message lost with its broker or worker is queued again by
`sweep` (Celery beat), as the push sweeper does for full syncs.
"""

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from . import bulk_changes
from .models import BulkChange

logger = logging.getLogger(__name__)


def request(*, kind: str, value: str, ids: Sequence[int], requested_by: str = "") -> BulkChange:
    """Queue a bulk change of these rows (ids in the order their Locations are locked:
    `bulk_changes.evse_ids_in_lock_order`, or ascending Location ids)."""
    job = BulkChange.objects.create(
        kind=kind, value=value, ids=list(ids), total=len(ids), requested_by=requested_by[:150]
    )
    job_id = job.pk
    transaction.on_commit(lambda: enqueue(job_id))
    return job


def enqueue(job_id: int) -> bool:
    """Queue the next batch; False when the broker could not be reached (the sweep will)."""
    from .tasks import bulk_change_batch

    try:
        bulk_change_batch.apply_async(args=[job_id])
    except Exception:  # any broker error (logged); the sweep queues it again
        logger.warning("Could not queue bulk change %s; the sweep will.", job_id, exc_info=True)
        return False
    return True


def run_batch(job_id: int) -> bool:
    """Apply the job's next batch and record how far it got, in one transaction; True when
    rows remain (their batch is queued after the commit)."""
    with transaction.atomic():
        job = (
            BulkChange.objects.select_for_update()
            .filter(pk=job_id, finished_at__isnull=True)
            .first()
        )
        if job is None:
            return False  # done already (a message that ran twice) or no such job
        batch = job.ids[job.done : job.done + bulk_changes.BATCH]
        if job.kind == BulkChange.Kind.EVSE_STATUS:
            outcome = bulk_changes.set_evses_status(batch, job.value)
        else:
            outcome = bulk_changes.set_locations_publish(batch, job.value == "true")
        job.done += len(batch)
        job.changed += outcome.changed
        job.already += outcome.already
        job.refused += outcome.refused
        job.refused_ids = (job.refused_ids + outcome.refused_ids)[:20]
        if job.done >= job.total:
            job.finished_at = timezone.now()
        job.save()
        more = job.finished_at is None
        if more:
            transaction.on_commit(lambda: enqueue(job_id))
    return more


def sweep(*, grace: float = 60) -> int:
    """Queue again the unfinished jobs nobody advanced for `grace` seconds (their message
    was lost); returns how many."""
    cutoff = timezone.now() - timedelta(seconds=grace)
    stalled = BulkChange.objects.filter(finished_at__isnull=True, updated_at__lte=cutoff)
    return sum(enqueue(pk) for pk in stalled.values_list("pk", flat=True)[:100])


def describe(job: BulkChange) -> str:
    """What the job changes, e.g. "Set status to BLOCKED on 5000 EVSEs"."""
    if job.kind == BulkChange.Kind.EVSE_STATUS:
        return f"Set status to {job.value} on {job.total} EVSEs"
    word = "Publish" if job.value == "true" else "Unpublish"
    return f"{word} {job.total} Locations"


def progress(job: BulkChange) -> str:
    """Where the job is, for the admin: queued, n/total, or what it did."""
    if job.finished_at is None:
        if not job.done:
            return "queued: waiting for a worker"
        return f"{job.done}/{job.total} ({100 * job.done // max(job.total, 1)}%)"
    text = f"done: {job.changed} changed, {job.already} had it already"
    if job.refused:
        rule = (
            "removed EVSEs stay removed"
            if job.kind == BulkChange.Kind.EVSE_STATUS
            else "publish_allowed_to"
        )
        more = " …" if job.refused > len(job.refused_ids) else ""
        text += f", {job.refused} left alone ({rule}: {', '.join(job.refused_ids)}{more})"
    return text
