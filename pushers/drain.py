"""Many lanes per round: how a slot holder sends a partner's other due lanes (`lanes`).

A round takes up to LANES_PER_ROUND of the partner's due lanes nobody holds with one
conditional UPDATE (one claim token), reads them and their open Deliveries with one query
and the partner with one, marks the Deliveries sending with one statement, builds their
messages together (`messages.build_many`: whole-Location PUTs from rows, in a constant
number of queries), sends them one after the other over the pooled HTTP client (the
partner read again before each call after the first, `calls`), writes the outcomes of all
its lanes in one transaction (`rounds.record_rounds`) and releases every lease with the
lanes' debounce memory in one UPDATE. So the statements per Delivery fall with the number
of lanes in a round, instead of ~10 per lane.

Every rule of a lane holds as in the one-lane path: one message in flight per partner and
Location, in `queued_at` order; a lane whose head is held by the debounce, backing off, or
found `sending` (a lost worker's) is left to the one-lane path (`lanes._send_lane`), which
knows those cases; a transient failure ends the round (the rest goes back to pending).
"""

import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings

from . import calls, clock, debounce, drain_sql, rounds, slots, targets
from .messages import build_many
from .models import Delivery, DeliveryAttempt, Lane
from .rounds import LaneRound, Sent

Status = Delivery.Status
Outcome = DeliveryAttempt.Outcome

# Lanes one round takes at most.
LANES_PER_ROUND = 50


@dataclass
class Round:
    lanes: int = 0  # lanes taken
    one_by_one: list[int] = field(default_factory=list)  # left to the one-lane path
    idle: list[int] = field(default_factory=list)  # taken with nothing open any more
    stop: bool = False  # paused, gone, out of time, lease lost, or degraded


def send_round(
    partner_id: int, slot: str, result: Any, max_messages: int, budget: Any, *, exclude
) -> Round:
    """One round over the partner's due lanes, holding its slot `slot` (`result`, `budget`:
    the task's, `lanes`)."""
    token = str(uuid.uuid4())
    now = clock.now()
    lease = timedelta(seconds=settings.PUSH_LANE_LEASE)
    limit = max(1, min(LANES_PER_ROUND, max_messages - result.sent))
    ids = drain_sql.claim_lanes(
        partner_id, token, now=now, until=now + lease, limit=limit, exclude=exclude
    )
    out = Round(lanes=len(ids))
    if not ids:
        return out
    states: dict[int, dict[str, Any]] = {lane_id: {} for lane_id in ids}
    try:
        _round(partner_id, slot, token, ids, states, result, budget, out)
    finally:
        drain_sql.release(token, states)
    return out


def _round(
    partner_id: int,
    slot: str,
    token: str,
    ids: list[int],
    states: dict[int, dict[str, Any]],
    result: Any,
    budget: Any,
    out: Round,
) -> None:
    lanes, open_ = drain_sql.read_lanes(ids)
    out.idle = [lane_id for lane_id in ids if lane_id not in lanes]
    partner, last_success = drain_sql.partner_now(partner_id)
    if partner is None or partner.paused:
        out.stop = True
        return
    target = targets.target(
        partner=partner.partner, receiver_url=partner.receiver_url, roles=partner.roles
    )
    if target is None:  # unregistered: the one-lane path writes that down
        out.one_by_one = list(lanes)
        return
    now = clock.now()
    ready: list[tuple[Lane, list[Delivery]]] = []
    for lane_id, lane in lanes.items():  # oldest head first (the read's order)
        items = open_[lane_id]
        lane.partner, lane.receiver_url = partner.partner, partner.receiver_url
        lane.roles = partner.roles
        lane.paused, lane.last_success = False, last_success
        lane.consecutive_failures = partner.consecutive_failures
        backing_off = lane.retry_at is not None and lane.retry_at > now
        debounced = debounce.throttle(lane, items, now)[1] is not None
        if backing_off or debounced or any(d.status == Status.SENDING for d in items):
            out.one_by_one.append(lane_id)
        else:
            ready.append((lane, items))
    if not ready:
        return
    marked = drain_sql.mark_sending(
        {lane.pk: (items[-1].queued_at, items[-1].pk) for lane, items in ready}, now=now
    )
    by_lane: dict[int, list[Delivery]] = {}
    for delivery in marked:
        delivery.lane = lanes[delivery.lane_id]
        by_lane.setdefault(delivery.lane_id, []).append(delivery)
    batch = [(lane, by_lane[lane.pk]) for lane, _ in ready if lane.pk in by_lane]
    messages = build_many(partner_id, {lane.location_id: items for lane, items in batch})
    held = (partner_id, slot, token, len(ids))
    _send(held, batch, messages, target, states, result, budget, out)


def _send(held, batch, messages, target, states, result, budget, out: Round) -> None:
    """The calls of a round, in lane order, then their outcomes written down together.
    Before a call that could outlast the leases, the lanes' leases and the partner's slot
    are renewed (`held`: partner, slot, lanes' claim token, how many lanes)."""
    partner_id, slot, token, n_lanes = held
    call_max = calls.call_max()
    leased_until = time.monotonic() + settings.PUSH_LANE_LEASE
    written: list[LaneRound] = []
    failed: Lane | None = None
    first = True
    for lane, items in batch:
        sent: list[Sent] = []
        unsent: list[Delivery] = []
        for i, delivery in enumerate(items):
            if out.stop or failed is not None:
                unsent = items[i:]
                break
            if time.monotonic() + call_max > leased_until:
                until = clock.now() + timedelta(seconds=settings.PUSH_LANE_LEASE)
                slots.renew(partner_id, slot)
                if drain_sql.renew(token, until=until) < n_lanes:
                    out.stop = True  # a lease ran out and another worker took that lane
                    unsent = items[i:]
                    break
                leased_until = time.monotonic() + settings.PUSH_LANE_LEASE
            if not first:
                target = calls.target_now(lane)  # the partner as it is now
            first = False
            if target is None or budget.spent():
                out.stop = True
                unsent = items[i:]
                break
            item = calls.send(delivery, messages.get(delivery.pk), target)
            sent.append(item)
            result.sent += 1
            result.outcomes.append(item.outcome)
            if item.outcome == Outcome.TRANSIENT:
                failed = lane
                unsent = items[i + 1 :]
                break
        written.append(LaneRound(lane, sent, unsent, states[lane.pk]))
    rounds.record_rounds(written, token)
    if failed is not None:
        # The lane backs off; its retry is a task of its own. A degraded partner gets no
        # further call from this task (the circuit breaker of `outcomes`).
        if failed.retry_at is not None:
            wait = max(0.0, (failed.retry_at - clock.now()).total_seconds())
            result.lane_retries[failed.pk] = wait
        degraded = failed.consecutive_failures >= settings.PUSH_BREAKER_FAILURES
        result.degraded = degraded
        out.stop = out.stop or degraded
