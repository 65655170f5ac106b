"""Push of Locations, EVSEs and Connectors to every registered partner (locations.md §4).

Flow (docs/push.md has the why):

1. `locations.services` writes a ChangeRecord in the transaction of each change
   (`outbox.record_change`) and queues `tasks.fan_out_changes` after the commit.
2. `fan_out_changes` turns each record into one Delivery per partner that has a `locations`
   RECEIVER endpoint, merging it into that partner's pending Delivery of the same object
   (coalescing), and queues `tasks.send_lane` for each (partner, Location) lane it touched.
3. `send_lane` takes the lane's lease (a conditional UPDATE: one worker per lane, so one
   message in flight per partner and Location, in order), builds each message from the
   current database state and sends it through `pushers.client`. A transient failure puts
   the Delivery back with a backoff and the task is retried by Celery; a permanent one parks
   it as failed.
4. `sweep` (Celery beat) re-queues whatever a lost message left behind.
"""

import logging
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Prefetch, Q
from django.utils import timezone

from locations.models import EVSE, Connector, Location
from locations.serializers import connector_data, evse_data, location_data
from partners.models import InterfaceRole, Partner, PartnerEndpoint, PartnerRole, Role

from .client import OcpiCallFailed, OcpiResult, join_url, ocpi_request
from .models import (
    ChangeRecord,
    Delivery,
    DeliveryAttempt,
    FullSync,
    Lane,
    PartnerPushState,
)

logger = logging.getLogger(__name__)

Level = ChangeRecord.Level
Method = ChangeRecord.Method
Status = Delivery.Status
OPEN = [Status.PENDING, Status.SENDING]
LOCATIONS_MODULE = "locations"


def _now() -> datetime:
    return timezone.now()


def object_key(level: str, *, location_id: int, evse_id: int | None, connector_id: int | None):
    """The coalescing key of the object a change is about: one pending Delivery per key."""
    if level == Level.LOCATION:
        return f"L:{location_id}"
    if level == Level.EVSE:
        return f"E:{evse_id}"
    return f"C:{connector_id}"


# --- Who receives pushes ---------------------------------------------------------------------


def push_partner_ids() -> list[int]:
    """Registered partners that have a Locations RECEIVER endpoint.

    Paused partners are included: their changes keep being coalesced, only sending waits.
    """
    return list(
        PartnerEndpoint.objects.filter(
            identifier=LOCATIONS_MODULE,
            role=InterfaceRole.RECEIVER,
            partner__state=Partner.State.REGISTERED,
        )
        .order_by("partner_id")
        .values_list("partner_id", flat=True)
        .distinct()
    )


@dataclass(frozen=True)
class Target:
    partner_id: int
    receiver_url: str
    token: str
    base64_token: bool
    routing: dict[str, str]


def push_target(partner_id: int) -> Target | None:
    endpoint = (
        PartnerEndpoint.objects.select_related("partner")
        .filter(
            partner_id=partner_id,
            identifier=LOCATIONS_MODULE,
            role=InterfaceRole.RECEIVER,
            partner__state=Partner.State.REGISTERED,
        )
        .first()
    )
    if endpoint is None:
        return None
    partner = endpoint.partner
    # The addressee is the partner's eMSP role when it has one, else its first role.
    roles = sorted(
        PartnerRole.objects.filter(partner_id=partner_id), key=lambda r: (r.role != Role.EMSP, r.pk)
    )
    routing = {
        "OCPI-from-country-code": settings.OCPI_COUNTRY_CODE,
        "OCPI-from-party-id": settings.OCPI_PARTY_ID,
    }
    if roles:
        routing["OCPI-to-country-code"] = roles[0].country_code
        routing["OCPI-to-party-id"] = roles[0].party_id
    return Target(
        partner_id=partner_id,
        receiver_url=endpoint.url,
        token=partner.outgoing_token,
        base64_token=partner.outgoing_token_base64,
        routing=routing,
    )


