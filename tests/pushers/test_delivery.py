"""Coalescing, order, retries, parking, pause, outage and full sync, against a real receiver."""

from datetime import timedelta

import pytest
from django.utils import timezone

from locations import services
from locations.enums import Status
from locations.models import EVSE, Connector
from pushers import fanout, lanes, operations, sweeper
from pushers.models import ChangeRecord, Delivery, DeliveryAttempt, Lane, PartnerPushState
from tests.factories import ConnectorFactory, EVSEFactory
from versions import connections
from versions.datetimes import format_ocpi_datetime, parse_ocpi_datetime

from .conftest import add_push_partner, build_site, ours, theirs

pytestmark = pytest.mark.usefixtures("eager")

BASE = "/ocpi/emsp/2.2.1/locations"
FLIPS = [Status.CHARGING, Status.AVAILABLE, Status.BLOCKED, Status.RESERVED]


@pytest.fixture
def pushed_site(push_partner, receiver, saved):
    site = saved(lambda: build_site(n_evses=2))
    receiver.requests.clear()
    return site


def _set_status(evse: EVSE, status: str) -> None:
    evse.status = status
    services.evse_update(evse=evse)


def _pushes(receiver):
    return [(r.method, r.path.removeprefix(BASE), r.body) for r in receiver.pushes()]


# --- Capture ---------------------------------------------------------------------------------


@pytest.mark.parametrize("partners", [1, 5])
def test_a_save_costs_the_same_queries_whatever_the_number_of_partners(
    db, receiver, partners, django_assert_num_queries, django_capture_on_commit_callbacks
):
    for i in range(partners):
        add_push_partner(receiver, name=f"eMSP {i}", party_id=f"EM{i}")
    site = build_site()
    evse = EVSE.objects.get(location=site)
    evse.status = Status.CHARGING

    # Savepoint, lock of the Location, read, three validation queries (with their savepoint),
    # two UPDATEs (EVSE, Location), one INSERT of the history record (audit trail) and one
    # INSERT of the change record: 13, for any number of partners (11 before the Location's
    # lock, which keeps its changes in the order of their `last_updated`:
    # locations/services.py). The fan-out per partner happens in the worker, after the commit.
    with django_assert_num_queries(13), django_capture_on_commit_callbacks() as callbacks:
        services.evse_update(evse=evse)

    assert len(callbacks) == 1
    assert Delivery.objects.filter(evse=evse).count() == 0


def test_a_change_is_queued_after_commit_with_the_record_id_only(
    pushed_site, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        "pushers.tasks.fan_out_changes.apply_async", lambda args: queued.append(args)
    )
    evse = EVSE.objects.filter(location=pushed_site).first()
    with django_capture_on_commit_callbacks(execute=True):
        _set_status(evse, Status.CHARGING)

    record = ChangeRecord.objects.latest("id")
    assert queued == [[[record.pk]]]


def test_a_save_succeeds_when_the_broker_is_unreachable_and_the_sweeper_sends_it_later(
    pushed_site, receiver, saved, django_capture_on_commit_callbacks
):
    from ocpi_site.celery import app

    evse = EVSE.objects.filter(location=pushed_site).first()
    app.conf.task_always_eager = False
    old_url = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    app._pool = None
    app.amqp._producer_pool = None
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _set_status(evse, Status.CHARGING)
    finally:
        app.conf.broker_url = old_url
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.task_always_eager = True

    record = ChangeRecord.objects.latest("id")
    assert record.fanned_out_at is None
    assert receiver.pushes() == []

    with django_capture_on_commit_callbacks(execute=True):
        result = sweeper.sweep(grace=0)

    assert result.change_records == 1
    evse.refresh_from_db()
    assert _pushes(receiver) == [
        (
            "PATCH",
            f"/NL/EXA/{pushed_site.id}/{evse.uid}",
            {"status": "CHARGING", "last_updated": format_ocpi_datetime(evse.last_updated)},
        )
    ]


# --- Coalescing and order --------------------------------------------------------------------


