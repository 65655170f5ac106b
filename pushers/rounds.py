"""Writing down a round of a lane: the attempts, each Delivery's outcome, the lane's backoff
and debounce memory, the partner's health — with a few bulk statements in one transaction.
What each outcome means is decided by the retry policy (`outcomes`).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce

from versions.client import OcpiResult

from . import clock, coalescing, lane_sql, outcomes
from .messages import GONE, Message
from .models import Delivery, DeliveryAttempt, Lane, PartnerPushState

logger = logging.getLogger(__name__)

Status = Delivery.Status


@dataclass
class Sent:
    """One Delivery of a round and what its call gave (no call: the object is gone)."""

    delivery: Delivery
    message: Message | None
    started: datetime
    url: str = ""
    outcome: str = DeliveryAttempt.Outcome.SUCCESS
    error: str = ""
    answer: str = ""
    warning: str = ""
    result: OcpiResult | None = None  # None: no answer (or no call)
    gone: bool = False  # no call: the object is gone, its parent's PUT carries it
    skipped: str = ""  # why there was no call (`messages.Skip`)

    @property
    def method(self) -> str:
        return self.message.method if self.message is not None else self.delivery.method

    @property
    def http_status(self) -> int | None:
        return self.result.http_status if self.result is not None else None

    @property
    def ocpi_status(self) -> int | None:
        return self.result.ocpi_status if self.result is not None else None

    @property
    def duration_ms(self) -> int | None:
        return self.result.duration_ms if self.result is not None else None


# `PartnerPushState.last_success_at` is written at most this often per lane task's view of it
# (the statement is skipped when the value read with the lane is younger): a display field.
LAST_SUCCESS_RESOLUTION = timedelta(seconds=1)


@dataclass
class LaneRound:
    """What one lane's round sent (`sent`), what goes back to pending unsent (`unsent`), and
    the lane columns to write with the release of its lease (`state`, see `record_round`)."""

    lane: Lane
    sent: list[Sent]
    unsent: list[Delivery]
    state: dict[str, Any] | None = None


def record_round(
    lane: Lane,
    token: str,
    sent: list[Sent],
    unsent: list[Delivery],
    *,
    lost: bool,
    state: dict[str, Any] | None = None,
):
    """Write down one round in one transaction, with a few bulk statements: the attempts,
    the Deliveries' outcomes, the lane's backoff on a transient failure and the partner's
    health. The lane's debounce memory (`sent_at`) and the backoff reset after a success go
    into `state`, written with the release of the lease (one statement less per round;
    a worker dying in between only loses that memory: a debounced object may then go once
    more at once, a lane's failure count is not reset). Without `state` they are written
    here."""
    record_rounds([LaneRound(lane, sent, unsent, state)], token, lost=lost)


def record_rounds(items: list[LaneRound], token: str, *, lost: bool = False) -> None:
    """`record_round` for the rounds of many lanes of one partner (`drain`): the same
    statements, each once for all of them (the attempts, the successes, the partner's
    health); only a parked or failed Delivery costs statements of its own."""
    Outcome = DeliveryAttempt.Outcome
    if not items:
        return
    now = clock.now()
    partner_id = items[0].lane.partner_id
    gone: dict[str, list[int]] = {}  # no call, and why → those Deliveries
    calls: list[Sent] = []
    for item in items:
        for s in item.sent:
            if s.gone:
                gone.setdefault(s.skipped or GONE.reason, []).append(s.delivery.pk)
            else:
                calls.append(s)
    ok = [s for s in calls if s.outcome == Outcome.SUCCESS]
    parked = [s for s in calls if s.outcome == Outcome.PERMANENT]
    failures_ = [s for s in calls if s.outcome == Outcome.TRANSIENT]
    failed_any = failures_[-1] if failures_ else None
    with transaction.atomic():
        reset_earlier = {item.lane.pk: _lane_memory(item, now, token, lost) for item in items}
        DeliveryAttempt.objects.bulk_create(
            [
                DeliveryAttempt(
                    delivery=s.delivery,
                    partner_id=partner_id,
                    started_at=s.started,
                    method=s.method,
                    url=s.url[:500],
                    outcome=s.outcome,
                    http_status=s.http_status,
                    ocpi_status=s.ocpi_status,
                    duration_ms=s.duration_ms,
                    error=s.error,
                    answer=s.answer[:500],
                    warning=s.warning[:200],
                    request_id=s.result.request_id if s.result else "",
                )
                for s in calls
            ]
        )
        for reason, pks in gone.items():
            Delivery.objects.filter(pk__in=pks, status=Status.SENDING).update(
                status=Status.SUPERSEDED, finished_at=now, last_error=reason
            )
        lane_sql.mark_succeeded(
            ((s.delivery.pk, s.http_status, s.ocpi_status, s.duration_ms) for s in ok),
            now=now,
        )
        for s in parked + failures_:
            Delivery.objects.filter(pk=s.delivery.pk).update(
                last_error=s.error,
                last_http_status=s.http_status,
                last_ocpi_status=s.ocpi_status,
                last_latency_ms=s.duration_ms,
            )

        # The partner's health once for the whole round, as seen by the lane that called last.
        last = next((i.lane for i in reversed(items) if any(not s.gone for s in i.sent)), None)
        if last is not None:
            _record_health(
                last, now, ok=bool(ok), answered=bool(ok or parked), failed=failed_any,
                parked=parked,
            )  # fmt: skip
            for item in items:
                item.lane.last_success = getattr(last, "last_success", None)
                item.lane.consecutive_failures = getattr(last, "consecutive_failures", 0)

        for item in items:
            for s in item.sent:
                if not s.gone and s.outcome == Outcome.PERMANENT:
                    Delivery.objects.filter(pk=s.delivery.pk, status=Status.SENDING).update(
                        status=Status.FAILED, finished_at=now
                    )
                    logger.warning(
                        "Push %s to partner %s parked: %s", s.delivery, partner_id, s.error
                    )
                    outcomes.heal(item.lane, s.delivery, s.method)

        for item in items:
            failed = next(
                (s for s in item.sent if not s.gone and s.outcome == Outcome.TRANSIENT), None
            )
            if failed is not None:
                lane = item.lane
                delivery = failed.delivery
                first_failure = delivery.first_failure_at or now
                if outcomes.window_exceeded(first_failure, now):
                    outcomes.expire_partner(partner_id, now)
                    return
                Delivery.objects.filter(pk=delivery.pk).update(first_failure_at=first_failure)
                failures = Lane.objects.get(pk=lane.pk).failures + 1
                if reset_earlier[lane.pk]:
                    failures = 1
                lane.retry_at = now + timedelta(seconds=outcomes.backoff(failures))
                lane.failures = failures
                Lane.objects.filter(pk=lane.pk).update(retry_at=lane.retry_at, failures=failures)
                coalescing.back_to_pending(delivery, next_attempt_at=lane.retry_at)
            for delivery in item.unsent:
                coalescing.back_to_pending(delivery, next_attempt_at=None)


def _lane_memory(item: LaneRound, now: datetime, token: str, lost: bool) -> bool:
    """The lane's debounce memory (`sent_at`), its backoff reset after a success and whether
    the partner holds the Location, into `item.state` (or written now without one). True
    when an earlier round of this task had reset the backoff (not written yet) and this one
    failed: its failures count from 1 again."""
    Outcome = DeliveryAttempt.Outcome
    lane = item.lane
    calls = [s for s in item.sent if not s.gone]
    ok = [s for s in calls if s.outcome == Outcome.SUCCESS]
    parked = [s for s in calls if s.outcome == Outcome.PERMANENT]
    failed = any(s.outcome == Outcome.TRANSIENT for s in calls)
    lane_update: dict[str, Any] = {}
    quiet = settings.PUSH_LANE_QUIET
    if quiet > 0 and (ok or parked):
        t = now.timestamp()
        # Kept as long as a Delivery held by the debounce may need it.
        keep = quiet + settings.PUSH_LANE_MAX_WAIT
        sent_at = {k: v for k, v in (lane.sent_at or {}).items() if t - v < keep}
        sent_at.update((s.delivery.object_key, t) for s in ok + parked)
        lane.sent_at = lane_update["sent_at"] = sent_at
    if ok and not failed:
        lane.retry_at, lane.failures = None, 0
        lane_update.update(retry_at=None, failures=0)
    if ok and ok[-1].delivery.retire == lane.partner_holds:
        # The partner took the Location (any message of it) or its retirement, the last
        # one counting (roaming agreements: `fanout` retires only what it may hold).
        lane.partner_holds = lane_update["partner_holds"] = not ok[-1].delivery.retire
    reset_earlier = False
    state = item.state
    if state is not None:
        if failed:  # the backoff written below must not be reset later
            state.pop("retry_at", None)
            reset_earlier = state.pop("failures", None) == 0
        state.update(lane_update)
    elif lane_update and not lost:
        lane_sql.update_lane(lane.pk, token, lane_update)
    return reset_earlier


def _record_health(
    lane: Lane, now: datetime, *, ok: bool, answered: bool, failed: Sent | None, parked: list[Sent]
) -> None:
    """The partner's health: last success and failure, and the circuit breaker's count of
    transient failures in a row (`outcomes`: a partner that answers is no longer failing)."""
    health: dict[str, Any] = {}
    last_success = getattr(lane, "last_success", None)
    if ok and (last_success is None or now - last_success >= LAST_SUCCESS_RESOLUTION):
        health["last_success_at"] = now
    if parked or failed:
        health.update(last_failure_at=now, last_error=(failed or parked[-1]).error)
        if ok:
            health["last_success_at"] = now
    failing = getattr(lane, "consecutive_failures", 0)
    if failed is not None and not answered:
        health.update(
            consecutive_failures=F("consecutive_failures") + 1,
            failing_since=Coalesce(F("failing_since"), Value(now)),
        )
    elif failed is not None:  # answered, then failed: a new run of failures starts
        health.update(consecutive_failures=1, failing_since=now)
    elif answered and failing:
        health.update(consecutive_failures=0, failing_since=None)
    if not health:
        return
    if not PartnerPushState.objects.filter(partner_id=lane.partner_id).update(**health):
        first = {k: v for k, v in health.items() if not hasattr(v, "resolve_expression")}
        if failed is not None:
            first.update(consecutive_failures=1, failing_since=now)
        PartnerPushState.objects.get_or_create(partner_id=lane.partner_id, defaults=first)
    if "last_success_at" in health:
        lane.last_success = now
    if failed is not None:
        lane.consecutive_failures = 1 if answered else failing + 1
    elif answered:
        lane.consecutive_failures = 0
