"""Lanes: sending each (partner, Location) lane's Deliveries, one at a time and in order.

A task first takes one of the partner's sending slots (`slots`: at most
PUSH_PARTNER_CONCURRENCY calls in flight per partner, one while it is degraded), then the
lane's lease (`lane_sql.claim`, a conditional UPDATE, so it works alike on PostgreSQL and
SQLite): one message in flight per partner and Location, oldest first. With the slot it
sends that lane, then the partner's other due lanes nobody holds, so a slow partner holds
its own slots and never the other partners' workers. A round marks a batch of due
Deliveries as sending, builds their messages from the current state (`messages`), reads
the partner again before each call (nothing goes out after an unregistering, a pause or a
token rotation), sends through the one outbound client (`versions.client`) and writes down
the outcomes (`rounds`, by the policy of `outcomes`), stopping at the first transient
failure. The debounce may hold a Delivery (`debounce`). A task stops starting calls well
before its time limit, so nothing is cut mid-call by it.
"""

import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings

from versions.logcontext import log_ids

from . import calls, clock, debounce, drain, lane_sql, queue, rounds, slots, targets
from .calls import LOST
from .messages import build_messages as messages_for
from .models import Delivery, DeliveryAttempt, Lane
from .rounds import Sent
from .targets import Target

Status = Delivery.Status
Outcome = DeliveryAttempt.Outcome


@dataclass
class LaneResult:
    sent: int = 0
    # Seconds until the lane's head may be tried again, when *this* run's attempt failed
    # transiently (only that run schedules the retry, so retries do not multiply).
    retry_in: float | None = None
    outcomes: list[str] = field(default_factory=list)
    lane_retries: dict[int, float] = field(default_factory=dict)  # lane id → seconds
    degraded: bool = False  # a probe of a degraded partner failed: no more calls for now


# Deliveries of one lane marked as sending and sent back-to-back in one round.
LANE_BATCH = 50


class _Budget:
    """A task's time: no call is started that could outlast the task's soft time limit."""

    def __init__(self) -> None:
        limit = settings.CELERY_TASK_SOFT_TIME_LIMIT or 60
        self.ends = time.monotonic() + max(1.0, limit - 5 - calls.call_max())

    def spent(self) -> bool:
        return time.monotonic() > self.ends


def _claim_lane(lane_id: int) -> str | None:
    token = str(uuid.uuid4())
    now = clock.now()
    until = now + timedelta(seconds=settings.PUSH_LANE_LEASE)
    return token if lane_sql.claim(lane_id, token, now=now, until=until) else None


def _renew_lane(lane_id: int, token: str) -> bool:
    lease = timedelta(seconds=settings.PUSH_LANE_LEASE)
    return bool(lane_sql.update_lane(lane_id, token, {"busy_until": clock.now() + lease}))


def _release_lane(lane_id: int, token: str, state: dict[str, Any] | None = None) -> None:
    """Let go of the lease, writing the lane's pending state (`state`: the debounce's
    `sent_at`, the backoff reset after a success – see `rounds.record_round`) in the same
    UPDATE."""
    lane_sql.update_lane(lane_id, token, {"busy_until": None, "claim_token": "", **(state or {})})


def send_lane(lane_id: int, *, max_messages: int = 200) -> LaneResult:
    """Send the due Deliveries of a lane, then the partner's other due lanes nobody holds,
    oldest first, many per round (`drain`), while holding one of the partner's slots.

    A task that finds the partner's slots taken ends at once: a holder sends its lane. After
    letting the slot go the holder looks once more and queues a task for a due lane (one
    whose task found the slots taken meanwhile, or work left by the budget), so nothing is
    left for the sweeper.
    """
    result = LaneResult()
    slot = str(uuid.uuid4())
    partner_id = slots.acquire(lane_id, slot)
    if partner_id is None:
        return result
    _hold_slot(partner_id, slot, result, max_messages, first_lane=lane_id)
    # The retry of a lane that failed transiently: this task's own lane by the task's retry
    # (`tasks.send_lane`), the others it sent for the holder by a task of their own.
    result.retry_in = result.lane_retries.pop(lane_id, None)
    for other, wait in result.lane_retries.items():
        queue.enqueue_lanes([other], countdown=wait)
    return result


def send_partner(partner_id: int, *, max_messages: int = 1000) -> LaneResult | None:
    """The partner's due lanes, many per round, while holding one of its slots (how
    `ocpi_push_sync` sends); None when every slot it may use is taken (by the workers)."""
    slot = str(uuid.uuid4())
    if not slots.acquire_for_partner(partner_id, slot):
        return None
    result = LaneResult()
    _hold_slot(partner_id, slot, result, max_messages, first_lane=None)
    for other, wait in result.lane_retries.items():
        queue.enqueue_lanes([other], countdown=wait)
    return result


def _hold_slot(
    partner_id: int, slot: str, result: LaneResult, max_messages: int, *, first_lane: int | None
) -> None:
    budget = _Budget()
    idle: set[int] = set()  # lanes that sent nothing this task: not taken again
    stop = False
    try:
        if first_lane is not None:
            stop = _one_lane(partner_id, first_lane, result, max_messages, budget, idle)
        while not stop and result.sent < max_messages and not budget.spent():
            round_ = drain.send_round(partner_id, slot, result, max_messages, budget, exclude=idle)
            if not round_.lanes:
                break
            slots.renew(partner_id, slot)
            idle.update(round_.idle)
            stop = round_.stop
            for lane_id in round_.one_by_one:
                if stop or result.sent >= max_messages or budget.spent():
                    break
                stop = _one_lane(partner_id, lane_id, result, max_messages, budget, idle)
    finally:
        slots.release(partner_id, slot)
    waiting = None if result.degraded else lane_sql.next_due_lane(partner_id, now=clock.now())
    if waiting is not None:
        queue.enqueue_lanes([waiting])


