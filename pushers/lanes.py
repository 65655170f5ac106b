"""Lanes: sending each (partner, Location) lane's Deliveries, one at a time and in order.

A worker owns a lane while it holds the lane's lease (`lane_sql.claim`, a conditional
UPDATE, so it works alike on PostgreSQL and SQLite): one message in flight per partner and
Location, oldest first. A round marks a batch of due Deliveries as sending, builds their
messages from the current state (`messages`), sends them through the one outbound client
(`versions.client`) and writes down the outcomes (`rounds`, by the policy of `outcomes`),
stopping at the first transient failure. The debounce may hold a Delivery (`debounce`).
"""

import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings

from versions.client import OcpiCallFailed, join_url, ocpi_request

from . import clock, coalescing, debounce, lane_sql, outcomes, queue, rounds, targets
from .messages import Message
from .messages import build_messages as messages_for
from .models import Delivery, DeliveryAttempt, Lane
from .rounds import Sent
from .targets import Target

Status = Delivery.Status


@dataclass
class LaneResult:
    sent: int = 0
    # Seconds until the lane's head may be tried again, when *this* run's attempt failed
    # transiently (only that run schedules the retry, so retries do not multiply).
    retry_in: float | None = None
    outcomes: list[str] = field(default_factory=list)


# Deliveries of one lane marked as sending and sent back-to-back in one round.
LANE_BATCH = 50


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
    UPDATE.

    The look for work left (`_has_due_work`) stays a statement of its own, after this one
    has committed: folded into it (UPDATE … RETURNING EXISTS(…)) its snapshot would predate
    our commit, so a Delivery committed meanwhile whose task found the lane still held could
    be left for the sweeper."""
    lane_sql.update_lane(lane_id, token, {"busy_until": None, "claim_token": "", **(state or {})})


def _has_due_work(lane_id: int) -> bool:
    return lane_sql.has_due_work(lane_id, now=clock.now())


def _target(lane: Lane) -> Target | None:
    """Where to send this lane's messages, from what the lane read brought along."""
    return targets.target(partner=lane.partner, receiver_url=lane.receiver_url, roles=lane.roles)


def send_lane(lane_id: int, *, max_messages: int = 200) -> LaneResult:
    """Send the due Deliveries of one (partner, Location) lane, oldest first.

    Only the worker holding the lane's lease sends, so a partner never has two messages
    for one Location in flight. After letting go of the lease it looks once more, so a
    Delivery whose task found the lane busy is not left behind.
    """
    result = LaneResult()
    while result.sent < max_messages:
        token = _claim_lane(lane_id)
        if token is None:
            return result  # another worker holds it and will look again before leaving
        state: dict[str, Any] = {}
        stop = True
        try:
            stop = _drain(lane_id, token, result, max_messages, state)
        finally:
            _release_lane(lane_id, token, state)
        if stop or not _has_due_work(lane_id):
            return result
    queue.enqueue_lanes([lane_id])  # more to do: give other lanes a turn first
    return result


def _drain(
    lane_id: int, token: str, result: LaneResult, max_messages: int, state: dict[str, Any]
) -> bool:
    """Send due Deliveries in rounds of up to LANE_BATCH, until the lane is empty or waits;
    True means do not look again (paused, backing off, throttled, or the lease is lost).
    `state` collects lane columns to write when the lease is released (`rounds.record_round`)."""
    leased_until = time.monotonic() + settings.PUSH_LANE_LEASE
    call_max = settings.OCPI_HTTP_CONNECT_TIMEOUT + settings.OCPI_HTTP_READ_TIMEOUT + 1
    lane: Lane | None = None
    target: Target | None = None
    while result.sent < max_messages:
        now = clock.now()
        limit = min(LANE_BATCH, max_messages - result.sent)
        if lane is None:
            # First round: the lane and its partner come with its Deliveries (one query).
            lane, deliveries = lane_sql.read_lane(lane_id, limit)
            if lane is None:
                return False
            if lane.paused:
                return True
            target = _target(lane)
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
            # We hold the lane, so these were left by a worker that died mid-send.
            for delivery in stale:
                coalescing.back_to_pending(delivery, next_attempt_at=None)
            continue
        due, next_at = debounce.throttle(lane, deliveries, now)
        if not due:
            assert next_at is not None  # nothing may go now: the first one is held
            debounce.defer(lane, next_at, now)
            return True
        # Read again after marking: a fan-out may have merged changes in just before the
        # UPDATE; from now on new changes make new pending Deliveries.
        batch = lane_sql.mark_sending([d.pk for d in due], now=now)
        messages = messages_for(lane.location_id, batch)
        sent: list[Sent] = []
        unsent: list[Delivery] = []
        lost = False
        for i, delivery in enumerate(batch):
            if time.monotonic() + call_max > leased_until:
                if not _renew_lane(lane_id, token):
                    lost = True  # our lease ran out and another worker took the lane
                    break
                leased_until = time.monotonic() + settings.PUSH_LANE_LEASE
            item = _send(delivery, messages.get(delivery.pk), target)
            sent.append(item)
            result.sent += 1
            result.outcomes.append(item.outcome)
            if item.outcome == DeliveryAttempt.Outcome.TRANSIENT:
                unsent = batch[i + 1 :]
                break
        rounds.record_round(lane, token, sent, unsent, lost=lost, state=state)
        if lost:
            return True
        if sent and sent[-1].outcome == DeliveryAttempt.Outcome.TRANSIENT:
            if lane.retry_at is not None:
                result.retry_in = max(0.0, (lane.retry_at - clock.now()).total_seconds())
            return True
        if len(deliveries) < limit:
            # The lane was empty behind this round; what came since is found by the caller's
            # look after releasing the lease (`_has_due_work`), one query saved per lane.
            return False
    return False


def _send(delivery: Delivery, message: Message | None, target: Target) -> Sent:
    item = Sent(delivery=delivery, message=message, started=clock.now())
    if message is None:
        return item  # the object is gone; its parent's PUT carries it
    item.url = join_url(target.receiver_url, *message.segments)
    try:
        item.result = ocpi_request(
            message.method,
            item.url,
            token=target.token,
            base64_token=target.base64_token,
            body=message.body,
            routing=target.routing,
        )
    except OcpiCallFailed as exc:
        item.outcome, item.error = outcomes.classify_no_answer(exc)
        return item
    item.outcome, item.error = outcomes.classify(item.result)
    return item
