"""Fan-out: change records → one Delivery per partner that receives pushes.

`outbox` records each change in the transaction of the change and queues
`tasks.fan_out_changes` after the commit; this claims the records, folds them into every
receiving partner's pending Deliveries (`coalescing`) and queues a `send_lane` task for each
(partner, Location) lane it touched (`lanes`).

Order: the changes of one Location are folded into its lanes in the order they were made
(record id = commit order = `last_updated` order per Location, see `locations.services`).
Runs that touch the same Location take turns on its lanes, and each takes *every* record of
that Location not fanned out yet, in id order, once it holds them. Claiming records first
(`SKIP LOCKED`) and locking lanes after, as this did before, let two workers split one
Location's records: the one holding the newer change could lock the lanes first, and its
Delivery be sent before the older change's was even written; the partner then got the older
`last_updated` last, and set its Location's back to it (OCPI 2.2.1, Locations module, 8.2.2
Receiver Interface: a PUT or PATCH of an EVSE or Connector updates its Location's).

Roaming agreements (`locations.sharing`): a change goes only to the partners that may see
its Location *now* (read once the records are taken, so a withdrawal committed before is
seen); a change of the agreements itself names the partners that gained the Location and
those that lost it. One that gained it (and still sees it) gets a PUT of the whole Location;
one that lost it (and still does not see it) loses its pending Deliveries of it and, when it
may hold the Location (`targets.may_hold`), gets its retirement: a PUT with every EVSE
REMOVED, once; nothing after it. A retirement that a later sharing overtakes becomes that
sharing's PUT (coalescing: the newer PUT says what goes).
"""

from collections.abc import Iterable
from dataclasses import replace

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from . import clock, queue, targets
from .coalescing import Change, Merger, lock_lanes
from .models import ChangeRecord, Lane
from .queue import FAN_OUT_BATCH

Level = ChangeRecord.Level


def lanes_to_wake(lanes: Iterable[Lane]) -> list[int]:
    """Lanes worth a `send_lane` task now: not those waiting for a deferred send already
    queued (throttle) or for the retry of a transient failure (that task sends them), and
    at most PUSH_PARTNER_CONCURRENCY per partner: a task holding one of the partner's slots
    sends its other due lanes too (`lanes`), so more tasks would only find the slots taken."""
    now = clock.now()
    per_partner: dict[int, int] = {}
    wake = []
    for lane in lanes:
        if (lane.next_send_at is not None and lane.next_send_at > now) or (
            lane.retry_at is not None and lane.retry_at > now
        ):
            continue
        if per_partner.get(lane.partner_id, 0) < settings.PUSH_PARTNER_CONCURRENCY:
            per_partner[lane.partner_id] = per_partner.get(lane.partner_id, 0) + 1
            wake.append(lane.pk)
    return wake


def fan_out_changes(change_ids: Iterable[int], *, batch: int = FAN_OUT_BATCH) -> list[int]:
    """Turn change records into Deliveries; returns the lanes touched (queued on commit).

    Takes the given records and, in the same run, the other records not fanned out yet of
    their Locations and of up to `batch` more (a burst of saves is merged by few runs; the
    tasks of records already taken find nothing to do, in one query). Idempotent: a record
    is fanned out once (`fanned_out_at` set in the transaction that merges it).
    """
    ids = set(change_ids)
    lane_ids: list[int] = []
    others = max(batch - len(ids), 0)
    while ids:
        taken, full, touched = _fan_out_once(ids, batch=batch, others=others)
        lane_ids += touched
        ids -= taken
        if not full:
            break  # every record of those Locations was taken (ours by us or by another run)
        # The batch was full: our records may still wait behind older ones of their
        # Locations (those go first, in order).
        others = 0
    return lane_ids