def push_state(partner_id: int) -> PartnerPushState:
    state, _ = PartnerPushState.objects.get_or_create(partner_id=partner_id)
    return state


# --- Fan-out and coalescing ------------------------------------------------------------------


class _Lanes:
    """Lane rows by (partner, location), created on first use."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int], Lane] = {}

    def get(self, partner_id: int, location_id: int) -> Lane:
        key = (partner_id, location_id)
        if key not in self._cache:
            self._cache[key], _ = Lane.objects.get_or_create(
                partner_id=partner_id, location_id=location_id
            )
        return self._cache[key]


def _merge(
    *,
    lane: Lane,
    level: str,
    method: str,
    fields: Iterable[str],
    location_id: int,
    evse_id: int | None,
    connector_id: int | None,
    changed_at: datetime | None = None,
    full_sync: FullSync | None = None,
) -> bool:
    """Fold one change into the partner's pending Deliveries; False if already covered.

    - A change under a Location (or EVSE) that has a pending PUT is covered by that PUT,
      whose body is built at send time.
    - Otherwise it merges into the pending Delivery of the same object: PATCH fields add up,
      a PUT replaces a PATCH.
    - A PUT of a Location (EVSE) makes pending changes of its EVSEs/Connectors (Connectors)
      superfluous: they are marked superseded.
    """
    pending = Delivery.objects.filter(lane=lane, status=Status.PENDING)
    key = object_key(level, location_id=location_id, evse_id=evse_id, connector_id=connector_id)
    covering = []
    if level != Level.LOCATION:
        covering.append(f"L:{location_id}")
    if level == Level.CONNECTOR:
        covering.append(f"E:{evse_id}")
    if covering and pending.filter(object_key__in=covering, method=Method.PUT).exists():
        return False

    changed_at = changed_at or _now()
    existing = pending.select_for_update().filter(object_key=key).first()
    if existing is None:
        Delivery.objects.create(
            partner_id=lane.partner_id,
            lane=lane,
            level=level,
            method=method,
            fields=[] if method == Method.PUT else list(fields),
            object_key=key,
            location_id=location_id,
            evse_id=evse_id,
            connector_id=connector_id,
            full_sync=full_sync,
            queued_at=changed_at,
        )
    else:
        if method == Method.PUT:
            existing.method, existing.fields = Method.PUT, []
        elif existing.method == Method.PATCH:
            existing.fields = existing.fields + [f for f in fields if f not in existing.fields]
        existing.changes += 1
        existing.full_sync = full_sync or existing.full_sync
        existing.queued_at = max(existing.queued_at, changed_at)
        existing.save(update_fields=["method", "fields", "changes", "full_sync", "queued_at"])

    if method == Method.PUT and level != Level.CONNECTOR:
        children = pending.exclude(object_key=key)
        if level == Level.EVSE:
            children = children.filter(level=Level.CONNECTOR, evse_id=evse_id)
        children.update(
            status=Status.SUPERSEDED,
            finished_at=_now(),
            last_error=f"Covered by the PUT of {key}.",
        )
    return True


def fan_out_changes(change_ids: Iterable[int]) -> list[int]:
    """Turn change records into Deliveries; returns the lanes to send (queued on commit).

    Idempotent: a record is fanned out once (claimed with its `fanned_out_at` in the same
    transaction; PostgreSQL skips rows another worker is fanning out right now).
    """
    with transaction.atomic():
        records = list(
            ChangeRecord.objects.select_for_update(skip_locked=True)
            .filter(pk__in=list(change_ids), fanned_out_at__isnull=True)
            .order_by("id")
        )
        if not records:
            return []
        ChangeRecord.objects.filter(pk__in=[r.pk for r in records]).update(fanned_out_at=_now())
        partner_ids = push_partner_ids()
        lanes = _Lanes()
        touched: dict[int, None] = {}
        for record in records:
            if record.level == Level.CONNECTOR and record.connector_id is None:
                continue  # deleted since; its deletion was recorded as a PUT of the EVSE
            for partner_id in partner_ids:
                lane = lanes.get(partner_id, record.location_id)
                _merge(
                    lane=lane,
                    level=record.level,
                    method=record.method,
                    fields=record.fields,
                    location_id=record.location_id,
                    evse_id=record.evse_id,
                    connector_id=record.connector_id,
                    changed_at=record.last_updated,
                )
                touched[lane.pk] = None
        lane_ids = list(touched)
        transaction.on_commit(lambda: enqueue_lanes(lane_ids))
    return lane_ids


# --- Sending ----------------------------------------------------------------------------------


@dataclass
class Message:
    method: str
    segments: list[str]
    body: dict[str, Any]


def build_message(delivery: Delivery) -> Message | None:
    """The OCPI message for a Delivery, from the current state; None if there is nothing to
    send any more (a Connector deleted since: its EVSE's PUT carries the news)."""
    method, level, fields = delivery.method, delivery.level, delivery.fields
    if level == Level.LOCATION:
        evses: Any = (
            EVSE.objects.order_by("row_id").prefetch_related(
                Prefetch("connectors", queryset=Connector.objects.order_by("row_id"))
            )
            if method == Method.PUT
            else EVSE.objects.none()  # a PATCH of Location columns needs no EVSEs
        )
        location = Location.objects.prefetch_related(Prefetch("evses", queryset=evses)).get(
            pk=delivery.location_id
        )
        data = location_data(location)
        segments = [location.country_code, location.party_id, location.id]
    elif level == Level.EVSE:
        evse = EVSE.objects.select_related("location").get(pk=delivery.evse_id)
        location = evse.location
        connectors = evse.connectors.order_by("row_id") if method == Method.PUT else []
        data = evse_data(evse, connectors=connectors)
        segments = [location.country_code, location.party_id, location.id, evse.uid]
    else:
        if delivery.connector_id is None:
            return None
        connector = Connector.objects.select_related("evse__location").get(pk=delivery.connector_id)
        evse, location = connector.evse, connector.evse.location
        data = connector_data(connector)
        segments = [location.country_code, location.party_id, location.id, evse.uid, connector.id]

    if method == Method.PATCH:
        missing = [name for name in fields if name not in data]
        if not missing:
            body = {name: data[name] for name in fields}
            body["last_updated"] = data["last_updated"]
            return Message(Method.PATCH, segments, body)
        # A PATCH cannot clear a field (locations.md §4.2): an emptied field needs a PUT.
        if level == Level.LOCATION:
            return build_message(
                Delivery(level=level, method=Method.PUT, location_id=delivery.location_id)
            )
        if level == Level.EVSE:
            data = evse_data(evse, connectors=evse.connectors.order_by("row_id"))
    return Message(Method.PUT, segments, data)


@dataclass
class LaneResult:
    sent: int = 0
    # Seconds until the lane's head may be tried again, when *this* run's attempt failed
    # transiently (only that run schedules the retry, so retries do not multiply).
    retry_in: float | None = None
    outcomes: list[str] = field(default_factory=list)


def _claim_lane(lane_id: int) -> str | None:
    token = str(uuid.uuid4())
    now = _now()
    claimed = (
        Lane.objects.filter(pk=lane_id)
        .filter(Q(busy_until__isnull=True) | Q(busy_until__lt=now))
        .update(busy_until=now + timedelta(seconds=settings.PUSH_LANE_LEASE), claim_token=token)
    )
    return token if claimed else None


def _renew_lane(lane_id: int, token: str) -> bool:
    lease = timedelta(seconds=settings.PUSH_LANE_LEASE)
    return bool(
        Lane.objects.filter(pk=lane_id, claim_token=token).update(busy_until=_now() + lease)
    )


def _release_lane(lane_id: int, token: str) -> None:
    Lane.objects.filter(pk=lane_id, claim_token=token).update(busy_until=None, claim_token="")


def _head(lane_id: int) -> Delivery | None:
    return (
        Delivery.objects.filter(lane_id=lane_id, status__in=OPEN)
        .order_by("queued_at", "id")
        .first()
    )


def _lane_is_due(lane_id: int, now: datetime) -> bool:
    return (
        Lane.objects.filter(pk=lane_id)
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .exists()
    )


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
        try:
            stop = _drain(lane_id, token, result, max_messages)
        finally:
            _release_lane(lane_id, token)
        if stop or _head(lane_id) is None or not _lane_is_due(lane_id, _now()):
            return result
    enqueue_lanes([lane_id])  # more to do: give other lanes a turn first
    return result


def _drain(lane_id: int, token: str, result: LaneResult, max_messages: int) -> bool:
    """Send due heads until the lane is empty or waits; True means do not look again."""
    lane = Lane.objects.get(pk=lane_id)
    state = PartnerPushState.objects.filter(partner_id=lane.partner_id).first()
    if state is not None and state.push_paused:
        return True
    if lane.retry_at is not None and lane.retry_at > _now():
        return False  # backing off after a transient failure
    target = push_target(lane.partner_id)
    while result.sent < max_messages:
        head = _head(lane_id)
        if head is None:
            return False
        now = _now()
        if target is None:
            _finish(head, Status.FAILED, "The partner is not registered or has no Locations "
                    "RECEIVER endpoint any more.")  # fmt: skip
            continue
        if head.status == Status.SENDING:
            # We hold the lane, so this was left by a worker that died mid-send.
            _back_to_pending(head, next_attempt_at=None)
            continue
        if not _renew_lane(lane_id, token):
            return True  # our lease ran out and another worker took the lane
        if not Delivery.objects.filter(pk=head.pk, status=Status.PENDING).update(
            status=Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now
        ):
            continue
        head.refresh_from_db()
        outcome = _send(head, target)
        result.sent += 1
        result.outcomes.append(outcome)
        if outcome == DeliveryAttempt.Outcome.TRANSIENT:
            lane.refresh_from_db()
            if lane.retry_at is not None:
                result.retry_in = max(0.0, (lane.retry_at - _now()).total_seconds())
            return True
    return False


def _send(delivery: Delivery, target: Target) -> str:
    started = _now()
    try:
        message = build_message(delivery)
    except (Location.DoesNotExist, EVSE.DoesNotExist, Connector.DoesNotExist):
        message = None
    if message is None:
        _finish(delivery, Status.SUPERSEDED, "The object is gone; its parent's PUT carries it.")
        return DeliveryAttempt.Outcome.SUCCESS
    url = join_url(target.receiver_url, *message.segments)
    result: OcpiResult | None = None
    try:
        result = ocpi_request(
            message.method,
            url,
            token=target.token,
            base64_token=target.base64_token,
            body=message.body,
            routing=target.routing,
        )
    except OcpiCallFailed as exc:
        Outcome = DeliveryAttempt.Outcome
        outcome = Outcome.TRANSIENT if exc.transient else Outcome.PERMANENT
        error = exc.reason
    else:
        # Success is HTTP 2xx *and* OCPI 1000 (locations.md §4.1); anything else is an error.
        if 200 <= result.http_status < 300 and result.ocpi_status == 1000:
            outcome, error = DeliveryAttempt.Outcome.SUCCESS, ""
        elif result.transient:
            outcome, error = DeliveryAttempt.Outcome.TRANSIENT, result.describe()
        else:
            outcome, error = DeliveryAttempt.Outcome.PERMANENT, result.describe()
    _record_attempt(delivery, message, url, started, outcome, error, result)
    return outcome


def _backoff(attempts: int) -> float:
    """Exponential backoff with jitter: BASE * 2**(attempts-1), capped, then a random point
    in its upper half, so that many lanes failing together do not retry in lockstep while
    each still waits at least half its step."""
    step = min(
        settings.PUSH_RETRY_BACKOFF_MAX,
        settings.PUSH_RETRY_BACKOFF_BASE * 2 ** max(0, attempts - 1),
    )
    return random.uniform(step / 2, step)  # noqa: S311 - jitter, not security


def _record_attempt(delivery, message, url, started, outcome, error, result) -> None:
    now = _now()
    http_status = result.http_status if result else None
    ocpi_status = result.ocpi_status if result else None
    latency = result.duration_ms if result else None
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            partner_id=delivery.partner_id,
            started_at=started,
            method=message.method,
            url=url[:500],
            outcome=outcome,
            http_status=http_status,
            ocpi_status=ocpi_status,
            duration_ms=latency,
            error=error[:500],
            request_id=result.request_id if result else "",
        )
        Delivery.objects.filter(pk=delivery.pk).update(
            last_error=error[:500],
            last_http_status=http_status,
            last_ocpi_status=ocpi_status,
            last_latency_ms=latency,
        )
        state = push_state(delivery.partner_id)
        if outcome == DeliveryAttempt.Outcome.SUCCESS:
            _finish(delivery, Status.SUCCEEDED, "")
            Lane.objects.filter(pk=delivery.lane_id).update(retry_at=None, failures=0)
            state.last_success_at = now
            state.save(update_fields=["last_success_at"])
            return
        state.last_failure_at, state.last_error = now, error[:500]
        state.save(update_fields=["last_failure_at", "last_error"])
        if outcome == DeliveryAttempt.Outcome.PERMANENT:
            _finish(delivery, Status.FAILED, error)
            logger.warning("Push %s to partner %s parked: %s", delivery, delivery.partner_id, error)
            if message.method == Method.PATCH:
                # transport.md §7: when a PATCH fails the receiver may not have the object;
                # send the whole Location (a PUT that fails in turn is only parked).
                _merge(
                    lane=Lane.objects.get(pk=delivery.lane_id),
                    level=Level.LOCATION,
                    method=Method.PUT,
                    fields=[],
                    location_id=delivery.location_id,
                    evse_id=None,
                    connector_id=None,
                )
            return
        first_failure = delivery.first_failure_at or now
        window = timedelta(seconds=settings.PUSH_RETRY_WINDOW)
        if now - first_failure > window:
            _expire_partner(delivery.partner_id, now)
            return
        Delivery.objects.filter(pk=delivery.pk).update(first_failure_at=first_failure)
        lane = Lane.objects.get(pk=delivery.lane_id)
        retry_at = now + timedelta(seconds=_backoff(lane.failures + 1))
        Lane.objects.filter(pk=lane.pk).update(retry_at=retry_at, failures=F("failures") + 1)
        _back_to_pending(delivery, next_attempt_at=retry_at)