def test_a_hundred_status_flips_while_the_partner_is_down_become_one_patch_with_the_last_state(
    pushed_site, push_partner, receiver, saved, settings
):
    settings.PUSH_RETRY_BACKOFF_BASE = 60  # no retry falls due while the flips are made
    evse = EVSE.objects.filter(location=pushed_site).first()
    receiver.stop()
    for i in range(100):
        saved(lambda i=i: _set_status(evse, FLIPS[i % 4]))
    # The first flip was tried once and failed; the other 99 waited for the lane's backoff.
    assert DeliveryAttempt.objects.filter(outcome="transient").count() == 1

    receiver.start()
    saved(lambda: operations.partner_retry_now(push_partner.pk))

    evse.refresh_from_db()
    assert evse.status == Status.RESERVED
    assert _pushes(receiver) == [
        (
            "PATCH",
            f"/NL/EXA/{pushed_site.id}/{evse.uid}",
            {"status": "RESERVED", "last_updated": format_ocpi_datetime(evse.last_updated)},
        )
    ]
    assert theirs(receiver, pushed_site) == ours(pushed_site)
    delivery = Delivery.objects.get(evse=evse, status=Delivery.Status.SUCCEEDED, attempts=2)
    assert delivery.changes == 100


def test_patch_fields_of_one_object_add_up_while_it_waits(
    pushed_site, push_partner, receiver, saved
):
    operations.partner_set_paused(push_partner.pk, paused=True)
    connector = Connector.objects.filter(evse__location=pushed_site).first()
    connector.max_amperage = 32
    saved(lambda: services.connector_update(connector=connector))
    connector.tariff_ids = ["AC-1"]
    saved(lambda: services.connector_update(connector=connector))

    saved(lambda: operations.partner_set_paused(push_partner.pk, paused=False))

    connector.refresh_from_db()
    assert _pushes(receiver) == [
        (
            "PATCH",
            f"/NL/EXA/{pushed_site.id}/{connector.evse.uid}/{connector.id}",
            {
                "max_amperage": 32,
                "tariff_ids": ["AC-1"],
                "last_updated": format_ocpi_datetime(connector.last_updated),
            },
        )
    ]
    assert theirs(receiver, pushed_site) == ours(pushed_site)


def test_a_new_evse_changed_before_it_was_sent_goes_as_one_put_with_its_latest_state(
    pushed_site, push_partner, receiver, saved
):
    operations.partner_set_paused(push_partner.pk, paused=True)
    evse = EVSEFactory.build(location=pushed_site)
    saved(lambda: services.evse_create(evse=evse, connectors=[ConnectorFactory.build()]))
    saved(lambda: _set_status(evse, Status.OUTOFORDER))

    saved(lambda: operations.partner_set_paused(push_partner.pk, paused=False))

    [(method, path, body)] = _pushes(receiver)
    assert (method, path, body["status"]) == (
        "PUT",
        f"/NL/EXA/{pushed_site.id}/{evse.uid}",
        "OUTOFORDER",
    )
    assert theirs(receiver, pushed_site) == ours(pushed_site)


def test_a_put_of_the_location_covers_the_pending_changes_of_its_evses_and_connectors(
    pushed_site, push_partner, receiver, saved
):
    operations.partner_set_paused(push_partner.pk, paused=True)
    evse = EVSE.objects.filter(location=pushed_site).first()
    saved(lambda: _set_status(evse, Status.CHARGING))
    connector = Connector.objects.filter(evse__location=pushed_site).last()
    connector.max_amperage = 63
    saved(lambda: services.connector_update(connector=connector))
    saved(lambda: operations.full_sync_start(partner_id=push_partner.pk))
    saved(lambda: _set_status(evse, Status.AVAILABLE))  # covered by the pending PUT too

    saved(lambda: operations.partner_set_paused(push_partner.pk, paused=False))

    assert _pushes(receiver) == [("PUT", f"/NL/EXA/{pushed_site.id}", ours(pushed_site))]
    assert theirs(receiver, pushed_site) == ours(pushed_site)
    assert sorted(Delivery.objects.values_list("status", flat=True)) == [
        "succeeded",  # the site's creation
        "succeeded",  # the full sync's PUT
        "superseded",
        "superseded",
    ]


