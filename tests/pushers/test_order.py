"""Order under concurrency: changes of one Location saved by concurrent transactions, fanned
out and sent by concurrent workers, reach the partner in the order of their `last_updated`.

A receiver sets a Location's `last_updated` from every message about it or one of its EVSEs
or Connectors (OCPI 2.2.1, Locations module, 8.2.2 Receiver Interface), so a message about
an older change arriving after one about a newer change turns the partner's Location back in
time (the chaos run once ended with `last_updated: ours …28.559Z, theirs …28.471Z`).

These tests run real threads with their own database connections (`transaction=True`): on
PostgreSQL with real row locks (CI), on SQLite with its one writer at a time.
"""

import queue
import random
import threading
from collections.abc import Callable
from datetime import datetime

import pytest
from django.db import connection
from django.db.models import Max

from locations import services
from locations.enums import Status
from locations.models import EVSE, Connector, Location
from pushers import fanout, lanes, targets
from pushers.models import ChangeRecord, DeliveryAttempt, Lane
from versions.datetimes import parse_ocpi_datetime

from .conftest import add_push_partner, build_site, ours, theirs

pytestmark = pytest.mark.django_db(transaction=True)

STATUSES = [Status.AVAILABLE, Status.CHARGING, Status.BLOCKED, Status.RESERVED]


