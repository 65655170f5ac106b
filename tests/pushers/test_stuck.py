"""Nothing stays `sending`: a call whose worker was lost is written down as a failed attempt
and goes through the backoff; a task starts no call it could not finish before its time
limit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from locations import services
from locations.enums import Status
from locations.models import EVSE
from pushers import fanout, lanes
from pushers.lanes import LOST
from pushers.models import ChangeRecord, Delivery, DeliveryAttempt, Lane

from .conftest import build_site


def _queue_changes(site, statuses) -> Lane:
    """Status changes of the site's EVSE waiting in its lane (their tasks do not run)."""
    evse = EVSE.objects.filter(location=site).first()
    for status in statuses:
        evse.status = status
        services.evse_update(evse=evse)
        fanout.fan_out_changes(
            ChangeRecord.objects.filter(fanned_out_at__isnull=True).values_list("pk", flat=True)
        )
    return Lane.objects.get(location=site)


@pytest.mark.usefixtures("eager")
def test_a_delivery_left_sending_by_a_lost_worker_is_a_failed_attempt_then_retried(
    push_partner, receiver, saved
):
    site = saved(build_site)
    lane = _queue_changes(site, [Status.CHARGING])
    # A worker marked it sending, then died mid-call; its lease ran out.
    Delivery.objects.filter(lane=lane, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SENDING, attempts=1
    )
    Lane.objects.filter(pk=lane.pk).update(
        busy_until=timezone.now() - timedelta(seconds=1), claim_token="dead"
    )
    receiver.requests.clear()

    result = lanes.send_lane(lane.pk)

    delivery = Delivery.objects.get(lane=lane, method="PATCH")
    lane.refresh_from_db()
    [attempt] = DeliveryAttempt.objects.filter(delivery=delivery)
    assert (attempt.outcome, attempt.error) == (DeliveryAttempt.Outcome.TRANSIENT, LOST)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.first_failure_at is not None
    assert delivery.last_error == LOST
    assert lane.retry_at is not None and delivery.next_attempt_at == lane.retry_at
    assert result.retry_in is not None and result.retry_in > 0
    assert receiver.pushes() == []

    Lane.objects.filter(pk=lane.pk).update(retry_at=None)
    assert lanes.send_lane(lane.pk).sent == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED


def test_a_task_starts_no_call_past_its_budget_and_queues_the_rest(
    push_partner, receiver, settings, monkeypatch
):
    # A call may take its deadline (2 s) + 1 s; with a 9 s soft time limit and a 5 s margin
    # the task may start calls during 1 s. Each call here takes 0.4 s.
    settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.OCPI_HTTP_DEADLINE = 9, 2
    from pushers import tasks

    queued: list[int] = []
    monkeypatch.setattr(
        tasks.send_lane, "apply_async", lambda args, **options: queued.append(args[0])
    )
    for _ in range(10):
        build_site()  # ten new Locations, each a PUT waiting in its own lane
    fanout.fan_out_changes(ChangeRecord.objects.values_list("pk", flat=True))
    receiver.delay = 0.4

    result = lanes.send_lane(Lane.objects.order_by("pk").first().pk)

    assert 1 <= result.sent < 10
    statuses = list(Delivery.objects.values_list("status", flat=True))
    assert statuses.count(Delivery.Status.SUCCEEDED) == result.sent
    assert statuses.count(Delivery.Status.PENDING) == 10 - result.sent
    # The rest is not left for the sweeper: a task is queued for the next waiting lane.
    assert len(queued) == 1
    assert Delivery.objects.filter(lane_id=queued[0], status=Delivery.Status.PENDING).exists()