def test_deliveries_for_one_location_arrive_in_the_order_of_the_changes(
    pushed_site, push_partner, receiver, saved
):
    operations.partner_set_paused(push_partner.pk, paused=True)
    pushed_site.name = "Renamed"
    saved(lambda: services.location_update(location=pushed_site))
    evse = EVSEFactory.build(location=pushed_site)
    saved(lambda: services.evse_create(evse=evse, connectors=[ConnectorFactory.build()]))
    first_evse = EVSE.objects.filter(location=pushed_site).first()
    saved(lambda: _set_status(first_evse, Status.CHARGING))

    saved(lambda: operations.partner_set_paused(push_partner.pk, paused=False))

    # The Location's PATCH is built at send time and carries the Location's `last_updated`,
    # which the EVSE changes made after it moved on: it goes after them (with the newest of
    # them, oldest Delivery first), so that the partner's Location never goes back.
    assert [(m, p) for m, p, _ in _pushes(receiver)] == [
        ("PUT", f"/NL/EXA/{pushed_site.id}/{evse.uid}"),
        ("PATCH", f"/NL/EXA/{pushed_site.id}"),
        ("PATCH", f"/NL/EXA/{pushed_site.id}/{first_evse.uid}"),
    ]
    stamps = [
        parse_ocpi_datetime(s) for s in receiver.location_stamps[("NL", "EXA", pushed_site.id)]
    ]
    assert stamps == sorted(stamps)
    assert theirs(receiver, pushed_site) == ours(pushed_site)


def test_a_lane_held_by_another_worker_is_left_alone_until_its_lease_runs_out(
    pushed_site, push_partner, receiver, saved
):
    lane = Lane.objects.get(partner=push_partner, location=pushed_site)
    Lane.objects.filter(pk=lane.pk).update(
        busy_until=timezone.now() + timedelta(minutes=1), claim_token="other-worker"
    )
    evse = EVSE.objects.filter(location=pushed_site).first()
    saved(lambda: _set_status(evse, Status.CHARGING))
    assert receiver.pushes() == []

    Lane.objects.filter(pk=lane.pk).update(busy_until=timezone.now() - timedelta(seconds=1))
    saved(lambda: sweeper.sweep(grace=0))

    assert [m for m, _, _ in _pushes(receiver)] == ["PATCH"]
    assert theirs(receiver, pushed_site) == ours(pushed_site)


# --- Retries and parking ---------------------------------------------------------------------


@pytest.mark.parametrize("answer", [(500, 3000), (503, 3000), (429, 2000), (200, 3001)], ids=str)
def test_a_transient_failure_is_retried_later_and_then_succeeds(
    pushed_site, push_partner, receiver, saved, answer
):
    receiver.answer_next(answer)
    evse = EVSE.objects.filter(location=pushed_site).first()
    saved(lambda: _set_status(evse, Status.CHARGING))

    delivery = Delivery.objects.get(evse=evse)
    assert (delivery.status, delivery.attempts, delivery.last_http_status) == (
        "pending",
        1,
        answer[0],
    )
    assert delivery.next_attempt_at > timezone.now()
    assert delivery.first_failure_at is not None

    saved(lambda: operations.partner_retry_now(push_partner.pk))

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_http_status) == ("succeeded", 2, 200)
    assert list(delivery.attempts_made.order_by("id").values_list("outcome", flat=True)) == [
        "transient",
        "success",
    ]
    assert theirs(receiver, pushed_site) == ours(pushed_site)


