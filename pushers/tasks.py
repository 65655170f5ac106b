"""Celery tasks: thin wrappers around `services`, taking ids only.

Every task is idempotent (state lives in database rows, claimed with conditional updates)
and runs with acks_late, so a message whose worker died is delivered again; the sweeper
covers messages that were never published or got lost with their broker.
"""

from celery import shared_task
from django.db import DatabaseError

from . import services


# A database hiccup (connection lost, lock timeout) is worth a few quick retries; the
# records stay un-fanned-out if they all fail, and the sweeper queues them again.
@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)
def fan_out_changes(change_ids: list[int]) -> int:
    return len(services.fan_out_changes(change_ids))


# Retry policy for pushes: a transient failure (timeout, connection error, HTTP 5xx/429,
# OCPI 3xxx) leaves the Delivery pending with `next_attempt_at` set by exponential backoff
# with jitter (PUSH_RETRY_BACKOFF_BASE/MAX), and this task retries itself at that moment.
# The bound is a time window (PUSH_RETRY_WINDOW, checked against the Delivery's first
# failure in the database), not a retry count, hence max_retries=None: past the window the
# partner's deliveries expire and a full sync is scheduled instead of replaying history.
# Permanent failures (other 4xx, OCPI 2xxx) are never retried; they are parked as failed.
@shared_task(
    bind=True,
    acks_late=True,
    max_retries=None,
    autoretry_for=(DatabaseError,),
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=True,
)
def send_lane(self, lane_id: int) -> int:
    result = services.send_lane(lane_id)
    # Only the run whose own attempt failed schedules the retry, so retries do not multiply.
    # In eager mode (tests) the retry is left to the sweeper or the test.
    if result.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=result.retry_in)
    return result.sent


@shared_task(acks_late=True)
def sweep() -> dict:
    result = services.sweep()
    return result.__dict__


@shared_task(acks_late=True)
def full_sync(partner_id: int, requested_by: str = "") -> int | None:
    sync = services.full_sync_start(partner_id=partner_id, requested_by=requested_by)
    return sync.pk if sync else None
