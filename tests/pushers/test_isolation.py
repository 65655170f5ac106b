"""One slow or hostile partner keeps to its own slots (`pushers.slots`): at most
PUSH_PARTNER_CONCURRENCY calls in flight per partner, one while it is degraded (the circuit
breaker of `pushers.outcomes`); a slot holder sends the partner's other due lanes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from locations import services
from locations.enums import Status
from locations.models import EVSE
from pushers import fanout, lanes, slots
from pushers.models import ChangeRecord, Delivery, Lane, PartnerPushState, SendSlot

from .conftest import build_site

pytestmark = pytest.mark.usefixtures("eager")


@pytest.fixture
def waiting_lanes(push_partner, receiver, saved):
    """Three Locations, each with one status change waiting in its lane (not sent yet)."""
    sites = [saved(build_site) for _ in range(3)]
    for site in sites:
        evse = EVSE.objects.get(location=site)
        evse.status = Status.CHARGING
        services.evse_update(evse=evse)  # not committed: its fan-out task does not run
    fanout.fan_out_changes(
        ChangeRecord.objects.filter(fanned_out_at__isnull=True).values_list("pk", flat=True)
    )
    receiver.requests.clear()
    return [Lane.objects.get(location=site) for site in sites]


def _lease_slots(partner, *numbers: int) -> None:
    for number in numbers:
        SendSlot.objects.update_or_create(
            partner=partner,
            number=number,
            defaults={"busy_until": timezone.now() + timedelta(minutes=1), "claim_token": "x"},
        )


def _waiting(partner) -> int:
    return Delivery.objects.filter(partner=partner, status=Delivery.Status.PENDING).count()


def test_a_task_holding_a_slot_sends_the_partners_other_due_lanes_too(
    waiting_lanes, push_partner, receiver
):
    result = lanes.send_lane(waiting_lanes[0].pk)

    assert result.sent == 3
    assert [r.method for r in receiver.pushes()] == ["PATCH"] * 3
    assert _waiting(push_partner) == 0
    assert list(SendSlot.objects.values_list("busy_until", flat=True)) == [None, None]


def test_a_task_that_finds_the_partners_slots_taken_sends_nothing(
    waiting_lanes, push_partner, receiver, settings
):
    settings.PUSH_PARTNER_CONCURRENCY = 2
    _lease_slots(push_partner, 0, 1)

    assert lanes.send_lane(waiting_lanes[0].pk).sent == 0
    assert receiver.pushes() == []
    assert _waiting(push_partner) == 3

    SendSlot.objects.filter(number=1).update(busy_until=None, claim_token="")
    assert lanes.send_lane(waiting_lanes[0].pk).sent == 3


def test_a_degraded_partner_gets_one_call_at_a_time(
    waiting_lanes, push_partner, receiver, settings
):
    settings.PUSH_PARTNER_CONCURRENCY, settings.PUSH_BREAKER_FAILURES = 2, 5
    PartnerPushState.objects.update_or_create(
        partner=push_partner, defaults={"consecutive_failures": 5}
    )
    _lease_slots(push_partner, 0)  # the probe of another worker is under way

    assert lanes.send_lane(waiting_lanes[0].pk).sent == 0  # its second slot is not used

    PartnerPushState.objects.filter(partner=push_partner).update(consecutive_failures=4)
    assert lanes.send_lane(waiting_lanes[0].pk).sent == 3


def test_transient_failures_in_a_row_degrade_the_partner_and_an_answer_restores_it(
    waiting_lanes, push_partner, receiver, settings, admin_client
):
    settings.PUSH_BREAKER_FAILURES = 3
    receiver.answer_next((503, 3000), (503, 3000), (503, 3000))

    lanes.send_lane(waiting_lanes[0].pk)  # each lane fails once and backs off

    state = PartnerPushState.objects.get(partner=push_partner)
    assert state.consecutive_failures == 3
    assert state.failing_since is not None
    page = admin_client.get("/admin/pushers/partnerpushstate/").content.decode()
    assert "failing since" in page
    assert "(one call at a time until it answers)" in page

    Lane.objects.update(retry_at=None)
    Delivery.objects.update(next_attempt_at=None)
    assert lanes.send_lane(waiting_lanes[0].pk).sent == 3
    state.refresh_from_db()
    assert (state.consecutive_failures, state.failing_since) == (0, None)
    page = admin_client.get("/admin/pushers/partnerpushstate/").content.decode()
    assert "degraded: 3 of 9 calls failed in the last hour" in page  # 3 site PUTs, 3 + 3 PATCH


def test_a_failed_probe_of_a_degraded_partner_ends_its_calls_until_a_backoff_ends(
    waiting_lanes, push_partner, receiver, settings, monkeypatch
):
    from pushers import tasks

    queued: list[tuple[int, float | None]] = []
    monkeypatch.setattr(
        tasks.send_lane,
        "apply_async",
        lambda args, **options: queued.append((args[0], options.get("countdown"))),
    )
    settings.PUSH_BREAKER_FAILURES = 2
    PartnerPushState.objects.update_or_create(
        partner=push_partner, defaults={"consecutive_failures": 2}
    )
    receiver.answer_next((503, 3000))

    result = lanes.send_lane(waiting_lanes[0].pk)

    assert (result.sent, len(receiver.requests)) == (1, 1)  # one probe, no more
    assert result.retry_in is not None  # the failed lane's own retry
    assert queued == []  # and no task for the other lanes: they wait for a probe
    assert _waiting(push_partner) == 3


def test_a_slot_is_leased_for_one_lane_lease_so_a_killed_holder_blocks_its_partner_briefly(
    waiting_lanes, push_partner, settings
):
    # Not for the task's hard time limit: a worker killed holding both slots would stall the
    # partner for that long (90 s by default) before anyone could send to it again.
    settings.PUSH_LANE_LEASE, settings.CELERY_TASK_TIME_LIMIT = 3, 90
    before = timezone.now()

    assert slots.acquire(waiting_lanes[0].pk, "killed") == push_partner.pk
    (leased,) = [b for b in slots.busy_until(push_partner.pk) if b is not None]
    assert before + timedelta(seconds=3) <= leased <= timezone.now() + timedelta(seconds=3)
