"""What operators run (the admin, the management commands) and the sweeper's full sync:
full sync, retry now, discard, pause and resume.
"""

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from locations.models import Location
from locations.sharing import visible_to

from . import clock, fanout, queue, targets
from .coalescing import Change, merge_changes
from .models import ChangeRecord, Delivery, FullSync, Lane, PartnerPushState
from .progress import syncs_progress

Level = ChangeRecord.Level
Method = ChangeRecord.Method
Status = Delivery.Status


def push_state(partner_id: int) -> PartnerPushState:
    state, _ = PartnerPushState.objects.get_or_create(partner_id=partner_id)
    return state


# --- Full sync


def full_sync_start(
    *, partner_id: int, requested_by: str = "", continue_in_tasks: bool = True
) -> FullSync | None:
    """Queue a PUT of every Location the partner may see (subsuming its pending changes),
    and the retirement of those it may no longer see but may hold (roaming agreements): the
    first batch in this process, the rest by tasks (the sweeper, `ocpi_push_sync`; the
    admin uses `full_sync_request`, which leaves the first batch to a worker too).

    The Locations are queued PUSH_FULL_SYNC_BATCH at a time, each batch in a transaction
    of its own, so no transaction or task grows with the platform (25,000 Locations in one
    transaction took 6-10 s; ten times that would pass the tasks' time limit). After the
    first batch, `full_sync_batch` tasks queue the next ones, one after the other (or the
    caller does, `continue_in_tasks=False`: `ocpi_push_sync` without workers). A batch task
    lost with its broker or worker is queued again by the sweeper.

    Returns None when the partner cannot receive pushes.
    """
    sync = _full_sync_create(partner_id=partner_id, requested_by=requested_by)
    if sync is not None:
        full_sync_continue(sync.pk, continue_in_tasks=continue_in_tasks)
        sync.refresh_from_db()
    return sync


def full_sync_request(*, partner_id: int, requested_by: str = "") -> FullSync | None:
    """A full sync for workers to queue: one row now, the thousands of deliveries later,
    outside the caller's (web) request. Its first batch task is queued after commit; the
    sweeper queues it again if that message is lost.

    Returns None when the partner cannot receive pushes.
    """
    with transaction.atomic():
        sync = _full_sync_create(partner_id=partner_id, requested_by=requested_by)
        if sync is not None:
            sync_id = sync.pk
            transaction.on_commit(lambda: queue.enqueue_full_sync_batch(sync_id))
    return sync


def _full_sync_create(*, partner_id: int, requested_by: str) -> FullSync | None:
    if targets.push_target(partner_id) is None:
        return None
    with transaction.atomic():
        sync = FullSync.objects.create(
            partner_id=partner_id,
            requested_by=requested_by[:100],
            total=_locations(partner_id).count(),
        )
        push_state(partner_id)
        PartnerPushState.objects.filter(partner_id=partner_id).update(
            needs_full_sync=False, full_sync_after=None
        )
    return sync


def _locations(partner_id: int) -> QuerySet[Location]:
    """The Locations a full sync sends: those the partner may see (roaming agreements)."""
    return Location.objects.filter(visible_to(partner_id))


def _retirements(partner_id: int) -> list[int]:
    """Locations the partner may no longer see but may hold: a full sync retires them again
    (a retirement lost in an outage is sent again)."""
    visible = _locations(partner_id).values("pk")
    hidden_lanes = Q(partner_id=partner_id) & ~Q(location_id__in=visible)
    return list(
        Lane.objects.filter(pk__in=targets.may_hold(hidden_lanes))
        .order_by("location_id")
        .values_list("location_id", flat=True)
    )


def full_sync_continue(sync_id: int, *, continue_in_tasks: bool = True) -> bool:
    """Queue the next batch of a full sync's Locations; True once all are queued.

    Idempotent and safe to run twice at once (a lost task queued again by the sweeper next
    to a late one): the FullSync row is locked while its batch is queued, and the batch
    starts after the last row_id queued. A partner that can no longer receive pushes ends
    the sync where it is."""
    with transaction.atomic():
        sync = FullSync.objects.select_for_update().get(pk=sync_id)
        if sync.queuing_done_at is not None:
            return True
        now = clock.now()
        if targets.push_target(sync.partner_id) is None:
            sync.queuing_done_at, sync.total = now, sync.locations_queued
            sync.save(update_fields=["queuing_done_at", "total", "updated_at"])
            return True
        after = sync.queued_until if sync.queued_until is not None else -1
        size = settings.PUSH_FULL_SYNC_BATCH
        location_ids = list(
            _locations(sync.partner_id)
            .filter(row_id__gt=after)
            .order_by("row_id")
            .values_list("row_id", flat=True)[:size]
        )
        done = len(location_ids) < size
        # With the last batch, the Locations to retire (few: those withdrawn from it).
        retired = _retirements(sync.partner_id) if done else []
        lanes = merge_changes(
            (
                sync.partner_id,
                Change(
                    level=Level.LOCATION,
                    method=Method.PUT,
                    fields=[],
                    location_id=location_id,
                    evse_id=None,
                    connector_id=None,
                    changed_at=now,
                    full_sync=sync,
                    retire=retire,
                ),
            )
            for location_id, retire in [
                *((pk, False) for pk in location_ids),
                *((pk, True) for pk in retired),
            ]
        )
        wake = fanout.lanes_to_wake(lanes)
        sync.locations_queued += len(location_ids) + len(retired)
        if location_ids:
            sync.queued_until = location_ids[-1]
        if done:
            sync.queuing_done_at = now
            sync.total = sync.locations_queued
        sync.save(
            update_fields=[
                "locations_queued",
                "queued_until",
                "queuing_done_at",
                "total",
                "updated_at",
            ]
        )
        transaction.on_commit(lambda: queue.enqueue_lanes(wake))
        if not done and continue_in_tasks:
            transaction.on_commit(lambda: queue.enqueue_full_sync_batch(sync_id))
    return done


def partner_resumed_full_sync(sender, *, partner, **kwargs) -> None:
    """`partners.signals.partner_resumed`: inside the resume's transaction."""
    full_sync_request(partner_id=partner.pk, requested_by="resumed after suspension")


def full_sync_progress(sync: FullSync) -> tuple[int, int]:
    """(done, total) of a full sync: done counts Locations queued and no longer waiting to
    be sent; total, the Locations counted at the start (queued, once all are)."""
    progress = syncs_progress([sync])[sync.pk]
    return progress.settled, progress.total


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
