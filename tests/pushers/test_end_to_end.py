"""With a real Celery worker process, the real broker and a real receiver.

These tests commit (transactional_db), so the worker process sees the rows; the database is
the test database (a file for SQLite, test_<name> for PostgreSQL), passed to the worker as
DATABASE_URL.
"""

import itertools
import time

import pytest

from locations import services
from locations.enums import Status
from locations.models import EVSE
from pushers import sweeper
from pushers.models import Delivery
from versions.datetimes import format_ocpi_datetime

from .conftest import (
    add_push_partner,
    build_site,
    ours,
    point_app_at_broker,
    theirs,
    wait_until,
)
from .receiver import Receiver

pytestmark = pytest.mark.slow

FLIPS = [Status.CHARGING, Status.AVAILABLE, Status.BLOCKED, Status.RESERVED]


def _in_sync(receiver, sites):
    def check():
        """the receiver's state to equal ours"""
        return all(theirs(receiver, site) == ours(site) for site in sites)

    return check


def test_an_evse_status_saved_arrives_at_the_receiver_as_a_patch_through_the_worker(
    worker, push_partner, receiver
):
    site = build_site()
    wait_until(_in_sync(receiver, [site]))
    receiver.requests.clear()

    evse = EVSE.objects.get(location=site)
    evse.status = Status.CHARGING
    services.evse_update(evse=evse)

    wait_until(lambda: len(receiver.pushes()) == 1)
    evse.refresh_from_db()
    [patch] = receiver.pushes()
    assert (patch.method, patch.path) == (
        "PATCH",
        f"/ocpi/emsp/2.2.1/locations/NL/EXA/{site.id}/{evse.uid}",
    )
    assert patch.body == {
        "status": "CHARGING",
        "last_updated": format_ocpi_datetime(evse.last_updated),
    }
    assert theirs(receiver, site) == ours(site)


def test_changes_saved_while_the_broker_is_down_are_delivered_by_the_sweeper(
    worker, broker, push_partner, receiver
):
    from ocpi_site.celery import app

    site = build_site(n_evses=2)
    wait_until(_in_sync(receiver, [site]))
    evses = list(EVSE.objects.filter(location=site))

    good = app.conf.broker_url, app.conf.broker_transport_options
    point_app_at_broker("redis://127.0.0.1:1/0", {"socket_connect_timeout": 0.5})
    try:
        for i in range(20):
            evse = evses[i % 2]
            evse.status = FLIPS[i % 4]
            services.evse_update(evse=evse)  # the save succeeds although nothing is queued
    finally:
        point_app_at_broker(*good)
    assert theirs(receiver, site) != ours(site)

    sweeper.sweep(grace=0)

    wait_until(_in_sync(receiver, [site]))


def test_a_worker_killed_mid_delivery_leaves_nothing_behind_once_restarted(
    worker, push_partner, receiver
):
    sites = [build_site(n_evses=2) for _ in range(3)]
    wait_until(_in_sync(receiver, sites))
    receiver.requests.clear()
    receiver.delay = 0.3  # keep deliveries in flight when the worker dies
    evses = list(EVSE.objects.filter(location__in=sites))
    for i in range(30):
        evse = evses[i % len(evses)]
        evse.status = FLIPS[i % 4]
        services.evse_update(evse=evse)
    wait_until(lambda: len(receiver.requests) >= 2)

    worker.kill()
    receiver.delay = 0
    worker.start()

    # Lost messages and leases of the dead worker are what the sweeper (beat) is for.
    wait_until(_in_sync(receiver, sites), every=1, on_wait=lambda: sweeper.sweep(grace=0))


