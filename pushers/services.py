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
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from locations.models import EVSE, Connector, Location
from locations.serializers import connector_data, evse_data, location_data
from partners.models import InterfaceRole, Partner, PartnerEndpoint, PartnerRole, Role

from . import lane_sql
from .client import OcpiCallFailed, OcpiResult, join_url, ocpi_request
from .lane_sql import LOCATIONS_MODULE
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
OPEN = Delivery.OPEN


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

# Change records one fan-out task claims at most: its own, then any others not fanned out
# yet, so that a burst of saves is merged by a few task runs instead of one run per save.
FAN_OUT_BATCH = 500


@dataclass
class Change:
    """One change to fold into a partner's pending Deliveries."""

    level: str
    method: str
    fields: list[str]
    location_id: int
    evse_id: int | None
    connector_id: int | None
    changed_at: datetime
    full_sync: FullSync | None = None


def _lock_lanes(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Lane]:
    """Lane rows of these (partner, Location) pairs, created if missing, locked for the
    transaction (in primary key order), so that fan-outs of the same lanes run one after the
    other and each sees the pending Deliveries the other committed."""
    wanted = set(pairs)
    if not wanted:
        return {}
    partner_ids = sorted({p for p, _ in wanted})
    location_ids = sorted({loc for _, loc in wanted})
    lanes = Lane.objects.filter(partner_id__in=partner_ids, location_id__in=location_ids)
    existing = set(lanes.values_list("partner_id", "location_id"))
    missing = sorted(wanted - existing)
    if missing:
        Lane.objects.bulk_create(
            [Lane(partner_id=p, location_id=loc) for p, loc in missing], ignore_conflicts=True
        )
    found = {
        (lane.partner_id, lane.location_id): lane
        for lane in lanes.select_for_update().order_by("pk")
    }
    return {pair: found[pair] for pair in wanted}


class _Merger:
    """The pending Deliveries of some locked lanes, loaded with one query; changes are folded
    in memory and written back with a few bulk statements (`save`)."""

    def __init__(self, lanes: Iterable[Lane]) -> None:
        self.lanes = {lane.pk: lane for lane in lanes}
        self.pending: dict[int, dict[str, Delivery]] = {pk: {} for pk in self.lanes}
        for delivery in Delivery.objects.select_for_update().filter(
            lane_id__in=list(self.lanes), status=Status.PENDING
        ):
            self.pending[delivery.lane_id][delivery.object_key] = delivery
        self.changed: dict[int, Delivery] = {}
        self.superseded: dict[str, list[int]] = {}

    def merge(self, lane: Lane, change: Change) -> bool:
        """Fold one change into the lane's pending Deliveries; False if already covered.

        - A change under a Location (or EVSE) that has a pending PUT is covered by that PUT,
          whose body is built at send time.
        - Otherwise it merges into the pending Delivery of the same object: PATCH fields add
          up, a PUT replaces a PATCH.
        - A PUT of a Location (EVSE) makes pending changes of its EVSEs/Connectors
          (Connectors) superfluous: they are marked superseded.
        """
        pending = self.pending[lane.pk]
        level, method = change.level, change.method
        key = object_key(
            level,
            location_id=change.location_id,
            evse_id=change.evse_id,
            connector_id=change.connector_id,
        )
        covering = []
        if level != Level.LOCATION:
            covering.append(f"L:{change.location_id}")
        if level == Level.CONNECTOR:
            covering.append(f"E:{change.evse_id}")
        for covering_key in covering:
            parent = pending.get(covering_key)
            if parent is not None and parent.method == Method.PUT:
                return False

        existing = pending.get(key)
        if existing is None:
            pending[key] = Delivery(
                partner_id=lane.partner_id,
                lane=lane,
                level=level,
                method=method,
                fields=[] if method == Method.PUT else list(change.fields),
                object_key=key,
                location_id=change.location_id,
                evse_id=change.evse_id,
                connector_id=change.connector_id,
                full_sync=change.full_sync,
                queued_at=change.changed_at,
            )
        else:
            if method == Method.PUT:
                existing.method, existing.fields = Method.PUT, []
            elif existing.method == Method.PATCH:
                existing.fields = existing.fields + [
                    f for f in change.fields if f not in existing.fields
                ]
            existing.changes += 1
            existing.full_sync = change.full_sync or existing.full_sync
            existing.queued_at = max(existing.queued_at, change.changed_at)
            if existing.pk is not None:
                self.changed[existing.pk] = existing

        if method == Method.PUT and level != Level.CONNECTOR:
            for other_key, other in list(pending.items()):
                if other_key == key:
                    continue
                if level == Level.EVSE and not (
                    other.level == Level.CONNECTOR and other.evse_id == change.evse_id
                ):
                    continue
                del pending[other_key]
                if other.pk is not None:
                    self.changed.pop(other.pk, None)
                    self.superseded.setdefault(f"Covered by the PUT of {key}.", []).append(other.pk)
        return True

    def save(self) -> None:
        now = _now()
        for error, pks in self.superseded.items():
            Delivery.objects.filter(pk__in=pks).update(
                status=Status.SUPERSEDED, finished_at=now, last_error=error
            )
        if self.changed:
            Delivery.objects.bulk_update(
                list(self.changed.values()),
                ["method", "fields", "changes", "full_sync", "queued_at"],
            )
        new = [d for lane in self.pending.values() for d in lane.values() if d.pk is None]
        if new:
            Delivery.objects.bulk_create(new)


