"""The sweeper (Celery beat, every PUSH_SWEEP_INTERVAL seconds): what a lost message left
behind is queued again, due full syncs start, old history goes.

Every push task is only a wake-up call for work that lives in rows, so a message lost with
its broker or worker delays the work by at most a sweep.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q

from . import clock, metrics, operations, queue, slots, targets
from .models import ChangeRecord, Delivery, DeliveryAttempt, PartnerPushState

Status = Delivery.Status


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
    now = clock.now()
    grace_delta = timedelta(seconds=settings.PUSH_SWEEP_GRACE if grace is None else grace)
    cutoff = now - grace_delta
    result = SweepResult()

    ids = list(
        ChangeRecord.objects.filter(fanned_out_at__isnull=True, created_at__lte=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[: batch * 10]
    )
    for start in range(0, len(ids), batch):
        if not queue.enqueue_fan_out(ids[start : start + batch]):
            break
        result.change_records += len(ids[start : start + batch])

    # A raised PUSH_PARTNER_CONCURRENCY takes effect here (new partners get theirs with
    # their first lanes).
    slots.ensure(targets.push_partner_ids())

    paused = PartnerPushState.objects.filter(push_paused=True).values("partner_id")
    lane_ids = list(
        Delivery.objects.filter(status__in=Delivery.OPEN)
        .filter(
            Q(next_attempt_at__isnull=True, created_at__lte=cutoff) | Q(next_attempt_at__lte=cutoff)
        )
        .filter(Q(lane__busy_until__isnull=True) | Q(lane__busy_until__lt=now))
        .exclude(partner_id__in=paused)
        .order_by("lane_id")
        .values_list("lane_id", flat=True)
        .distinct()[:batch]
    )
    result.lanes = queue.enqueue_lanes(lane_ids)

    for state in PartnerPushState.objects.filter(
        needs_full_sync=True, push_paused=False, full_sync_after__lte=now
    ):
        if operations.full_sync_start(partner_id=state.partner_id, requested_by="after outage"):
            result.full_syncs += 1

    keep = now - timedelta(days=settings.PUSH_KEEP_DAYS)
    # Counted into the tallies as they go, so the /metrics counters never go down.
    result.deleted = metrics.forget_old(
        DeliveryAttempt.objects.filter(started_at__lt=keep),
        Delivery.objects.exclude(status__in=[*Delivery.OPEN, Status.FAILED]).filter(
            finished_at__lt=keep
        ),
    )
    return result
