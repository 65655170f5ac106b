"""The per-object debounce (PUSH_LANE_QUIET, PUSH_LANE_MAX_WAIT): an idle object goes at
once (leading edge); changes of an object right after a send collect in its pending Delivery
and go out as one message, carrying the final state, once the object has been quiet for
PUSH_LANE_QUIET, or PUSH_LANE_MAX_WAIT after the first held change if it never is."""

from datetime import timedelta

import pytest
from django.utils import timezone

from locations import services
from locations.enums import Status
from locations.models import EVSE
from pushers import clock, lanes, sweeper
from pushers.models import Delivery, Lane
from versions.datetimes import format_ocpi_datetime

from .conftest import build_site, ours, theirs

pytestmark = pytest.mark.usefixtures("eager")

BASE = "/ocpi/emsp/2.2.1/locations"
FLIPS = [Status.CHARGING, Status.AVAILABLE, Status.BLOCKED, Status.RESERVED]


@pytest.fixture
def deferred(monkeypatch):
    """Deferred sends (a countdown) are recorded instead of run at once (eager mode would
    ignore the countdown); other sends run as usual."""
    from pushers import tasks

    calls = []
    run_now = tasks.send_lane.apply_async

    def apply_async(args, countdown=None, **options):
        if countdown is not None:
            calls.append((args[0], countdown))
            return None
        return run_now(args=args, **options)

    monkeypatch.setattr(tasks.send_lane, "apply_async", apply_async)
    return calls


@pytest.fixture
def throttled(settings, push_partner, receiver, saved):
    settings.PUSH_LANE_QUIET = 60  # nothing falls due by itself during a test
    settings.PUSH_LANE_MAX_WAIT = 600
    site = saved(lambda: build_site(n_evses=2))
    receiver.requests.clear()
    return site


def _later(monkeypatch, seconds: float) -> None:
    """Let `seconds` pass, as far as the push engine can tell."""
    monkeypatch.setattr(clock, "now", lambda: timezone.now() + timedelta(seconds=seconds))


def _now_again(monkeypatch) -> None:
    monkeypatch.setattr(clock, "now", timezone.now)


def _set_status(evse: EVSE, status: str) -> None:
    evse.status = status
    services.evse_update(evse=evse)


def test_a_hundred_flips_with_a_fast_receiver_are_two_messages_the_last_with_the_final_state(
    throttled, push_partner, receiver, saved, deferred, monkeypatch
):
    evse = EVSE.objects.filter(location=throttled).first()
    for i in range(100):
        saved(lambda i=i: _set_status(evse, FLIPS[i % 4]))

    # The first flip went at once (leading edge); the other 99 wait in one Delivery, and
    # one deferred send was queued for when the object is quiet (not one per flip).
    assert [r.body["status"] for r in receiver.pushes()] == ["CHARGING"]
    lane = Lane.objects.get(partner=push_partner, location=throttled)
    assert [lane_id for lane_id, _ in deferred] == [lane.pk]
    assert 59 < deferred[0][1] <= 60
    waiting = Delivery.objects.get(evse=evse, status="pending")
    assert waiting.changes == 99

    _later(monkeypatch, 61)
    lanes.send_lane(lane.pk)  # the deferred send

    evse.refresh_from_db()
    assert evse.status == Status.RESERVED
    assert [(r.method, r.path.removeprefix(BASE), r.body) for r in receiver.pushes()][1:] == [
        (
            "PATCH",
            f"/NL/EXA/{throttled.id}/{evse.uid}",
            {"status": "RESERVED", "last_updated": format_ocpi_datetime(evse.last_updated)},
        )
    ]
    assert theirs(receiver, throttled) == ours(throttled)


def test_an_isolated_change_is_sent_at_once_even_right_after_another_object_of_its_location(
    throttled, receiver, saved, deferred
):
    first, second = EVSE.objects.filter(location=throttled)
    saved(lambda: _set_status(first, Status.CHARGING))
    saved(lambda: _set_status(second, Status.BLOCKED))

    assert [(r.path.rsplit("/", 1)[-1], r.body["status"]) for r in receiver.pushes()] == [
        (first.uid, "CHARGING"),
        (second.uid, "BLOCKED"),
    ]
    assert deferred == []
    assert theirs(receiver, throttled) == ours(throttled)