def _merge_changes(items: Iterable[tuple[int, Change]]) -> list[Lane]:
    """Fold (partner id, change) pairs into the pending Deliveries; returns the lanes touched.
    Must run inside a transaction (the lanes stay locked until it ends)."""
    items = list(items)
    lanes = _lock_lanes((partner_id, change.location_id) for partner_id, change in items)
    merger = _Merger(lanes.values())
    touched: dict[int, Lane] = {}
    for partner_id, change in items:
        lane = lanes[(partner_id, change.location_id)]
        merger.merge(lane, change)
        touched[lane.pk] = lane
    merger.save()
    return list(touched.values())


def _merge(*, lane: Lane, full_sync: FullSync | None = None, **change: Any) -> bool:
    """Fold one change into one lane (see `_Merger.merge`)."""
    with transaction.atomic():
        (locked,) = _lock_lanes([(lane.partner_id, lane.location_id)]).values()
        merger = _Merger([locked])
        merged = merger.merge(
            locked,
            Change(
                changed_at=change.pop("changed_at", None) or _now(), full_sync=full_sync, **change
            ),
        )
        merger.save()
    return merged


def _lanes_to_wake(lanes: Iterable[Lane]) -> list[int]:
    """Lanes worth a `send_lane` task now: not those waiting for a deferred send already
    queued (throttle) or for the retry of a transient failure (that task sends them)."""
    now = _now()
    return [
        lane.pk
        for lane in lanes
        if not (lane.next_send_at is not None and lane.next_send_at > now)
        and not (lane.retry_at is not None and lane.retry_at > now)
    ]


def fan_out_changes(change_ids: Iterable[int], *, batch: int = FAN_OUT_BATCH) -> list[int]:
    """Turn change records into Deliveries; returns the lanes to send (queued on commit).

    Claims the given records and, in the same run, up to `batch` others not fanned out yet
    (a burst of saves is merged by few runs; the tasks of records already claimed find
    nothing to do). Idempotent: a record is fanned out once (claimed with its
    `fanned_out_at` in the same transaction; PostgreSQL skips rows another worker is fanning
    out right now).
    """
    ids = list(change_ids)
    with transaction.atomic():
        claimable = ChangeRecord.objects.select_for_update(skip_locked=True).filter(
            fanned_out_at__isnull=True
        )
        records = list(claimable.filter(pk__in=ids).order_by("id")[:batch])
        if not records:
            return []  # done by another run already (or being done right now)
        if len(records) < batch:
            records += list(claimable.exclude(pk__in=ids).order_by("id")[: batch - len(records)])
            records.sort(key=lambda r: r.pk)
        ChangeRecord.objects.filter(pk__in=[r.pk for r in records]).update(fanned_out_at=_now())
        partner_ids = push_partner_ids()
        items = [
            (
                partner_id,
                Change(
                    level=record.level,
                    method=record.method,
                    fields=record.fields,
                    location_id=record.location_id,
                    evse_id=record.evse_id,
                    connector_id=record.connector_id,
                    changed_at=record.last_updated,
                ),
            )
            for record in records
            # A Connector deleted since: its deletion was recorded as a PUT of the EVSE.
            if not (record.level == Level.CONNECTOR and record.connector_id is None)
            for partner_id in partner_ids
        ]
        lanes = _merge_changes(items)
        lane_ids = [lane.pk for lane in lanes]
        wake = _lanes_to_wake(lanes)
        transaction.on_commit(lambda: enqueue_lanes(wake))
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


