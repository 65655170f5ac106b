"""Queueing of the push tasks: the one seam between the push engine and Celery.

Every module that wakes a worker calls this one; none imports `tasks`. The tasks call the
engine, so this module imports `tasks` inside its functions: the one import cycle of the
app, on purpose (`tasks` → engine → `queue` ⇢ `tasks`). Publishing never raises: a lost
message only delays the work, which lives in database rows and is found by the sweeper.
"""

import logging
from collections.abc import Iterable, Sequence

logger = logging.getLogger(__name__)

# Change records one fan-out task claims at most: its own, then any others not fanned out
# yet, so that a burst of saves is merged by a few task runs instead of one run per save.
# The outbox queues the records of one transaction in chunks of this size.
FAN_OUT_BATCH = 500


def enqueue_fan_out(change_ids: Sequence[int]) -> bool:
    """Publish the fan-out task(s), one per FAN_OUT_BATCH ids (what one run claims of its
    own); False when the broker could not be reached (the sweeper re-queues the records)."""
    from .tasks import fan_out_changes

    try:
        for start in range(0, len(change_ids), FAN_OUT_BATCH):
            fan_out_changes.apply_async(args=[list(change_ids[start : start + FAN_OUT_BATCH])])
    except Exception:  # any broker error (logged); the sweeper re-queues the records
        logger.warning(
            "Could not queue the push of change records %s; the sweeper will.",
            change_ids,
            exc_info=True,
        )
        return False
    return True


def enqueue_lanes(lane_ids: Iterable[int], *, countdown: float | None = None) -> int:
    """Queue `send_lane` for each lane (after `countdown` seconds if given); returns how
    many were queued (it stops at the first broker error; the sweeper catches up)."""
    from .tasks import send_lane

    options = {} if countdown is None else {"countdown": countdown}
    queued = 0
    for lane_id in lane_ids:
        try:
            send_lane.apply_async(args=[lane_id], **options)
            queued += 1
        except Exception:  # any broker error (logged); the sweeper re-queues the lane
            logger.warning("Could not queue lane %s; the sweeper will.", lane_id, exc_info=True)
            break
    return queued


def enqueue_full_sync_batch(sync_id: int) -> bool:
    """Queue the next batch of a full sync (`operations.full_sync_continue`); False when the
    broker could not be reached (the sweeper queues it)."""
    from .tasks import full_sync_batch

    try:
        full_sync_batch.apply_async(args=[sync_id])
    except Exception:  # any broker error (logged); the sweeper re-queues the batch
        logger.warning("Could not queue full sync %s; the sweeper will.", sync_id, exc_info=True)
        return False
    return True


def enqueue_partner_retry(partner_id: int) -> bool:
    """Queue "retry now" of a partner's waiting deliveries (an operator's request); False
    when the broker could not be reached (then the sweeper sends them when they are due)."""
    from .tasks import retry_partner

    try:
        retry_partner.apply_async(args=[partner_id])
    except Exception:  # any broker error (logged); the deliveries keep their own schedule
        logger.warning("Could not queue the retry of partner %s.", partner_id, exc_info=True)
        return False
    return True


def enqueue_deliveries_retry(delivery_ids: Sequence[int], *, batch: int = 500) -> bool:
    """Queue "retry now" of many deliveries (an operator's selection), in batches; False
    when the broker could not be reached (the deliveries keep their own schedule)."""
    from .tasks import retry_deliveries

    try:
        for start in range(0, len(delivery_ids), batch):
            retry_deliveries.apply_async(args=[list(delivery_ids[start : start + batch])])
    except Exception:  # any broker error (logged); the deliveries keep their own schedule
        logger.warning("Could not queue the retry of deliveries.", exc_info=True)
        return False
    return True
