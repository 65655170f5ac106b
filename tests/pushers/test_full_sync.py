"""A full sync is queued PUSH_FULL_SYNC_BATCH Locations per transaction (one task each), so
none grows with the platform; a lost batch task is queued again by the sweeper; the command
sends while it queues and ends when the last Location is sent."""

from io import StringIO

import pytest
from django.core.management import call_command

from pushers import operations, slots, sweeper
from pushers.models import Delivery, FullSync

from .conftest import build_site, ours, theirs

pytestmark = pytest.mark.usefixtures("eager")


@pytest.fixture
def five_sites(push_partner, receiver, saved, settings):
    settings.PUSH_FULL_SYNC_BATCH = 2
    sites = [saved(build_site) for _ in range(5)]
    receiver.requests.clear()
    receiver.locations.clear()
    return sites


def _put_paths(receiver) -> list[str]:
    return sorted(r.path.rsplit("/", 1)[-1] for r in receiver.pushes() if r.method == "PUT")


def test_a_full_sync_queues_its_locations_in_batches_each_batch_a_task_of_its_own(
    five_sites, push_partner, receiver, saved
):
    sync = saved(lambda: operations.full_sync_start(partner_id=push_partner.pk))

    sync.refresh_from_db()
    assert (sync.locations_queued, sync.total, sync.queuing_done_at is not None) == (5, 5, True)
    assert _put_paths(receiver) == sorted(site.id for site in five_sites)
    assert operations.full_sync_progress(sync) == (5, 5)
    for site in five_sites:
        assert theirs(receiver, site) == ours(site)


def test_the_first_batch_is_queued_at_once_and_the_rest_by_tasks(five_sites, push_partner):
    # Outside `saved`, nothing queued after commit runs: only the first batch is there.
    sync = operations.full_sync_start(partner_id=push_partner.pk)

    assert (sync.locations_queued, sync.total, sync.queuing_done_at) == (2, 5, None)
    assert Delivery.objects.filter(full_sync=sync).count() == 2
    assert operations.full_sync_progress(sync) == (0, 5)


def test_a_batch_task_lost_with_its_broker_is_queued_again_by_the_sweeper(
    five_sites, push_partner, receiver, saved
):
    sync = operations.full_sync_start(partner_id=push_partner.pk)  # its next task: lost

    result = saved(lambda: sweeper.sweep(grace=0))

    sync.refresh_from_db()
    assert result.full_sync_batches == 1
    assert (sync.locations_queued, sync.queuing_done_at is not None) == (5, True)
    assert _put_paths(receiver) == sorted(site.id for site in five_sites)


def test_a_batch_run_twice_queues_nothing_twice(five_sites, push_partner):
    sync = operations.full_sync_start(partner_id=push_partner.pk)

    assert operations.full_sync_continue(sync.pk) is False  # Locations 3 and 4
    assert operations.full_sync_continue(sync.pk) is True  # Location 5: the last batch
    assert operations.full_sync_continue(sync.pk) is True  # a late duplicate: nothing

    sync.refresh_from_db()
    assert (sync.locations_queued, sync.total) == (5, 5)
    assert Delivery.objects.filter(full_sync=sync).count() == 5


@pytest.mark.parametrize("batch", [2, 4])
def test_a_batch_costs_the_same_statements_whatever_its_size(
    push_partner, receiver, saved, settings, batch, django_assert_num_queries
):
    settings.PUSH_FULL_SYNC_BATCH = batch
    for _ in range(2 * batch + 1):
        saved(build_site)
    sync = operations.full_sync_start(partner_id=push_partner.pk)

    # In a savepoint: the sync row locked, the partner's Receiver (endpoint and roles), the
    # batch's Locations, their lanes (made and locked) and pending Deliveries, the
    # Deliveries written in bulk, the sync row saved.
    with django_assert_num_queries(11):
        assert operations.full_sync_continue(sync.pk) is False  # a whole batch, not the last


def test_the_command_sends_every_batch_itself_and_ends_with_the_last(
    five_sites, push_partner, receiver
):
    out = StringIO()

    call_command("ocpi_push_sync", partner=push_partner.name, stdout=out)

    output = out.getvalue()
    sync = FullSync.objects.get()
    assert f"Full sync #{sync.pk}: 5 Locations to {push_partner}." in output
    assert output.rstrip().endswith("Done: 5 succeeded.")
    assert "\r[" + "#" * 40 + "] 5/5 (100%)" in output
    # At most once a second, and once at the end: a quick run prints two bars.
    assert output.count("\r[") <= 3
    assert _put_paths(receiver) == sorted(site.id for site in five_sites)


def test_the_command_ends_when_the_last_delivery_is_done(five_sites, push_partner, receiver):
    call_command("ocpi_push_sync", partner=push_partner.name, stdout=StringIO())

    sync = FullSync.objects.get()
    assert not Delivery.objects.filter(full_sync=sync, status__in=Delivery.OPEN).exists()
    assert operations.full_sync_progress(sync) == (5, 5)
    assert len(_put_paths(receiver)) == 5


def test_the_command_waits_while_the_workers_hold_every_slot_then_sends(
    five_sites, push_partner, receiver, settings
):
    settings.PUSH_LANE_LEASE = 1
    slots.ensure([push_partner.pk])
    # Two workers' slot holders (whose leases run out in a second: they "finish").
    assert slots.acquire_for_partner(push_partner.pk, "worker-1")
    assert slots.acquire_for_partner(push_partner.pk, "worker-2")
    out = StringIO()

    call_command("ocpi_push_sync", partner=push_partner.name, stdout=out)

    assert out.getvalue().rstrip().endswith("Done: 5 succeeded.")
    assert _put_paths(receiver) == sorted(site.id for site in five_sites)


class _Clock:
    """The command's clock: `step` seconds pass at each look; sleeping takes no time."""

    def __init__(self, step: float) -> None:
        self.now, self.step, self.looks = 1000.0, step, 0

    def monotonic(self) -> float:
        self.now += self.step
        self.looks += 1
        return self.now

    def sleep(self, seconds: float) -> None:
        pass


@pytest.mark.parametrize("step", [0.0, 0.5, 1.0])
def test_the_command_writes_its_progress_at_most_once_a_second(
    five_sites, push_partner, monkeypatch, step
):
    from pushers.management.commands import ocpi_push_sync

    clock = _Clock(step)
    monkeypatch.setattr(ocpi_push_sync, "time", clock)
    out = StringIO()

    call_command("ocpi_push_sync", partner=push_partner.name, stdout=out)

    # Each look at the progress reads the clock once; the first writes, then one a second
    # later (every look with a 1 s step, every other one with 0.5 s, none with a stopped
    # clock), and the last look always writes (the final bar).
    looks = clock.looks
    expected = {0.0: 2, 0.5: looks // 2 + 1, 1.0: looks}[step]
    assert looks > 3
    assert out.getvalue().count("\r[") == expected