def _fan_out_once(ids: set[int], *, batch: int, others: int) -> tuple[set[int], bool, list[int]]:
    """One transaction of `fan_out_changes`: the ids of `ids` it fanned out, whether it took
    a full batch, and the lanes it touched."""
    with transaction.atomic():
        unfanned = ChangeRecord.objects.filter(fanned_out_at__isnull=True)
        # 1. Which Locations: a look without locks, at our records and the oldest others.
        wanted = Q(pk__in=ids)
        if others:
            wanted |= Q(pk__in=unfanned.order_by("id").values("id")[:others])
        seen = list(unfanned.filter(wanted).values_list("pk", "location_id"))
        if not any(pk in ids for pk, _ in seen):
            return set(), False, []  # done by another run already
        location_ids = sorted({location_id for _, location_id in seen})
        partner_ids = targets.push_partner_ids()
        now = clock.now()
        if not partner_ids:
            # Nobody to tell, so no order to keep: take what nobody else holds.
            free = list(
                ChangeRecord.objects.select_for_update(skip_locked=True)
                .filter(pk__in=[pk for pk, _ in seen], fanned_out_at__isnull=True)
                .values_list("pk", flat=True)
            )
            ChangeRecord.objects.filter(pk__in=free).update(fanned_out_at=now)
            return ids & set(free), False, []
        # 2. The lanes of those Locations, waiting for any run holding them (primary-key
        # order: runs never wait for each other in a circle).
        lanes = lock_lanes((p, loc) for p in partner_ids for loc in location_ids)
        # 3. Now only we can fan out these Locations' records (a run without partners
        # never waits, so it holds them briefly at most): all of those not fanned out yet,
        # also those committed since step 1, in id order. Waiting, not SKIP LOCKED, so that
        # none is left behind for a later run to send after newer ones.
        records = list(
            ChangeRecord.objects.select_for_update()
            .filter(location_id__in=location_ids, fanned_out_at__isnull=True)
            .order_by("id")[:batch]
        )
        ChangeRecord.objects.filter(pk__in=[r.pk for r in records]).update(fanned_out_at=now)
        merger = Merger(lanes.values())
        touched: dict[int, Lane] = {}
        audience = targets.audiences(location_ids, partner_ids)
        withdrawn = [
            lanes[(p, r.location_id)].pk
            for r in records
            for p in r.withdrawn_from
            if (p, r.location_id) in lanes
        ]
        held = targets.may_hold(Q(pk__in=withdrawn)) if withdrawn else set()
        for record in records:
            if record.shared_with or record.withdrawn_from:
                for lane in _agreement_changed(
                    record, lanes, audience[record.location_id], held, merger
                ):
                    touched[lane.pk] = lane
                continue
            # A Connector deleted since: its deletion was recorded as a PUT of the EVSE.
            if record.level == Level.CONNECTOR and record.connector_id is None:
                continue
            change = Change(
                level=record.level,
                method=record.method,
                fields=record.fields,
                location_id=record.location_id,
                evse_id=record.evse_id,
                connector_id=record.connector_id,
                changed_at=record.last_updated,
            )
            sees = audience[record.location_id]
            for partner_id in partner_ids:
                if partner_id not in sees:
                    continue  # not shared with it (roaming agreements)
                lane = lanes[(partner_id, record.location_id)]
                merger.merge(lane, change)
                touched[lane.pk] = lane
        merger.save()
        wake = lanes_to_wake(touched.values())
        transaction.on_commit(lambda: queue.enqueue_lanes(wake))
    return ids & {r.pk for r in records}, len(records) == batch, list(touched)


def _agreement_changed(
    record: ChangeRecord,
    lanes: dict[tuple[int, int], Lane],
    sees: set[int],
    held: set[int],
    merger: Merger,
) -> list[Lane]:
    """A change of the Location's roaming agreements, for the partners it names that
    receive pushes: the whole Location to those that may see it now, its retirement to those
    that may not and may hold it (see the module docstring). Returns the lanes merged into."""
    put = Change(
        level=Level.LOCATION,
        method=ChangeRecord.Method.PUT,
        fields=[],
        location_id=record.location_id,
        evse_id=None,
        connector_id=None,
        changed_at=record.last_updated,
    )
    merged = []
    for partner_id in dict.fromkeys([*record.shared_with, *record.withdrawn_from]):
        lane = lanes.get((partner_id, record.location_id))
        if lane is None:
            continue  # receives no pushes
        if partner_id in sees:
            merger.merge(lane, put)  # shared (again): a PUT of the whole Location
        elif partner_id in record.withdrawn_from:
            merger.drop(lane, "Not shared with this partner any more (roaming agreements).")
            if lane.pk not in held:
                continue  # it never got the Location: nothing to retire
            merger.merge(lane, replace(put, retire=True))
        else:
            continue  # shared, then withdrawn again since: that withdrawal's record retires it
        merged.append(lane)
    return merged