def build_messages(location_id: int, deliveries: list[Delivery]) -> dict[int, Message | None]:
    """`build_message` for several Deliveries of one Location, from one read of the current
    state: the whole tree (3 queries) when a PUT or a Connector is among them, else the
    EVSEs named (1 query) and/or the Location's columns (1 query)."""
    out: dict[int, Message | None] = {}
    evses: dict[int, EVSE] = {}
    connectors: dict[int, tuple[Connector, EVSE]] | None = None
    location: Location | None = None
    if any(d.method == Method.PUT or d.level == Level.CONNECTOR for d in deliveries):
        location = (
            Location.objects.prefetch_related(
                Prefetch(
                    "evses",
                    queryset=EVSE.objects.order_by("row_id").prefetch_related(
                        Prefetch("connectors", queryset=Connector.objects.order_by("row_id"))
                    ),
                )
            )
            .filter(pk=location_id)
            .first()
        )
        if location is not None:
            evses = {evse.pk: evse for evse in location.evses.all()}
            connectors = {c.pk: (c, e) for e in evses.values() for c in e.connectors.all()}
    else:
        evse_ids = [d.evse_id for d in deliveries if d.level == Level.EVSE]
        if evse_ids:
            rows = EVSE.objects.select_related("location").filter(pk__in=evse_ids)
            evses = {e.pk: e for e in rows}
        if any(d.level == Level.LOCATION for d in deliveries):
            location = (
                Location.objects.prefetch_related(Prefetch("evses", queryset=EVSE.objects.none()))
                .filter(pk=location_id)
                .first()
            )
        elif evses:
            location = next(iter(evses.values())).location
    for delivery in deliveries:
        if location is None:
            out[delivery.pk] = None
            continue
        try:
            out[delivery.pk] = _message_from(delivery, location, evses, connectors)
        except (KeyError, Location.DoesNotExist, EVSE.DoesNotExist, Connector.DoesNotExist):
            out[delivery.pk] = None
    return out


def _message_from(delivery, location, evses, connectors) -> Message | None:
    method, level, fields = delivery.method, delivery.level, delivery.fields
    segments = [location.country_code, location.party_id, location.id]
    tree = connectors is not None
    if level == Level.LOCATION:
        data = location_data(location)
    elif level == Level.EVSE:
        evse = evses[delivery.evse_id]
        put = method == Method.PUT
        data = evse_data(evse, connectors=list(evse.connectors.all()) if put else [])
        segments.append(evse.uid)
    else:
        if delivery.connector_id is None or connectors is None:
            return None
        connector, evse = connectors[delivery.connector_id]
        data = connector_data(connector)
        segments += [evse.uid, connector.id]
    if method == Method.PATCH:
        if all(name in data for name in fields):
            body = {name: data[name] for name in fields}
            body["last_updated"] = data["last_updated"]
            return Message(Method.PATCH, segments, body)
        # A PATCH cannot clear a field (locations.md §4.2): an emptied field needs a PUT.
        if level != Level.CONNECTOR and not tree:
            return build_message(delivery)  # needs what was not read (EVSEs, Connectors)
        if level == Level.EVSE:
            data = evse_data(evse, connectors=list(evse.connectors.all()))
    return Message(Method.PUT, segments, data)


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
    now = _now()
    until = now + timedelta(seconds=settings.PUSH_LANE_LEASE)
    return token if lane_sql.claim(lane_id, token, now=now, until=until) else None


def _renew_lane(lane_id: int, token: str) -> bool:
    lease = timedelta(seconds=settings.PUSH_LANE_LEASE)
    return bool(lane_sql.update_lane(lane_id, token, {"busy_until": _now() + lease}))