def test_a_receiver_that_times_out_is_retried_and_gets_the_state_once_it_answers(
    pushed_site, push_partner, receiver, saved, settings
):
    settings.OCPI_HTTP_READ_TIMEOUT = 0.2
    connections._client = None  # the pooled client keeps the timeouts it was built with
    receiver.delay = 0.6
    evse = EVSE.objects.filter(location=pushed_site).first()
    saved(lambda: _set_status(evse, Status.CHARGING))
    saved(lambda: _set_status(evse, Status.BLOCKED))

    delivery = Delivery.objects.get(evse=evse, status="pending")
    assert delivery.last_error.startswith("timeout")

    receiver.delay = 0
    saved(lambda: operations.partner_retry_now(push_partner.pk))

    assert theirs(receiver, pushed_site) == ours(pushed_site)
    assert theirs(receiver, pushed_site)["evses"][0]["status"] == "BLOCKED"


@pytest.mark.parametrize("answer", [(400, 2001), (404, 2003), (200, 2001)], ids=str)
def test_a_permanent_failure_is_parked_with_its_reason_and_later_changes_still_flow(
    pushed_site, receiver, saved, answer
):
    receiver.answer_next(answer)
    first, second = EVSE.objects.filter(location=pushed_site)
    saved(lambda: _set_status(first, Status.CHARGING))
    saved(lambda: _set_status(second, Status.CHARGING))

    parked = Delivery.objects.get(evse=first)
    assert parked.status == "failed"
    assert parked.attempts == 1
    assert parked.last_error == f"HTTP {answer[0]} OCPI {answer[1]}: as told"
    assert Delivery.objects.get(evse=second).status == "succeeded"


def test_retry_now_sends_a_parked_delivery_again(pushed_site, receiver, saved):
    receiver.answer_next((400, 2001))
    evse = EVSE.objects.filter(location=pushed_site).first()
    saved(lambda: _set_status(evse, Status.CHARGING))
    parked = Delivery.objects.get(evse=evse)

    saved(lambda: operations.deliveries_retry_now([parked]))

    parked.refresh_from_db()
    assert (parked.status, parked.attempts) == ("succeeded", 2)
    assert theirs(receiver, pushed_site) == ours(pushed_site)


def test_discarded_deliveries_are_not_sent(pushed_site, push_partner, receiver, saved):
    operations.partner_set_paused(push_partner.pk, paused=True)
    evse = EVSE.objects.filter(location=pushed_site).first()
    saved(lambda: _set_status(evse, Status.CHARGING))
    operations.deliveries_discard(Delivery.objects.filter(evse=evse))

    saved(lambda: operations.partner_set_paused(push_partner.pk, paused=False))

    assert receiver.pushes() == []
    assert Delivery.objects.get(evse=evse).status == "discarded"


def test_a_paused_partner_gets_nothing_until_resumed_then_the_latest_state(
    pushed_site, push_partner, receiver, saved
):
    operations.partner_set_paused(push_partner.pk, paused=True)
    evse = EVSE.objects.filter(location=pushed_site).first()
    for status in FLIPS:
        saved(lambda status=status: _set_status(evse, status))
    saved(lambda: sweeper.sweep(grace=0))
    assert receiver.pushes() == []

    saved(lambda: operations.partner_set_paused(push_partner.pk, paused=False))

    assert [(m, b["status"]) for m, _, b in _pushes(receiver)] == [("PATCH", "RESERVED")]
    assert theirs(receiver, pushed_site) == ours(pushed_site)


def test_after_the_retry_window_a_long_outage_ends_with_a_full_sync_not_a_replay(
    pushed_site, push_partner, receiver, saved, settings
):
    settings.PUSH_RETRY_WINDOW = 0
    receiver.answer_next((503, 3000), (503, 3000))
    evse = EVSE.objects.filter(location=pushed_site).first()
    saved(lambda: _set_status(evse, Status.CHARGING))
    saved(lambda: operations.partner_retry_now(push_partner.pk))  # second failure: window exceeded

    assert Delivery.objects.get(evse=evse).status == "expired"
    state = PartnerPushState.objects.get(partner=push_partner)
    assert state.needs_full_sync
    saved(lambda: _set_status(evse, Status.BLOCKED))  # the outage goes on; so do changes
    receiver.requests.clear()

    PartnerPushState.objects.filter(pk=state.pk).update(full_sync_after=timezone.now())
    saved(lambda: sweeper.sweep(grace=0))

    assert [(m, p) for m, p, _ in _pushes(receiver)] == [("PUT", f"/NL/EXA/{pushed_site.id}")]
    assert theirs(receiver, pushed_site) == ours(pushed_site)
    assert not PartnerPushState.objects.get(pk=state.pk).needs_full_sync


