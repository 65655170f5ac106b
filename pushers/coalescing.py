"""Coalescing: folding changes into each partner's pending Deliveries.

There is at most one pending Delivery per (partner, object); a change merges into it (PATCH
fields add up, a PUT replaces a PATCH), a PUT of a parent covers its children, so a partner
that is slow or down gets the newest state once instead of the whole history. The lanes
(partner, Location) being merged into are locked for the transaction, so that merges of the
same lane run one after the other.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from . import clock, slots
from .models import ChangeRecord, Delivery, FullSync, Lane

Level = ChangeRecord.Level
Method = ChangeRecord.Method
Status = Delivery.Status


def object_key(
    level: str, *, location_id: int, evse_id: int | None, connector_id: int | None
) -> str:
    """The coalescing key of the object a change is about: one pending Delivery per key."""
    if level == Level.LOCATION:
        return f"L:{location_id}"
    if level == Level.EVSE:
        return f"E:{evse_id}"
    return f"C:{connector_id}"


def combined(
    method: str, fields: list[str], newer_method: str, newer_fields: list[str]
) -> tuple[str, list[str]]:
    """A pending message of an object merged with a newer one: a PUT replaces everything,
    PATCH fields add up, a pending PUT covers a newer PATCH (its body is built at send time)."""
    if newer_method == Method.PUT:
        return Method.PUT, []
    if method == Method.PATCH:
        return Method.PATCH, fields + [f for f in newer_fields if f not in fields]
    return method, fields


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
    retire: bool = False  # a Location PUT with every EVSE REMOVED (roaming agreements)


def lock_lanes(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Lane]:
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
        slots.ensure(p for p, _ in missing)  # a partner's first lanes: its sending slots too
    found = {
        (lane.partner_id, lane.location_id): lane
        for lane in lanes.select_for_update().order_by("pk")
    }
    return {pair: found[pair] for pair in wanted}


class Merger:
    """The pending Deliveries of some locked lanes, loaded with one query; changes are folded
    in memory and written back with a few bulk statements (`save`)."""

    def __init__(self, lanes: Iterable[Lane]) -> None:
        self.lanes = {lane.pk: lane for lane in lanes}
        self.pending: dict[int, dict[str, Delivery]] = {pk: {} for pk in self.lanes}
        # Locked in primary-key order, not the model's (-id): whoever locks several of
        # them must take them in one order, or two can deadlock on PostgreSQL (the send
        # loop's UPDATE, docs/reliability.md, "Order of messages").
        for delivery in (
            Delivery.objects.select_for_update()
            .filter(lane_id__in=list(self.lanes), status=Status.PENDING)
            .order_by("pk")
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
            if parent is None:
                continue
            # The parent's message is built at send time and carries its `last_updated`,
            # which is this change's or newer (OCPI 2.2.1, Locations module, 8.3.1 Location
            # Object and 8.3.2 EVSE Object, last_updated: "or one of its EVSEs or
            # Connectors"): it takes its place in the lane after this change, so that the
            # stamps a partner sees never go back. (A Location's PUT is alone in its lane:
            # it superseded the rest.)
            alone = parent.level == Level.LOCATION and parent.method == Method.PUT
            if change.changed_at > parent.queued_at and not alone:
                parent.queued_at = change.changed_at
                if parent.pk is not None:
                    self.changed[parent.pk] = parent
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
                retire=change.retire,
            )
        else:
            existing.method, existing.fields = combined(
                existing.method, existing.fields, method, change.fields
            )
            if method == Method.PUT:  # the newer PUT says what goes: the Location, or its end
                existing.retire = change.retire
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

    def drop(self, lane: Lane, reason: str) -> None:
        """Forget the lane's pending Deliveries (superseded, with `reason`)."""
        pending = self.pending[lane.pk]
        for key, delivery in list(pending.items()):
            del pending[key]
            if delivery.pk is not None:
                self.changed.pop(delivery.pk, None)
                self.superseded.setdefault(reason, []).append(delivery.pk)

    def save(self) -> None:
        now = clock.now()
        for error, pks in self.superseded.items():
            Delivery.objects.filter(pk__in=pks).update(
                status=Status.SUPERSEDED, finished_at=now, last_error=error
            )
        if self.changed:
            Delivery.objects.bulk_update(
                list(self.changed.values()),
                ["method", "fields", "changes", "full_sync", "queued_at", "retire"],
            )
        new = [d for lane in self.pending.values() for d in lane.values() if d.pk is None]
        if new:
            Delivery.objects.bulk_create(new)


def merge_changes(items: Iterable[tuple[int, Change]]) -> list[Lane]:
    """Fold (partner id, change) pairs into the pending Deliveries; returns the lanes touched.
    Must run inside a transaction (the lanes stay locked until it ends)."""
    items = list(items)
    lanes = lock_lanes((partner_id, change.location_id) for partner_id, change in items)
    merger = Merger(lanes.values())
    touched: dict[int, Lane] = {}
    for partner_id, change in items:
        lane = lanes[(partner_id, change.location_id)]
        merger.merge(lane, change)
        touched[lane.pk] = lane
    merger.save()
    return list(touched.values())


def merge_one(lane: Lane, change: Change) -> bool:
    """Fold one change into one lane in a transaction of its own (see `Merger.merge`)."""
    with transaction.atomic():
        (locked,) = lock_lanes([(lane.partner_id, lane.location_id)]).values()
        merger = Merger([locked])
        merged = merger.merge(locked, change)
        merger.save()
    return merged


def back_to_pending(delivery: Delivery, *, next_attempt_at: datetime | None) -> None:
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
        changes, queued_at, retire = delivery.changes, delivery.queued_at, delivery.retire
        if newer is not None:
            queued_at = newer.queued_at
            method, fields = combined(method, fields, newer.method, newer.fields)
            retire = newer.retire if newer.method == Method.PUT else retire
            changes += newer.changes
            Delivery.objects.filter(pk=newer.pk).update(
                status=Status.SUPERSEDED,
                finished_at=clock.now(),
                last_error=f"Merged into delivery #{delivery.pk}.",
            )
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Status.PENDING,
            method=method,
            fields=fields,
            changes=changes,
            queued_at=queued_at,
            next_attempt_at=next_attempt_at,
            retire=retire,
        )