def _release_lane(lane_id: int, token: str, state: dict[str, Any] | None = None) -> None:
    """Let go of the lease, writing the lane's pending state (`state`: the debounce's
    `sent_at`, the backoff reset after a success – see `_record`) in the same UPDATE.

    The look for work left (`_has_due_work`) stays a statement of its own, after this one
    has committed: folded into it (UPDATE … RETURNING EXISTS(…)) its snapshot would predate
    our commit, so a Delivery committed meanwhile whose task found the lane still held could
    be left for the sweeper."""
    lane_sql.update_lane(lane_id, token, {"busy_until": None, "claim_token": "", **(state or {})})


def _has_due_work(lane_id: int) -> bool:
    return lane_sql.has_due_work(lane_id, now=_now())


def _lane_target(lane: Lane) -> Target | None:
    partner = lane.partner
    if partner.state != Partner.State.REGISTERED or lane.receiver_url is None:
        return None
    routing = {
        "OCPI-from-country-code": settings.OCPI_COUNTRY_CODE,
        "OCPI-from-party-id": settings.OCPI_PARTY_ID,
    }
    if lane.to_country is not None:
        routing["OCPI-to-country-code"] = lane.to_country
        routing["OCPI-to-party-id"] = lane.to_party
    return Target(
        partner_id=partner.pk,
        receiver_url=lane.receiver_url,
        token=partner.outgoing_token,
        base64_token=partner.outgoing_token_base64,
        routing=routing,
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
        state: dict[str, Any] = {}
        stop = True
        try:
            stop = _drain(lane_id, token, result, max_messages, state)
        finally:
            _release_lane(lane_id, token, state)
        if stop or not _has_due_work(lane_id):
            return result
    enqueue_lanes([lane_id])  # more to do: give other lanes a turn first
    return result


def _hold_until(lane: Lane, delivery: Delivery, t: float) -> float | None:
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


def _throttle(lane: Lane, deliveries: list[Delivery], now: datetime):
    """The leading Deliveries that may go now, and when the next one may (epoch seconds) if
    it is held by the debounce (`_hold_until`). The lane keeps its order: what queues behind
    a held Delivery waits too (a Delivery that keeps changing moves to the back, since the
    lane is ordered by the newest change)."""
    t = now.timestamp()
    for i, delivery in enumerate(deliveries):
        due = _hold_until(lane, delivery, t)
        if due is not None:
            return deliveries[:i], due
    return deliveries, None


def _defer(lane: Lane, due: float, now: datetime) -> None:
    """Queue the lane's deferred send (the debounce's trailing edge) for `due`, once: the
    moment is stored on the lane, and a task already queued for it (or earlier) is enough."""
    due_at = datetime.fromtimestamp(due, tz=UTC)
    if lane.next_send_at is not None and now < lane.next_send_at <= due_at:
        return
    Lane.objects.filter(pk=lane.pk).update(next_send_at=due_at)
    lane.next_send_at = due_at
    enqueue_lanes([lane.pk], countdown=max(0.0, due - now.timestamp()))


@dataclass
class _Sent:
    delivery: Delivery
    message: Message | None
    url: str = ""
    started: datetime | None = None
    outcome: str = DeliveryAttempt.Outcome.SUCCESS
    error: str = ""
    result: OcpiResult | None = None


def _drain(
    lane_id: int, token: str, result: LaneResult, max_messages: int, state: dict[str, Any]
) -> bool:
    """Send due Deliveries in rounds of up to LANE_BATCH, until the lane is empty or waits;
    True means do not look again (paused, backing off, throttled, or the lease is lost).
    `state` collects lane columns to write when the lease is released (`_record`)."""
    leased_until = time.monotonic() + settings.PUSH_LANE_LEASE
    call_max = settings.OCPI_HTTP_CONNECT_TIMEOUT + settings.OCPI_HTTP_READ_TIMEOUT + 1
    lane: Lane | None = None
    target: Target | None = None
    while result.sent < max_messages:
        now = _now()
        limit = min(LANE_BATCH, max_messages - result.sent)
        if lane is None:
            # First round: the lane and its partner come with its Deliveries (one query).
            lane, deliveries = lane_sql.read_lane(lane_id, limit)
            if lane is None:
                return False
            if lane.paused:
                return True
            target = _lane_target(lane)
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
                _back_to_pending(delivery, next_attempt_at=None)
            continue
        due, next_at = _throttle(lane, deliveries, now)
        if not due:
            _defer(lane, next_at, now)
            return True
        # Read again after marking: a fan-out may have merged changes in just before the
        # UPDATE; from now on new changes make new pending Deliveries.
        batch = lane_sql.mark_sending([d.pk for d in due], now=now)
        messages = build_messages(lane.location_id, batch)
        sent: list[_Sent] = []
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
        _record(lane, token, sent, unsent, lost=lost, state=state)
        if lost:
            return True
        if sent and sent[-1].outcome == DeliveryAttempt.Outcome.TRANSIENT:
            if lane.retry_at is not None:
                result.retry_in = max(0.0, (lane.retry_at - _now()).total_seconds())
            return True
        if len(deliveries) < limit:
            # The lane was empty behind this round; what came since is found by the caller's
            # look after releasing the lease (`_has_due_work`), one query saved per lane.
            return False
    return False


def _send(delivery: Delivery, message: Message | None, target: Target) -> _Sent:
    item = _Sent(delivery=delivery, message=message, started=_now())
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
        Outcome = DeliveryAttempt.Outcome
        item.outcome = Outcome.TRANSIENT if exc.transient else Outcome.PERMANENT
        item.error = exc.reason[:500]
        return item
    result = item.result
    # Success is HTTP 2xx *and* OCPI 1000 (locations.md §4.1); anything else is an error.
    if 200 <= result.http_status < 300 and result.ocpi_status == 1000:
        item.outcome = DeliveryAttempt.Outcome.SUCCESS
    elif result.transient:
        item.outcome, item.error = DeliveryAttempt.Outcome.TRANSIENT, result.describe()[:500]
    else:
        item.outcome, item.error = DeliveryAttempt.Outcome.PERMANENT, result.describe()[:500]
    return item


def _backoff(attempts: int) -> float:
    """Exponential backoff with jitter: BASE * 2**(attempts-1), capped, then a random point
    in its upper half, so that many lanes failing together do not retry in lockstep while
    each still waits at least half its step."""
    step = min(
        settings.PUSH_RETRY_BACKOFF_MAX,
        settings.PUSH_RETRY_BACKOFF_BASE * 2 ** max(0, attempts - 1),
    )
    return random.uniform(step / 2, step)  # noqa: S311 - jitter, not security


# `PartnerPushState.last_success_at` is written at most this often per lane task's view of it
# (the statement is skipped when the value read with the lane is younger): a display field.
LAST_SUCCESS_RESOLUTION = timedelta(seconds=1)


def _record(
    lane: Lane,
    token: str,
    sent: list[_Sent],
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
    Outcome = DeliveryAttempt.Outcome
    now = _now()
    partner_id = lane.partner_id
    gone = [s.delivery.pk for s in sent if s.message is None]
    calls = [s for s in sent if s.message is not None]
    ok = [s for s in calls if s.outcome == Outcome.SUCCESS]
    parked = [s for s in calls if s.outcome == Outcome.PERMANENT]
    failed = next((s for s in calls if s.outcome == Outcome.TRANSIENT), None)
    with transaction.atomic():
        lane_update: dict[str, Any] = {}
        quiet = settings.PUSH_LANE_QUIET
        if quiet > 0 and (ok or parked):
            t = now.timestamp()
            # Kept as long as a Delivery held by the debounce may need it.
            keep = quiet + settings.PUSH_LANE_MAX_WAIT
            sent_at = {k: v for k, v in (lane.sent_at or {}).items() if t - v < keep}
            sent_at.update((s.delivery.object_key, t) for s in ok + parked)
            lane.sent_at = lane_update["sent_at"] = sent_at
        if ok and failed is None:
            lane.retry_at, lane.failures = None, 0
            lane_update.update(retry_at=None, failures=0)
        reset_earlier = False  # an earlier round of this task succeeded (not written yet)
        if state is not None:
            if failed is not None:  # the backoff written below must not be reset later
                state.pop("retry_at", None)
                reset_earlier = state.pop("failures", None) == 0
            state.update(lane_update)
        elif lane_update and not lost:
            lane_sql.update_lane(lane.pk, token, lane_update)

        DeliveryAttempt.objects.bulk_create(
            [
                DeliveryAttempt(
                    delivery=s.delivery,
                    partner_id=partner_id,
                    started_at=s.started,
                    method=s.message.method,
                    url=s.url[:500],
                    outcome=s.outcome,
                    http_status=s.result.http_status if s.result else None,
                    ocpi_status=s.result.ocpi_status if s.result else None,
                    duration_ms=s.result.duration_ms if s.result else None,
                    error=s.error,
                    request_id=s.result.request_id if s.result else "",
                )
                for s in calls
            ]
        )
        if gone:
            Delivery.objects.filter(pk__in=gone, status=Status.SENDING).update(
                status=Status.SUPERSEDED,
                finished_at=now,
                last_error="The object is gone; its parent's PUT carries it.",
            )
        lane_sql.mark_succeeded(
            (
                (s.delivery.pk, s.result.http_status, s.result.ocpi_status, s.result.duration_ms)
                for s in ok
            ),
            now=now,
        )
        for s in parked + ([failed] if failed else []):
            Delivery.objects.filter(pk=s.delivery.pk).update(
                last_error=s.error,
                last_http_status=s.result.http_status if s.result else None,
                last_ocpi_status=s.result.ocpi_status if s.result else None,
                last_latency_ms=s.result.duration_ms if s.result else None,
            )

        health: dict[str, Any] = {}
        last_success = getattr(lane, "last_success", None)
        if ok and (last_success is None or now - last_success >= LAST_SUCCESS_RESOLUTION):
            health["last_success_at"] = now
        if parked or failed:
            health.update(last_failure_at=now, last_error=(failed or parked[-1]).error)
            if ok:
                health["last_success_at"] = now
        if health:
            if not PartnerPushState.objects.filter(partner_id=partner_id).update(**health):
                PartnerPushState.objects.get_or_create(partner_id=partner_id, defaults=health)
            if "last_success_at" in health:
                lane.last_success = now

        for s in parked:
            Delivery.objects.filter(pk=s.delivery.pk, status=Status.SENDING).update(
                status=Status.FAILED, finished_at=now
            )
            logger.warning("Push %s to partner %s parked: %s", s.delivery, partner_id, s.error)
            if s.message.method == Method.PATCH:
                # transport.md §7: when a PATCH fails the receiver may not have the object;
                # send the whole Location (a PUT that fails in turn is only parked).
                _merge(
                    lane=lane,
                    level=Level.LOCATION,
                    method=Method.PUT,
                    fields=[],
                    location_id=s.delivery.location_id,
                    evse_id=None,
                    connector_id=None,
                )

        if failed is not None:
            delivery = failed.delivery
            first_failure = delivery.first_failure_at or now
            if now - first_failure > timedelta(seconds=settings.PUSH_RETRY_WINDOW):
                _expire_partner(partner_id, now)
                return
            Delivery.objects.filter(pk=delivery.pk).update(first_failure_at=first_failure)
            failures = Lane.objects.get(pk=lane.pk).failures + 1
            if reset_earlier:
                failures = 1
            lane.retry_at = now + timedelta(seconds=_backoff(failures))
            lane.failures = failures
            Lane.objects.filter(pk=lane.pk).update(retry_at=lane.retry_at, failures=failures)
            _back_to_pending(delivery, next_attempt_at=lane.retry_at)
        for delivery in unsent:
            _back_to_pending(delivery, next_attempt_at=None)


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


def enqueue_lanes(lane_ids: Iterable[int], *, countdown: float | None = None) -> int:
    """Queue `send_lane` for each lane (after `countdown` seconds if given); never raises
    (the sweeper catches up)."""
    from .tasks import send_lane as send_lane_task

    options = {} if countdown is None else {"countdown": countdown}
    queued = 0
    for lane_id in lane_ids:
        try:
            send_lane_task.apply_async(args=[lane_id], **options)
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
        now = _now()
        lanes = _merge_changes(
            (
                partner_id,
                Change(
                    level=Level.LOCATION,
                    method=Method.PUT,
                    fields=[],
                    location_id=location_id,
                    evse_id=None,
                    connector_id=None,
                    changed_at=now,
                    full_sync=sync,
                ),
            )
            for location_id in Location.objects.order_by("row_id").values_list("pk", flat=True)
        )
        lane_ids = [lane.pk for lane in lanes]
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