def test_receiver_down_during_200_changes_ends_with_its_state_equal_to_ours(
    push_partner, receiver, saved, settings
):
    settings.PUSH_RETRY_BACKOFF_BASE = 60  # no retry falls due while the changes are made
    sites = [saved(lambda: build_site(n_evses=3)) for _ in range(2)]
    receiver.requests.clear()
    receiver.stop()
    evses = list(EVSE.objects.filter(location__in=sites))
    connectors = list(Connector.objects.filter(evse__in=evses))
    for i in range(200):
        if i % 5 == 4:
            connector = connectors[i % len(connectors)]
            connector.max_amperage = 16 + i
            saved(lambda c=connector: services.connector_update(connector=c))
        else:
            saved(lambda i=i: _set_status(evses[i % len(evses)], FLIPS[i % 4]))
    attempts_while_down = DeliveryAttempt.objects.filter(outcome="transient").count()
    assert attempts_while_down == len(sites)  # each lane tried once, then waited

    receiver.start()
    saved(lambda: operations.partner_retry_now(push_partner.pk))

    for site in sites:
        assert theirs(receiver, site) == ours(site)
    # At most one message per changed object: the history was not replayed.
    assert len(receiver.pushes()) <= len(evses) + len(connectors)
    assert not Delivery.objects.filter(status__in=["pending", "sending"]).exists()


# --- Full sync -------------------------------------------------------------------------------


def test_a_full_sync_puts_every_location_and_reports_its_progress(push_partner, receiver, saved):
    sites = [saved(build_site) for _ in range(3)]
    receiver.requests.clear()
    receiver.locations.clear()

    sync = saved(
        lambda: operations.full_sync_start(partner_id=push_partner.pk, requested_by="test")
    )

    assert sorted((m, p) for m, p, _ in _pushes(receiver)) == sorted(
        ("PUT", f"/NL/EXA/{site.id}") for site in sites
    )
    assert operations.full_sync_progress(sync) == (3, 3)
    for site in sites:
        assert theirs(receiver, site) == ours(site)


def test_a_lane_task_of_five_patches_costs_few_statements(
    push_partner, receiver, saved, django_assert_num_queries
):
    """Sending is bound by database round trips: a lane task of 5 EVSE PATCHes takes one of
    the partner's slots (1), claims the lane (1), reads the lane, its partner and its
    Deliveries (1), marks them sending and reads them again (2), reads the EVSEs (1), reads
    the partner again before each call after the first (4: nothing goes out after an
    unregistering, a pause or a token rotation), records attempts and outcomes (savepoint,
    2, release savepoint: the partner's last success was written under a second ago, so not
    again), releases the lane, writing its state (1), looks for the partner's next due lane
    while holding the slot (1), releases the slot (1) and looks once more (1): 18. It was 11
    before the per-partner slots and the re-read before each call (issue 12)."""
    site = saved(lambda: build_site(n_evses=5))
    evses = list(EVSE.objects.filter(location=site))
    # Five changes queued in the lane, not sent yet (the fan-out's queued task is not run).
    for evse in evses:
        evse.status = Status.CHARGING
        services.evse_update(evse=evse)
    fanout.fan_out_changes(
        ChangeRecord.objects.filter(fanned_out_at__isnull=True).values_list("pk", flat=True)
    )
    Lane.objects.update(sent_at={})  # out of the debounce window of the creation's PUT
    PartnerPushState.objects.update(last_success_at=timezone.now())
    receiver.requests.clear()
    lane = Lane.objects.get(location=site)
    with django_assert_num_queries(18):
        assert lanes.send_lane(lane.pk).sent == 5
    assert [m for m, _, _ in _pushes(receiver)] == ["PATCH"] * 5
