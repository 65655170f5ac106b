"""What operators run (the admin, the management commands) and the sweeper's full sync:
full sync, retry now, discard, pause and resume.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q

from locations.models import Location
from locations.sharing import visible_to

from . import clock, fanout, queue, targets
from .coalescing import Change, merge_changes
from .models import ChangeRecord, Delivery, FullSync, Lane, PartnerPushState

Level = ChangeRecord.Level
Method = ChangeRecord.Method
Status = Delivery.Status


def push_state(partner_id: int) -> PartnerPushState:
    state, _ = PartnerPushState.objects.get_or_create(partner_id=partner_id)
    return state


# --- Full sync


def full_sync_start(*, partner_id: int, requested_by: str = "") -> FullSync | None:
    """Queue a PUT of every Location the partner may see (subsuming its pending changes),
    and the retirement of those it may no longer see but may hold (roaming agreements: a
    retirement lost in an outage is sent again).

    Returns None when the partner cannot receive pushes.
    """
    if targets.push_target(partner_id) is None:
        return None
    with transaction.atomic():
        sync = FullSync.objects.create(partner_id=partner_id, requested_by=requested_by[:100])
        now = clock.now()
        visible = Location.objects.filter(visible_to(partner_id))
        hidden_lanes = Q(partner_id=partner_id) & ~Q(location_id__in=visible.values("pk"))
        retire = Lane.objects.filter(pk__in=targets.may_hold(hidden_lanes)).order_by("location_id")
        lanes = merge_changes(
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
                    retire=retired,
                ),
            )
            for location_id, retired in [
                *((pk, False) for pk in visible.order_by("row_id").values_list("pk", flat=True)),
                *((pk, True) for pk in retire.values_list("location_id", flat=True)),
            ]
        )
        sync.total = len(lanes)
        wake = fanout.lanes_to_wake(lanes)
        sync.save(update_fields=["total"])
        push_state(partner_id)
        PartnerPushState.objects.filter(partner_id=partner_id).update(
            needs_full_sync=False, full_sync_after=None
        )
        transaction.on_commit(lambda: queue.enqueue_lanes(wake))
    return sync


def full_sync_progress(sync: FullSync) -> tuple[int, int]:
    """(done, total) of a full sync: done counts Locations no longer waiting to be sent."""
    waiting = Delivery.objects.filter(full_sync=sync, status__in=Delivery.OPEN).count()
    return sync.total - waiting, sync.total


# --- Deliveries and partners


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
        transaction.on_commit(lambda: queue.enqueue_lanes(list(lane_ids)))
    return count


def partner_retry_now(partner_id: int) -> int:
    return deliveries_retry_now(
        Delivery.objects.filter(partner_id=partner_id, status=Status.PENDING)
    )


def deliveries_discard(deliveries: Iterable[Delivery]) -> int:
    ids = [d.pk for d in deliveries]
    return Delivery.objects.filter(
        pk__in=ids, status__in=[Status.PENDING, Status.FAILED, Status.EXPIRED]
    ).update(status=Status.DISCARDED, finished_at=clock.now())


def partner_set_paused(partner_id: int, *, paused: bool) -> None:
    push_state(partner_id)
    PartnerPushState.objects.filter(partner_id=partner_id).update(push_paused=paused)
    if not paused:
        lane_ids = list(
            Delivery.objects.filter(partner_id=partner_id, status__in=Delivery.OPEN)
            .values_list("lane_id", flat=True)
            .distinct()
        )
        transaction.on_commit(lambda: queue.enqueue_lanes(lane_ids))
