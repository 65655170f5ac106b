"""Fan-out: change records → one Delivery per partner that receives pushes.

`outbox` records each change in the transaction of the change and queues
`tasks.fan_out_changes` after the commit; this claims the records, folds them into every
receiving partner's pending Deliveries (`coalescing`) and queues a `send_lane` task for each
(partner, Location) lane it touched (`lanes`).
"""

from collections.abc import Iterable

from django.db import transaction

from . import clock, queue, targets
from .coalescing import Change, merge_changes
from .models import ChangeRecord, Lane
from .queue import FAN_OUT_BATCH

Level = ChangeRecord.Level


def lanes_to_wake(lanes: Iterable[Lane]) -> list[int]:
    """Lanes worth a `send_lane` task now: not those waiting for a deferred send already
    queued (throttle) or for the retry of a transient failure (that task sends them)."""
    now = clock.now()
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
        ChangeRecord.objects.filter(pk__in=[r.pk for r in records]).update(
            fanned_out_at=clock.now()
        )
        partner_ids = targets.push_partner_ids()
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
        lanes = merge_changes(items)
        lane_ids = [lane.pk for lane in lanes]
        wake = lanes_to_wake(lanes)
        transaction.on_commit(lambda: queue.enqueue_lanes(wake))
    return lane_ids