class Workers:
    """Threads standing in for Celery workers: the fan-out and lane tasks queued after each
    commit (`pushers.queue`) run here, concurrently, each thread with its own database
    connection. With `hold_sends`, lane tasks wait until `release_sends()`."""

    def __init__(self, monkeypatch, size: int) -> None:
        self.jobs: queue.Queue = queue.Queue()
        self.errors: list[BaseException] = []
        self.hold_sends = False
        self.held: list[int] = []
        monkeypatch.setattr("pushers.outbox.enqueue_fan_out", self._enqueue_fan_out)
        monkeypatch.setattr("pushers.queue.enqueue_lanes", self._enqueue_lanes)
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(size)]
        for thread in self.threads:
            thread.start()

    def _enqueue_fan_out(self, change_ids) -> bool:
        self.jobs.put((fanout.fan_out_changes, list(change_ids)))
        return True

    def _enqueue_lanes(self, lane_ids, *, countdown=None) -> int:
        lane_ids = list(lane_ids)
        if self.hold_sends:
            self.held += lane_ids
        else:
            for lane_id in lane_ids:
                self.jobs.put((lanes.send_lane, lane_id))
        return len(lane_ids)

    def release_sends(self) -> None:
        self.hold_sends = False
        self._enqueue_lanes(self.held)
        self.held = []

    def _run(self) -> None:
        while (item := self.jobs.get()) is not None:
            job, arg = item
            try:
                job(arg)
            except BaseException as exc:  # noqa: BLE001 - reported by the test, not lost in a thread
                self.errors.append(exc)
            finally:
                self.jobs.task_done()
        connection.close()

    def drain(self) -> None:
        self.jobs.join()
        assert not self.errors, f"a worker failed: {self.errors[0]!r}"

    def stop(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join(timeout=30)


def _in_threads(count: int, work: Callable[[int], None]) -> None:
    """Run `work(i)` in `count` threads at once, each with its own database connection;
    re-raise the first failure."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _change_something(rng: random.Random, site: Location) -> None:
    """One change of the site, in a transaction of its own: mostly the first EVSE (many
    changes of one object), else a sibling EVSE, a Connector or the Location itself."""
    roll = rng.random()
    if roll < 0.1:
        location = Location.objects.get(pk=site.pk)
        location.name = f"Station {rng.randrange(10**6)}"
        services.location_update(location=location)
    elif roll < 0.35:
        connector = rng.choice(list(Connector.objects.filter(evse__location=site)))
        connector.max_amperage = rng.choice([16, 32, 63, 125])
        services.connector_update(connector=connector)
    else:
        evses = list(EVSE.objects.filter(location=site).order_by("row_id"))
        evse = evses[0] if roll < 0.65 else rng.choice(evses[1:])
        evse.status = rng.choice([s for s in STATUSES if s != evse.status])
        services.evse_update(evse=evse)


def _not_back(values: list, what: str) -> None:
    back = next(((a, b) for a, b in zip(values, values[1:], strict=False) if b < a), None)
    assert back is None, f"{what} went back: {back}"


def _assert_in_order(receiver, site: Location, *, strict: bool) -> None:
    """Ours never went back, the partner was told about the changes in the order they were
    made and ends with our tree. `strict`: also, the partner's Location never went back."""
    # Ours: the Location's stamp is its newest child's, and the change records of one
    # Location carry non-decreasing stamps in the order of their ids (= commit order).
    location = Location.objects.get(pk=site.pk)
    newest_child = max(
        EVSE.objects.filter(location=site).aggregate(t=Max("last_updated"))["t"],
        Connector.objects.filter(evse__location=site).aggregate(t=Max("last_updated"))["t"],
    )
    assert location.last_updated >= newest_child, "ours is older than one of its children"
    records = ChangeRecord.objects.filter(location=site).order_by("id")
    _not_back(list(records.values_list("last_updated", flat=True)), "our change records")

    # The messages of the lane, in the order they were sent (one partner, no failures): the
    # newest change each carries (`queued_at`) never goes back.
    sent = list(
        DeliveryAttempt.objects.filter(delivery__location=site)
        .order_by("id")
        .values_list("delivery__queued_at", flat=True)
    )
    _not_back(sent, "the changes sent")

    # Theirs, after each message: never older than the newest change sent so far. (A message
    # is built at send time, so it may carry a change newer than its own, made while it
    # waited; the next message about an older change then sets the Location back a little,
    # to no less than that change. Only when nothing changes while sending does the
    # partner's Location never go back at all: `strict`.)
    seen = receiver.location_stamps[(site.country_code, site.party_id, site.id)]
    assert len(seen) == len(sent)
    newest: datetime | None = None
    for told, stamp in zip(sent, seen, strict=True):
        newest = max(newest or told, told)
        assert parse_ocpi_datetime(stamp) >= newest, f"the partner went back to {stamp}"
    if strict:
        _not_back([parse_ocpi_datetime(s) for s in seen], "the partner's Location")
    assert theirs(receiver, site) == ours(site)


# Sending while saving also needs the send loop to mark only the Deliveries still in the
# place it read them at (a fan-out may move one back between the read and the UPDATE, and a
# newer one would then go before an older one added meanwhile) and to lock them in id order
# (else it can deadlock with the fan-out's lock of the lane's pending Deliveries), both in
# `lane_sql.mark_sending`: docs/reliability.md, "Order of messages".
@pytest.mark.parametrize("send", ["while saving", "after saving"])
def test_concurrent_changes_reach_the_partner_in_the_order_of_their_last_updated(
    receiver, monkeypatch, send
):
    """Each round, 4 transactions at a time make 32 changes to two Locations (a third of
    them to one EVSE) while 6 workers fan them out; the lanes are sent at the same time, or
    once the round's changes are made. After each round ours and the partner's agree and
    neither went back in time."""
    workers = Workers(monkeypatch, size=6)
    try:
        add_push_partner(receiver)
        sites = [build_site(n_evses=3, connectors=2) for _ in range(2)]
        workers.drain()
        rng = random.Random(12)
        for round_ in range(20):
            seeds = [rng.randrange(10**9) for _ in range(4)]

            def write(i: int, seeds=seeds) -> None:
                writer = random.Random(seeds[i])
                for _ in range(8):
                    _change_something(writer, writer.choice(sites))

            workers.hold_sends = send == "after saving"
            _in_threads(4, write)
            workers.drain()
            workers.release_sends()
            workers.drain()
            for site in sites:
                try:
                    _assert_in_order(receiver, site, strict=send == "after saving")
                except AssertionError as exc:
                    exc.add_note(f"round {round_ + 1} of 20, Location {site.id}")
                    raise
    finally:
        workers.stop()


def test_concurrent_bulk_status_changes_in_opposite_orders_do_not_deadlock(receiver, monkeypatch):
    """Bulk changes lock the Locations they touch in one order (primary key), whatever the
    order of the EVSEs they are given, so two of them never wait for each other."""
    workers = Workers(monkeypatch, size=2)
    try:
        add_push_partner(receiver)
        sites = [build_site(n_evses=2, connectors=1) for _ in range(3)]
        workers.drain()
        evses = list(EVSE.objects.filter(location__in=sites).order_by("row_id"))

        def bulk(i: int) -> None:
            for n in range(10):
                order = evses if (i + n) % 2 else evses[::-1]
                services.evses_set_status(evses=order, status=STATUSES[(i + n) % 4])

        workers.hold_sends = True
        _in_threads(4, bulk)
        workers.drain()
        workers.release_sends()
        workers.drain()
        for site in sites:
            _assert_in_order(receiver, site, strict=True)
    finally:
        workers.stop()


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite has one writer at a time: no fan-out overtakes"
)
def test_a_fan_out_that_claimed_an_older_change_is_not_overtaken_by_a_newer_one(
    receiver, monkeypatch
):
    """The fan-out race of the chaos run, step by step: a fan-out has taken an older change
    and is slow; a newer change of a sibling EVSE is fanned out and sent meanwhile. The older
    one must not reach the partner after it (its Location would go back to the older
    `last_updated` and stay there)."""
    monkeypatch.setattr("pushers.outbox.enqueue_fan_out", lambda ids: True)
    monkeypatch.setattr("pushers.queue.enqueue_lanes", lambda ids, countdown=None: 0)
    add_push_partner(receiver)
    site = build_site(n_evses=2, connectors=1)
    fanout.fan_out_changes(ChangeRecord.objects.values_list("pk", flat=True))
    lane_id = Lane.objects.get(location=site).pk
    lanes.send_lane(lane_id)
    first, second = EVSE.objects.filter(location=site).order_by("row_id")
    paused, go = threading.Event(), threading.Event()
    partner_ids = targets.push_partner_ids

    def slow_partner_ids():  # between finding its records and merging them
        if threading.current_thread().name == "slow fan-out":
            paused.set()
            go.wait(10)
        return partner_ids()

    monkeypatch.setattr(targets, "push_partner_ids", slow_partner_ids)

    # given: the older change is being fanned out by a slow worker
    first.status = Status.CHARGING
    services.evse_update(evse=first)
    older = ChangeRecord.objects.latest("id").pk
    errors: list[BaseException] = []

    def fan_out_slowly() -> None:
        try:
            fanout.fan_out_changes([older])
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    slow = threading.Thread(target=fan_out_slowly, name="slow fan-out")
    slow.start()
    assert paused.wait(10)
    # when: a newer change of a sibling is fanned out and sent meanwhile, then the slow
    # worker goes on and the lane is sent again
    second.status = Status.BLOCKED
    services.evse_update(evse=second)
    fanout.fan_out_changes([ChangeRecord.objects.latest("id").pk])
    lanes.send_lane(lane_id)
    go.set()
    slow.join(10)
    assert not slow.is_alive() and not errors, errors
    lanes.send_lane(lane_id)

    # then: the partner got them in order and holds our Location
    _assert_in_order(receiver, site, strict=True)