def _one_lane(
    partner_id: int,
    lane_id: int,
    result: LaneResult,
    max_messages: int,
    budget: _Budget,
    idle: set[int],
) -> bool:
    before = result.sent
    with log_ids(partner_id=partner_id, lane_id=lane_id):
        stop = _send_lane(lane_id, result, max_messages, budget)
    if result.sent == before:
        idle.add(lane_id)
    return stop


def _send_lane(lane_id: int, result: LaneResult, max_messages: int, budget: _Budget) -> bool:
    """One lane under its lease; True means stop this task (the partner is paused or gone,
    or the lease or the time is up)."""
    token = _claim_lane(lane_id)
    if token is None:
        return False  # another worker holds it
    state: dict[str, Any] = {}
    try:
        return _drain(lane_id, token, result, max_messages, state, budget)
    finally:
        _release_lane(lane_id, token, state)


def _drain(
    lane_id: int,
    token: str,
    result: LaneResult,
    max_messages: int,
    state: dict[str, Any],
    budget: _Budget,
) -> bool:
    """Send due Deliveries in rounds of up to LANE_BATCH, until the lane is empty or waits.
    `state` collects lane columns to write when the lease is released (`rounds.record_round`).
    Returns True when the task should stop (see `_send_lane`)."""
    leased_until = time.monotonic() + settings.PUSH_LANE_LEASE
    call_max = calls.call_max()
    lane: Lane | None = None
    target: Target | None = None
    while result.sent < max_messages and not budget.spent():
        now = clock.now()
        limit = min(LANE_BATCH, max_messages - result.sent)
        if lane is None:
            # First round: the lane and its partner come with its Deliveries (one query).
            lane, deliveries = lane_sql.read_lane(lane_id, limit)
            if lane is None:
                return False
            if lane.paused:
                return True
            target = targets.target(
                partner=lane.partner, receiver_url=lane.receiver_url, roles=lane.roles
            )
        else:
            deliveries = lane_sql.open_deliveries(lane_id, limit)
        if lane.retry_at is not None and lane.retry_at > now:
            return False  # backing off after a transient failure
        if not deliveries:
            return False
        if target is None:
            Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
                status=Status.FAILED,
                finished_at=now,
                last_error="The partner is not registered or has no Locations RECEIVER "
                "endpoint any more.",
            )
            continue
        stale = [d for d in deliveries if d.status == Status.SENDING]
        if stale:
            # We hold the lane, so these were left by a worker lost mid-round: the first one
            # fails (a call may have been cut), the others wait their turn again.
            cut = Sent(stale[0], None, now, outcome=Outcome.TRANSIENT, error=LOST)
            rounds.record_round(lane, token, [cut], stale[1:], lost=False, state=state)
            return _after_failure(lane, result)
        due, next_at = debounce.throttle(lane, deliveries, now)
        if not due:
            assert next_at is not None  # nothing may go now: the first one is held
            debounce.defer(lane, next_at, now)
            return False
        # Read again after marking: a fan-out may have merged changes in just before the
        # UPDATE; from now on new changes make new pending Deliveries.
        batch = lane_sql.mark_sending(
            [d.pk for d in due], now=now, upto=(due[-1].queued_at, due[-1].pk)
        )
        if not batch:
            continue  # all moved back by a fan-out meanwhile: read the lane again
        messages = messages_for(lane.location_id, batch)
        sent: list[Sent] = []
        unsent: list[Delivery] = []
        lost = stop = False
        for i, delivery in enumerate(batch):
            if time.monotonic() + call_max > leased_until:
                if not _renew_lane(lane_id, token):
                    lost = True  # our lease ran out and another worker took the lane
                    break
                leased_until = time.monotonic() + settings.PUSH_LANE_LEASE
            if i > 0:
                # The partner as it is now, before each call after the first (the first
                # goes right after the lane read).
                target = calls.target_now(lane)
            if target is None or budget.spent():
                unsent, stop = batch[i:], True
                break
            item = calls.send(delivery, messages.get(delivery.pk), target)
            sent.append(item)
            result.sent += 1
            result.outcomes.append(item.outcome)
            if item.outcome == Outcome.TRANSIENT:
                unsent = batch[i + 1 :]
                break
        rounds.record_round(lane, token, sent, unsent, lost=lost, state=state)
        if lost or stop:
            return True
        if sent and sent[-1].outcome == Outcome.TRANSIENT:
            return _after_failure(lane, result)
        if len(deliveries) < limit:
            return False  # the lane was empty behind this round
    return False


def _after_failure(lane: Lane, result: LaneResult) -> bool:
    """After a transient failure the lane backs off; its task retries at that moment. A
    degraded partner gets no further call from this task: its next probe is the next lane
    whose backoff ends (the circuit breaker of `outcomes`)."""
    if lane.retry_at is not None:
        wait = max(0.0, (lane.retry_at - clock.now()).total_seconds())
        result.lane_retries[lane.pk] = wait
    result.degraded = getattr(lane, "consecutive_failures", 0) >= settings.PUSH_BREAKER_FAILURES
    return result.degraded
