"""Bulk changes of one field of many rows (`locations.bulk_changes`): a constant number of
statements per batch whatever the batch holds, and every rule of the single-object services
(only real changes, `last_updated` up to the Location, one change record and one history
record per changed object, the version bump, removed EVSEs stay removed)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.context import acting_as
from locations import bulk_changes, services
from locations.bulk import locations_bulk_create
from locations.concurrency import StaleEdit
from locations.enums import Status
from locations.models import EVSE, Location
from pushers.models import ChangeRecord
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory


def make_sites(count: int, *, evses: int = 1, **fields) -> list[Location]:
    """`count` saved Locations with `evses` EVSEs each (the bulk import: quick)."""
    sites = [
        (
            LocationFactory.build(**fields),
            [(EVSEFactory.build(), [ConnectorFactory.build()]) for _ in range(evses)],
        )
        for _ in range(count)
    ]
    locations_bulk_create(sites=sites)
    return [location for location, _ in sites]


def new_records() -> list[dict]:
    """The change records written since the sites were made (their PUTs left out)."""
    return list(
        ChangeRecord.objects.exclude(method="PUT")
        .order_by("id")
        .values("level", "method", "location_id", "evse_id", "connector_id", "fields")
    )


# --- Statements: the same for 10 or 200 rows -------------------------------------------------


@pytest.mark.parametrize("status", [Status.BLOCKED, Status.REMOVED])
def test_a_status_change_of_10_or_200_evses_costs_the_same_8_statements(
    db, django_assert_num_queries, status
):
    """Savepoint, lock of the Locations, read of the EVSEs, UPDATE of the EVSEs, UPDATE of
    the Locations' last_updated, INSERT … SELECT of the history records, INSERT … SELECT of
    the change records, release."""
    small = [e.pk for e in EVSE.objects.filter(location__in=make_sites(10))]
    large = [e.pk for e in EVSE.objects.filter(location__in=make_sites(200))]

    with CaptureQueriesContext(connection) as measured:
        assert bulk_changes.set_evses_status(small, status).changed == 10
    with django_assert_num_queries(len(measured.captured_queries)):
        assert bulk_changes.set_evses_status(large, status).changed == 200

    assert len(measured.captured_queries) == 8
    assert EVSE.history.filter(row_id__in=large, status=status).count() == 200
    assert ChangeRecord.objects.filter(evse_id__in=large, fields=["status"]).count() == 200


@pytest.mark.parametrize("publish", [True, False])
def test_publishing_10_or_200_locations_costs_the_same_7_statements(
    db, django_assert_num_queries, publish
):
    """Savepoint, lock, read, UPDATE, history, change records, release."""
    small = [loc.pk for loc in make_sites(10, publish=not publish)]
    large = [loc.pk for loc in make_sites(200, publish=not publish)]

    with CaptureQueriesContext(connection) as measured:
        assert bulk_changes.set_locations_publish(small, publish).changed == 10
    with django_assert_num_queries(len(measured.captured_queries)):
        assert bulk_changes.set_locations_publish(large, publish).changed == 200

    assert len(measured.captured_queries) == 7
    assert Location.history.filter(row_id__in=large, publish=publish).count() == 200
    assert ChangeRecord.objects.filter(location_id__in=large, fields=["publish"]).count() == 200


def test_each_batch_costs_the_statements_of_one_and_keeps_the_order_of_the_locations(
    db, monkeypatch
):
    """Batches of 3: 7 EVSEs of 4 Locations take 3 batches of 6 statements (plus the
    savepoint pair), and their change records follow their Locations' order."""
    monkeypatch.setattr(bulk_changes, "BATCH", 3)
    sites = make_sites(4, evses=2)
    evses = list(EVSE.objects.filter(location__in=sites))[:7]

    with CaptureQueriesContext(connection) as queries:
        changed = services.evses_set_status(evses=reversed(evses), status=Status.CHARGING)

    assert (changed, len(queries.captured_queries)) == (7, 3 * 6 + 2)
    assert [r["location_id"] for r in new_records()] == sorted(e.location_id for e in evses)


# --- Rules -----------------------------------------------------------------------------------