def _finish(delivery: Delivery, status: str, error: str) -> None:
    update: dict[str, Any] = {"status": status, "finished_at": _now()}
    if error:
        update["last_error"] = error[:500]
    Delivery.objects.filter(pk=delivery.pk).update(**update)


def _back_to_pending(delivery: Delivery, *, next_attempt_at: datetime | None) -> None:
    """Make a Delivery pending again; a newer pending one of the same object (created while
    this one was in flight) is folded into it, and it takes the newer one's place."""
    with transaction.atomic():
        newer = (
            Delivery.objects.select_for_update()
            .filter(partner_id=delivery.partner_id, object_key=delivery.object_key)
            .filter(status=Status.PENDING)
            .exclude(pk=delivery.pk)
            .first()
        )
        delivery.refresh_from_db()
        method, fields = delivery.method, list(delivery.fields)
        changes, queued_at = delivery.changes, delivery.queued_at
        if newer is not None:
            queued_at = newer.queued_at
            if newer.method == Method.PUT:
                method, fields = Method.PUT, []
            elif method == Method.PATCH:
                fields += [f for f in newer.fields if f not in fields]
            changes += newer.changes
            Delivery.objects.filter(pk=newer.pk).update(
                status=Status.SUPERSEDED,
                finished_at=_now(),
                last_error=f"Merged into delivery #{delivery.pk}.",
            )
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Status.PENDING,
            method=method,
            fields=fields,
            changes=changes,
            queued_at=queued_at,
            next_attempt_at=next_attempt_at,
        )