def test_a_change_waiting_for_the_interval_keeps_the_lane_order(
    throttled, receiver, saved, deferred, monkeypatch
):
    first, second = EVSE.objects.filter(location=throttled)
    saved(lambda: _set_status(first, Status.CHARGING))
    saved(lambda: _set_status(first, Status.BLOCKED))  # waits for the interval
    saved(lambda: _set_status(second, Status.OUTOFORDER))  # queued behind it: waits too
    assert len(receiver.pushes()) == 1

    _later(monkeypatch, 61)
    lanes.send_lane(Delivery.objects.get(evse=second).lane_id)

    assert [(r.path.rsplit("/", 1)[-1], r.body["status"]) for r in receiver.pushes()] == [
        (first.uid, "CHARGING"),
        (first.uid, "BLOCKED"),
        (second.uid, "OUTOFORDER"),
    ]


def test_a_deferred_send_whose_task_was_lost_is_made_by_the_sweeper(
    throttled, receiver, saved, deferred, monkeypatch
):
    evse = EVSE.objects.filter(location=throttled).first()
    saved(lambda: _set_status(evse, Status.CHARGING))
    saved(lambda: _set_status(evse, Status.BLOCKED))
    assert len(deferred) == 1  # ... and that task is lost (worker crash): never run

    _later(monkeypatch, 61)
    saved(lambda: sweeper.sweep(grace=30))

    assert [r.body["status"] for r in receiver.pushes()] == ["CHARGING", "BLOCKED"]
    assert theirs(receiver, throttled) == ours(throttled)


def test_a_continuous_stream_goes_once_per_max_wait_with_the_state_of_the_moment(
    throttled, settings, push_partner, receiver, saved, deferred, monkeypatch
):
    settings.PUSH_LANE_MAX_WAIT = 30  # the object is never quiet for 60 s: max-wait decides
    evse = EVSE.objects.filter(location=throttled).first()
    for i in range(10):
        saved(lambda i=i: _set_status(evse, FLIPS[i % 4]))
    lane = Lane.objects.get(partner=push_partner, location=throttled)
    assert [r.body["status"] for r in receiver.pushes()] == ["CHARGING"]
    assert [lane_id for lane_id, _ in deferred] == [lane.pk]
    assert 29 < deferred[0][1] <= 30  # max-wait comes before quiet

    _later(monkeypatch, 31)
    lanes.send_lane(lane.pk)  # the deferred send: 31 s after the first held change
    assert [r.body["status"] for r in receiver.pushes()] == ["CHARGING", "AVAILABLE"]

    # The stream goes on: held again (the object was sent a moment ago).
    _now_again(monkeypatch)
    for i in range(10):
        saved(lambda i=i: _set_status(evse, FLIPS[i % 4]))
    assert len(receiver.pushes()) == 2
    assert Delivery.objects.get(evse=evse, status="pending").changes == 10


def test_a_change_after_the_object_was_quiet_goes_at_once(
    throttled, push_partner, receiver, saved, deferred, monkeypatch
):
    evse = EVSE.objects.filter(location=throttled).first()
    _later(monkeypatch, -61)  # this send was 61 s ago ...
    saved(lambda: _set_status(evse, Status.CHARGING))
    _now_again(monkeypatch)
    saved(lambda: _set_status(evse, Status.BLOCKED))  # ... so this change is a leading edge

    assert [r.body["status"] for r in receiver.pushes()] == ["CHARGING", "BLOCKED"]
    assert deferred == []
    assert theirs(receiver, throttled) == ours(throttled)


def test_a_held_change_that_changes_again_waits_for_quiet_from_its_newest_change(
    throttled, push_partner, receiver, saved, deferred, monkeypatch
):
    evse = EVSE.objects.filter(location=throttled).first()
    saved(lambda: _set_status(evse, Status.CHARGING))
    saved(lambda: _set_status(evse, Status.BLOCKED))  # held: due 60 s after this change
    lane = Lane.objects.get(partner=push_partner, location=throttled)
    waiting = Delivery.objects.get(evse=evse, status="pending")
    # A later change pushes the due moment back: the deferred task, run at the first due
    # moment, finds the Delivery not due yet and queues itself again for the new moment.
    saved(lambda: _set_status(evse, Status.OUTOFORDER))
    first_due = Lane.objects.get(pk=lane.pk).next_send_at
    quiet_from = Delivery.objects.get(pk=waiting.pk).queued_at
    assert first_due < quiet_from + timedelta(seconds=60)
    _later(monkeypatch, (first_due - timezone.now()).total_seconds() + 0.0001)
    lanes.send_lane(lane.pk)
    assert len(receiver.pushes()) == 1
    assert len(deferred) == 2 and 0 < deferred[1][1] <= 1

    _later(monkeypatch, (quiet_from - timezone.now()).total_seconds() + 61)
    lanes.send_lane(lane.pk)
    assert [r.body["status"] for r in receiver.pushes()] == ["CHARGING", "OUTOFORDER"]
