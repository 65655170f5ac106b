"""Celery tasks: thin wrappers around the engine, taking ids only.

Every task is idempotent (state lives in database rows, claimed with conditional updates)
and runs with acks_late, so a message whose worker died is delivered again; the sweeper
covers messages that were never published or got lost with their broker. Tasks are queued
only through `queue`. The retry policy, including these tasks' own retries, is `outcomes`.
"""

from typing import Any

from celery import shared_task

from versions.logcontext import log_ids

from . import fanout, lanes, operations, sweeper
from .outcomes import TASK_RETRY_ON_DATABASE_ERROR


# The records stay un-fanned-out if every retry fails, and the sweeper queues them again.
@shared_task(acks_late=True, max_retries=5, **TASK_RETRY_ON_DATABASE_ERROR)
def fan_out_changes(change_ids: list[int]) -> int:
    with log_ids(change_ids=change_ids):
        return len(fanout.fan_out_changes(change_ids))


# max_retries=None: the bound of a push's retries is the retry window, checked against the
# Delivery's first failure in the database (`outcomes`), not a count of task runs.
@shared_task(bind=True, acks_late=True, max_retries=None, **TASK_RETRY_ON_DATABASE_ERROR)
def send_lane(self, lane_id: int) -> int:
    result = lanes.send_lane(lane_id)
    # Only the run whose own attempt failed schedules the retry, so retries do not multiply.
    # In eager mode (tests) the retry is left to the sweeper or the test.
    if result.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=result.retry_in)
    return result.sent


@shared_task(acks_late=True)
def sweep() -> dict[str, Any]:
    return sweeper.sweep().__dict__


@shared_task(acks_late=True)
def full_sync(partner_id: int, requested_by: str = "") -> int | None:
    sync = operations.full_sync_start(partner_id=partner_id, requested_by=requested_by)
    return sync.pk if sync else None