def _expire_partner(partner_id: int, now: datetime) -> None:
    """The retry window ran out: stop replaying, schedule a full sync for later."""
    expired = Delivery.objects.filter(partner_id=partner_id, status__in=OPEN).update(
        status=Status.EXPIRED,
        finished_at=now,
        last_error="Retry window exceeded; a full sync replaces it.",
    )
    PartnerPushState.objects.filter(partner_id=partner_id).update(
        needs_full_sync=True,
        full_sync_after=now + timedelta(seconds=settings.PUSH_FULL_SYNC_RETRY_INTERVAL),
    )
    logger.warning(
        "Partner %s unreachable for longer than the retry window: %d deliveries expired, "
        "full sync scheduled.",
        partner_id,
        expired,
    )


# --- Queueing --------------------------------------------------------------------------------


def enqueue_lanes(lane_ids: Iterable[int]) -> int:
    """Queue `send_lane` for each lane; never raises (the sweeper catches up)."""
    from .tasks import send_lane as send_lane_task

    queued = 0
    for lane_id in lane_ids:
        try:
            send_lane_task.apply_async(args=[lane_id])
            queued += 1
        except Exception:  # noqa: BLE001 - any broker error; the sweeper re-queues the lane
            logger.warning("Could not queue lane %s; the sweeper will.", lane_id, exc_info=True)
            break
    return queued


