"""The debounce of a lane (PUSH_LANE_QUIET, PUSH_LANE_MAX_WAIT): an object that keeps
changing is sent once it has been quiet for a moment, as one message with its final state,
instead of once per change.

The lane remembers when each object was last sent (`Lane.sent_at`, written by the lease
holder with the round's outcomes, `rounds.record_round`).
"""

from datetime import UTC, datetime

from django.conf import settings

from . import queue
from .models import Delivery, Lane


def hold_until(lane: Lane, delivery: Delivery, t: float) -> float | None:
    """When a Delivery may go (epoch seconds), if not now: the debounce.

    Leading edge: a Delivery whose first change came when its object had been quiet for
    PUSH_LANE_QUIET (or was never sent) goes at once. Otherwise (a change right after a
    send: a burst) it waits until the object has been quiet for PUSH_LANE_QUIET – its
    `queued_at` is the time of its newest change – but no longer than PUSH_LANE_MAX_WAIT
    after its first change (`created_at`), and then goes as one message with the final state.
    """
    quiet = settings.PUSH_LANE_QUIET
    if quiet <= 0:
        return None
    last = (lane.sent_at or {}).get(delivery.object_key)
    first = delivery.created_at.timestamp()
    if last is None or first - last >= quiet:
        return None
    due = min(delivery.queued_at.timestamp() + quiet, first + settings.PUSH_LANE_MAX_WAIT)
    return due if t < due else None


def throttle(
    lane: Lane, deliveries: list[Delivery], now: datetime
) -> tuple[list[Delivery], float | None]:
    """The leading Deliveries that may go now, and when the next one may (epoch seconds) if
    it is held by the debounce (`hold_until`). The lane keeps its order: what queues behind
    a held Delivery waits too (a Delivery that keeps changing moves to the back, since the
    lane is ordered by the newest change)."""
    t = now.timestamp()
    for i, delivery in enumerate(deliveries):
        due = hold_until(lane, delivery, t)
        if due is not None:
            return deliveries[:i], due
    return deliveries, None


def defer(lane: Lane, due: float, now: datetime) -> None:
    """Queue the lane's deferred send (the debounce's trailing edge) for `due`, once: the
    moment is stored on the lane, and a task already queued for it (or earlier) is enough."""
    due_at = datetime.fromtimestamp(due, tz=UTC)
    if lane.next_send_at is not None and now < lane.next_send_at <= due_at:
        return
    Lane.objects.filter(pk=lane.pk).update(next_send_at=due_at)
    lane.next_send_at = due_at
    queue.enqueue_lanes([lane.pk], countdown=max(0.0, due - now.timestamp()))
