"""What operators run (the admin, the management commands) and the sweeper's full sync:
full sync, retry now, discard, pause and resume.
"""

from collections.abc import Iterable

from django.db import transaction

from locations.models import Location

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
    """Queue a PUT of every Location to one partner (subsuming its pending changes), in this
    process: the sweeper and `ocpi_push_sync` (the admin uses `full_sync_request`).

    Returns None when the partner cannot receive pushes.
    """
    if targets.push_target(partner_id) is None:
        return None
    with transaction.atomic():
        sync = FullSync.objects.create(partner_id=partner_id, requested_by=requested_by[:100])
        _full_sync_build(sync)
    return sync


def full_sync_request(*, partner_id: int, requested_by: str = "") -> FullSync | None:
    """A full sync for a worker to build (`full_sync_run`): one row now, the thousands of
    deliveries later, outside the caller's request. The task is queued after commit; the
    sweeper queues it again if that message is lost.

    Returns None when the partner cannot receive pushes.
    """
    if targets.push_target(partner_id) is None:
        return None
    with transaction.atomic():
        sync = FullSync.objects.create(
            partner_id=partner_id, requested_by=requested_by[:100], queued=True
        )
        transaction.on_commit(lambda: queue.enqueue_full_sync(sync.pk))
    return sync


def full_sync_run(sync_id: int) -> bool:
    """Build the deliveries of a requested full sync; False when it was built already (a
    second message) or the partner can no longer receive pushes (the sync ends empty)."""
    with transaction.atomic():
        sync = FullSync.objects.select_for_update().filter(pk=sync_id, queued=True).first()
        if sync is None:
            return False
        if targets.push_target(sync.partner_id) is None:
            sync.queued = False
            sync.save(update_fields=["queued"])
            return False
        _full_sync_build(sync)
    return True


def _full_sync_build(sync: FullSync) -> None:
    """One delivery (a PUT) per Location for the sync's partner; inside a transaction."""
    partner_id = sync.partner_id
    now = clock.now()
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
            ),
        )
        for location_id in Location.objects.order_by("row_id").values_list("pk", flat=True)
    )
    sync.total = len(lanes)
    sync.queued = False
    wake = fanout.lanes_to_wake(lanes)
    sync.save(update_fields=["total", "queued"])
    push_state(partner_id)
    PartnerPushState.objects.filter(partner_id=partner_id).update(
        needs_full_sync=False, full_sync_after=None
    )
    transaction.on_commit(lambda: queue.enqueue_lanes(wake))


def partner_resumed_full_sync(sender, *, partner, **kwargs) -> None:
    """`partners.signals.partner_resumed`: inside the resume's transaction."""
    full_sync_request(partner_id=partner.pk, requested_by="resumed after suspension")


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
