"""Celery tasks: thin wrappers around the engine, taking ids only.

Every task is idempotent (state lives in database rows, claimed with conditional updates)
and runs with acks_late, so a message whose worker died is delivered again; the sweeper
covers messages that were never published or got lost with their broker. Tasks are queued
only through `queue`. The retry policy, including these tasks' own retries, is `outcomes`.
"""

from typing import Any

from celery import shared_task

from versions.logcontext import log_ids

from . import clock, fanout, lanes, operations, retention, sweeper
from .models import Delivery
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
def purge() -> dict[str, int]:
    return retention.purge(now=clock.now()).__dict__


# A batch that fails stays where it was (its transaction rolled back) and the sweeper
# queues it again.
@shared_task(acks_late=True, max_retries=5, **TASK_RETRY_ON_DATABASE_ERROR)
def full_sync_batch(sync_id: int) -> bool:
    return operations.full_sync_continue(sync_id)


@shared_task(acks_late=True, max_retries=5, **TASK_RETRY_ON_DATABASE_ERROR)
def retry_partner(partner_id: int) -> int:
    return operations.partner_retry_now(partner_id)


@shared_task(acks_late=True, max_retries=5, **TASK_RETRY_ON_DATABASE_ERROR)
def retry_deliveries(delivery_ids: list[int]) -> int:
    return operations.deliveries_retry_now(Delivery.objects.filter(pk__in=delivery_ids))