# --- Sweeper ---------------------------------------------------------------------------------


@dataclass
class SweepResult:
    change_records: int = 0
    lanes: int = 0
    full_syncs: int = 0
    deleted: int = 0


def sweep(*, grace: float | None = None, batch: int = 1000) -> SweepResult:
    """Re-queue work whose message was lost: change records not fanned out and lanes whose
    head is due, both for longer than `grace` seconds; start the full syncs that are due;
    forget old finished deliveries."""
    from .outbox import enqueue_fan_out

    now = _now()
    grace_delta = timedelta(seconds=settings.PUSH_SWEEP_GRACE if grace is None else grace)
    cutoff = now - grace_delta
    result = SweepResult()

    ids = list(
        ChangeRecord.objects.filter(fanned_out_at__isnull=True, created_at__lte=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[: batch * 10]
    )
    for start in range(0, len(ids), batch):
        if not enqueue_fan_out(ids[start : start + batch]):
            break
        result.change_records += len(ids[start : start + batch])

    paused = PartnerPushState.objects.filter(push_paused=True).values("partner_id")
    lane_ids = list(
        Delivery.objects.filter(status__in=OPEN)
        .filter(
            Q(next_attempt_at__isnull=True, created_at__lte=cutoff) | Q(next_attempt_at__lte=cutoff)
        )
        .filter(Q(lane__busy_until__isnull=True) | Q(lane__busy_until__lt=now))
        .exclude(partner_id__in=paused)
        .order_by("lane_id")
        .values_list("lane_id", flat=True)
        .distinct()[:batch]
    )
    result.lanes = enqueue_lanes(lane_ids)

    for state in PartnerPushState.objects.filter(
        needs_full_sync=True, push_paused=False, full_sync_after__lte=now
    ):
        if full_sync_start(partner_id=state.partner_id, requested_by="after outage"):
            result.full_syncs += 1

    keep = now - timedelta(days=settings.PUSH_KEEP_DAYS)
    DeliveryAttempt.objects.filter(started_at__lt=keep).delete()
    result.deleted, _ = (
        Delivery.objects.exclude(status__in=[*OPEN, Status.FAILED])
        .filter(finished_at__lt=keep)
        .delete()
    )
    return result


# --- Full sync -------------------------------------------------------------------------------


def full_sync_start(*, partner_id: int, requested_by: str = "") -> FullSync | None:
    """Queue a PUT of every Location to one partner (subsuming its pending changes).

    Returns None when the partner cannot receive pushes.
    """
    if push_target(partner_id) is None:
        return None
    with transaction.atomic():
        sync = FullSync.objects.create(partner_id=partner_id, requested_by=requested_by[:100])
        lanes = _Lanes()
        lane_ids = []
        for location_id in Location.objects.order_by("row_id").values_list("pk", flat=True):
            lane = lanes.get(partner_id, location_id)
            _merge(
                lane=lane,
                level=Level.LOCATION,
                method=Method.PUT,
                fields=[],
                location_id=location_id,
                evse_id=None,
                connector_id=None,
                full_sync=sync,
            )
            lane_ids.append(lane.pk)
        sync.total = len(lane_ids)
        sync.save(update_fields=["total"])
        push_state(partner_id)
        PartnerPushState.objects.filter(partner_id=partner_id).update(
            needs_full_sync=False, full_sync_after=None
        )
        transaction.on_commit(lambda: enqueue_lanes(lane_ids))
    return sync


def full_sync_progress(sync: FullSync) -> tuple[int, int]:
    """(done, total) of a full sync: done counts Locations no longer waiting to be sent."""
    waiting = Delivery.objects.filter(full_sync=sync, status__in=OPEN).count()
    return sync.total - waiting, sync.total


# --- Operator actions --------------------------------------------------------------------------


def deliveries_retry_now(deliveries: Iterable[Delivery]) -> int:
    """Send again as soon as possible: waiting ones lose their backoff, parked ones
    (failed, expired, discarded) become pending again unless a newer pending one exists."""
    lane_ids: dict[int, None] = {}
    count = 0
    with transaction.atomic():
        for delivery in deliveries:
            if delivery.status == Status.PENDING:
                Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
            elif delivery.status in (Status.FAILED, Status.EXPIRED, Status.DISCARDED):
                if Delivery.objects.filter(
                    partner_id=delivery.partner_id,
                    object_key=delivery.object_key,
                    status=Status.PENDING,
                ).exists():
                    continue
                Delivery.objects.filter(pk=delivery.pk).update(
                    status=Status.PENDING,
                    next_attempt_at=None,
                    first_failure_at=None,
                    finished_at=None,
                )
            else:
                continue
            count += 1
            lane_ids[delivery.lane_id] = None
        Lane.objects.filter(pk__in=list(lane_ids)).update(retry_at=None)
        transaction.on_commit(lambda: enqueue_lanes(list(lane_ids)))
    return count


def partner_retry_now(partner_id: int) -> int:
    return deliveries_retry_now(
        Delivery.objects.filter(partner_id=partner_id, status=Status.PENDING)
    )


def deliveries_discard(deliveries: Iterable[Delivery]) -> int:
    ids = [d.pk for d in deliveries]
    return Delivery.objects.filter(
        pk__in=ids, status__in=[Status.PENDING, Status.FAILED, Status.EXPIRED]
    ).update(status=Status.DISCARDED, finished_at=_now())


def partner_set_paused(partner_id: int, *, paused: bool) -> None:
    push_state(partner_id)
    PartnerPushState.objects.filter(partner_id=partner_id).update(push_paused=paused)
    if not paused:
        lane_ids = list(
            Delivery.objects.filter(partner_id=partner_id, status__in=OPEN)
            .values_list("lane_id", flat=True)
            .distinct()
        )
        transaction.on_commit(lambda: enqueue_lanes(lane_ids))