@pytest.mark.parametrize("worker_env", [{"PUSH_LANE_QUIET": "0.3", "PUSH_LANE_MAX_WAIT": "5"}])
def test_a_hundred_rapid_flips_reach_a_fast_receiver_in_few_messages_the_last_the_final_state(
    worker, push_partner, receiver
):
    site = build_site()
    wait_until(_in_sync(receiver, [site]))
    receiver.requests.clear()
    evse = EVSE.objects.get(location=site)
    saved_at = []
    for i in range(100):
        evse.status = FLIPS[i % 4]
        services.evse_update(evse=evse)
        saved_at.append(time.monotonic())

    wait_until(_in_sync(receiver, [site]))
    # The first flip at once (leading edge), the rest as one message once the EVSE has been
    # quiet for 0.3 s. A loaded host may pause between saves (each pause of 0.3 s or more
    # ends a burst: its trailing message, then the next leading edge) or take longer than
    # the 5 s max-wait (one more message each time): the bound counts those, not the clock.
    pauses = sum(1 for a, b in itertools.pairwise(saved_at) if b - a >= 0.3)
    max_waits = int((saved_at[-1] - saved_at[0]) // 5)
    statuses = [r.body["status"] for r in receiver.pushes()]
    assert 1 <= len(statuses) <= 2 + 2 * pauses + max_waits + 1
    assert statuses[-1] == "RESERVED"


# QUIET is large because the filesystem broker (SQLite runs) polls once a second.
@pytest.mark.parametrize("worker_env", [{"PUSH_LANE_QUIET": "4", "PUSH_LANE_MAX_WAIT": "8"}])
def test_a_change_of_an_evse_quiet_since_its_last_burst_goes_at_once(
    worker, push_partner, receiver
):
    site = build_site()
    wait_until(_in_sync(receiver, [site]))
    evse = EVSE.objects.get(location=site)
    for i in range(5):
        evse.status = FLIPS[i % 4]
        services.evse_update(evse=evse)
    # In sync, and the burst's trailing message (maybe carrying no news) sent too.
    wait_until(_in_sync(receiver, [site]))
    wait_until(lambda: not Delivery.objects.filter(status__in=Delivery.OPEN).exists())
    time.sleep(4.2)  # quiet for longer than PUSH_LANE_QUIET since the burst's last message
    receiver.requests.clear()

    evse.status = Status.OUTOFORDER  # (the burst ended on CHARGING)
    services.evse_update(evse=evse)
    wait_until(lambda: len(receiver.pushes()) == 1)
    assert receiver.pushes()[0].body["status"] == "OUTOFORDER"
    # The newest one: the burst's leading Delivery may have had a single change too.
    delivery = Delivery.objects.filter(evse=evse, status=Delivery.Status.SUCCEEDED).latest("id")
    assert delivery.changes == 1
    # Sent as soon as a worker had it: a held message would go out 4 s (the quiet period)
    # after its change at the earliest.
    assert (delivery.last_attempt_at - delivery.created_at).total_seconds() < 4


@pytest.mark.parametrize("worker_env", [{"PUSH_PARTNER_CONCURRENCY": "1"}])
def test_a_slow_partner_holds_its_own_slot_and_a_healthy_one_gets_its_changes_meanwhile(
    worker, push_partner, receiver
):
    # Two pool processes, one slot per partner: the slow partner can hold one process only.
    with Receiver() as healthy_receiver:
        healthy = add_push_partner(healthy_receiver, name="Healthy eMSP", party_id="HLT")
        receiver.delay = 1.5  # the slow partner (`push_partner`)
        sites = [build_site() for _ in range(6)]
        wait_until(_in_sync(healthy_receiver, sites))
        evse = EVSE.objects.get(location=sites[0])
        evse.status = Status.CHARGING
        services.evse_update(evse=evse)

        wait_until(lambda: len(healthy_receiver.pushes()) == 7)
        # The healthy partner had its change while the slow one was still working through
        # its backlog, one call at a time.
        slow_waiting = Delivery.objects.filter(
            partner=push_partner, status__in=Delivery.OPEN
        ).count()
        assert slow_waiting > 0
        assert Delivery.objects.filter(partner=healthy, status__in=Delivery.OPEN).count() == 0
        wait_until(_in_sync(receiver, sites), timeout=90)
        assert receiver.max_in_flight == 1