def test_only_the_evses_that_really_change_are_written_stamped_and_recorded(db):
    (site,) = make_sites(1, evses=3)
    blocked, removed, available = EVSE.objects.filter(location=site).order_by("pk")
    services.evses_set_status(evses=[blocked], status=Status.BLOCKED)
    services.evse_remove(evse=removed)
    ChangeRecord.objects.all().delete()
    untouched = list(EVSE.objects.filter(pk__in=[blocked.pk, removed.pk]).values())

    outcome = bulk_changes.set_evses_status([blocked.pk, removed.pk, available.pk], Status.BLOCKED)

    assert outcome == bulk_changes.BulkOutcome(
        changed=1, already=1, refused=1, refused_ids=[removed.uid]
    )
    assert list(EVSE.objects.filter(pk__in=[blocked.pk, removed.pk]).values()) == untouched
    stored = EVSE.objects.get(pk=available.pk)
    assert (stored.status, stored.version) == (Status.BLOCKED, available.version + 1)
    assert Location.objects.get(pk=site.pk).last_updated == stored.last_updated
    assert list(
        ChangeRecord.objects.values(
            "level", "method", "location_id", "evse_id", "connector_id", "fields", "last_updated"
        )
    ) == [
        {
            "level": "evse",
            "method": "PATCH",
            "location_id": site.pk,
            "evse_id": available.pk,
            "connector_id": None,
            "fields": ["status"],
            "last_updated": stored.last_updated,
        }
    ]


def test_the_locations_of_evses_that_do_not_change_keep_their_last_updated(db):
    changing, unchanged = make_sites(2)
    EVSE.objects.filter(location=unchanged).update(status=Status.BLOCKED)
    before = Location.objects.get(pk=unchanged.pk).last_updated

    bulk_changes.set_evses_status(
        list(EVSE.objects.order_by("location_id").values_list("pk", flat=True)), Status.BLOCKED
    )

    assert Location.objects.get(pk=unchanged.pk).last_updated == before
    assert Location.objects.get(pk=changing.pk).last_updated > before


def test_the_stamp_is_never_older_than_the_locations_stored_one(db):
    """Another machine's clock ahead: the bulk change follows it, as a single save does."""
    (site,) = make_sites(1)
    ahead = Location.objects.get(pk=site.pk).last_updated + timedelta(minutes=5)
    Location.objects.filter(pk=site.pk).update(last_updated=ahead)

    services.evses_set_status(evses=EVSE.objects.filter(location=site), status=Status.BLOCKED)

    assert EVSE.objects.get(location=site).last_updated == ahead
    assert Location.objects.get(pk=site.pk).last_updated == ahead


def test_each_changed_evse_gets_one_history_record_saying_where_it_came_from(db):
    sites = make_sites(3)

    with acting_as("bulk status from the depot's script"):
        services.evses_set_status(
            evses=EVSE.objects.filter(location__in=sites), status=Status.OUTOFORDER
        )

    records = list(
        EVSE.history.filter(history_type="~").values(
            "row_id", "status", "version", "history_source", "history_user_id"
        )
    )
    assert sorted(records, key=lambda r: r["row_id"]) == [
        {
            "row_id": evse.pk,
            "status": Status.OUTOFORDER,
            "version": 2,
            "history_source": "bulk status from the depot's script",
            "history_user_id": None,
        }
        for evse in EVSE.objects.order_by("pk")
    ]


def test_an_open_form_of_an_evse_changed_in_bulk_is_refused_as_stale(db):
    (site,) = make_sites(1)
    form_shown = EVSE.objects.get(location=site)  # version 1 on the operator's page
    services.evses_set_status(evses=[form_shown], status=Status.CHARGING)

    form_shown.floor_level = "2"
    with pytest.raises(StaleEdit, match="status AVAILABLE → CHARGING"):
        services.evse_update(evse=form_shown, seen_version=1)


def test_an_unknown_status_is_refused_before_anything_is_written(db):
    (site,) = make_sites(1)

    with pytest.raises(Exception, match="'SLEEPING' is not an EVSE status"):
        services.evses_set_status(evses=EVSE.objects.filter(location=site), status="SLEEPING")

    assert EVSE.objects.get(location=site).version == 1
    assert new_records() == []


def test_publishing_a_location_with_publish_allowed_to_refuses_the_whole_service_call(db):
    free = make_sites(2, publish=False)
    (restricted,) = make_sites(1, publish=False, publish_allowed_to=[{"group_id": "FLEET-1"}])

    with pytest.raises(Exception, match=f"Nothing was published: {restricted.id} has"):
        services.locations_set_publish(locations=[*free, restricted], publish=True)

    assert set(Location.objects.values_list("publish", flat=True)) == {False}
    assert new_records() == []


def test_the_admin_form_of_publishing_leaves_restricted_locations_alone_and_names_them(db):
    free = make_sites(2, publish=False)
    (restricted,) = make_sites(1, publish=False, publish_allowed_to=[{"group_id": "FLEET-1"}])

    outcome = bulk_changes.set_locations_publish([loc.pk for loc in [*free, restricted]], True)

    assert outcome == bulk_changes.BulkOutcome(changed=2, refused=1, refused_ids=[restricted.id])
    assert not Location.objects.get(pk=restricted.pk).publish
    assert [r["location_id"] for r in new_records()] == [loc.pk for loc in free]
