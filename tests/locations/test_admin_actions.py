"""The bulk actions of the Location and EVSE lists: the permission each needs, the
confirmation of "Mark removed", the level of their messages, and what they change (only the
selected rows, only the field the action is about, in a constant number of queries)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from locations import services
from locations.enums import Status
from locations.models import EVSE, Location
from pushers.models import ChangeRecord
from tests.locations.test_admin import (
    EVSE_LIST,
    LOCATION_LIST,
    _make_sites,
    evse_url,
    location_url,
    messages_of,
    page_text,
)

EVSE_ACTIONS = [f"set_status_{s.lower()}" for s in Status.values if s != Status.REMOVED] + [
    "mark_removed"
]
LOCATION_ACTIONS = ["publish_locations", "unpublish_locations"]


def staff_client(*permissions: str) -> Client:
    user = get_user_model().objects.create_user("desk", "desk@example.com", "pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer(db) -> Client:
    """A support desk user: may look at Locations, EVSEs and Connectors, not change them."""
    return staff_client("view_location", "view_evse", "view_connector")


def evse_rows():
    return list(EVSE.objects.order_by("pk").values())


# --- Permissions ----------------------------------------------------------------------------


def test_a_viewer_sees_no_action_and_the_pages_read_only(viewer, site):
    evse = site.evses.get()
    evse_list = page_text(viewer.get(EVSE_LIST))
    location_list = page_text(viewer.get(LOCATION_LIST))
    for action in EVSE_ACTIONS:
        assert f'value="{action}"' not in evse_list
    for action in LOCATION_ACTIONS:
        assert f'value="{action}"' not in location_list
    for url in (location_url(site), evse_url(evse)):
        response = viewer.get(url)
        assert response.status_code == 200
        assert "seen_version" not in page_text(response)  # nothing to save, nothing to carry
        assert viewer.get(url.replace("/change/", "/history/")).status_code == 200


@pytest.mark.parametrize("action", EVSE_ACTIONS)
def test_a_viewer_posting_an_evse_action_anyway_gets_403_and_nothing_changes(viewer, site, action):
    before, records = evse_rows(), ChangeRecord.objects.count()
    evse = site.evses.get()

    for extra in ({}, {"post": "yes"}):
        response = viewer.post(
            EVSE_LIST, {"action": action, "_selected_action": [evse.pk], **extra}
        )
        assert response.status_code == 403

    assert evse_rows() == before
    assert ChangeRecord.objects.count() == records


@pytest.mark.parametrize("action", LOCATION_ACTIONS)
def test_a_viewer_posting_a_location_action_anyway_gets_403_and_nothing_changes(
    viewer, site, action
):
    before = list(Location.objects.values())

    response = viewer.post(LOCATION_LIST, {"action": action, "_selected_action": [site.pk]})

    assert response.status_code == 403
    assert list(Location.objects.values()) == before


def test_the_change_permission_is_what_the_actions_need(db, site):
    operator = staff_client("view_location", "change_location", "view_evse", "change_evse")
    assert 'value="mark_removed"' in page_text(operator.get(EVSE_LIST))
    assert 'value="publish_locations"' in page_text(operator.get(LOCATION_LIST))

    response = operator.post(
        EVSE_LIST,
        {"action": "set_status_charging", "_selected_action": [site.evses.get().pk]},
        follow=True,
    )

    assert messages_of(response) == [("success", "1 EVSE set to CHARGING.")]


# --- Mark removed asks first ----------------------------------------------------------------


def test_mark_removed_first_shows_a_confirmation_page_and_changes_nothing(admin_client):
    sites = _make_sites(2)
    evses = [site.evses.get() for site in sites]
    services.evse_remove(evse=evses[1])
    before, records = evse_rows(), ChangeRecord.objects.count()

    response = admin_client.post(
        EVSE_LIST, {"action": "mark_removed", "_selected_action": [e.pk for e in evses]}
    )

    assert response.status_code == 200
    text = page_text(response)
    assert "Mark EVSEs removed? This cannot be undone" in text
    assert (
        f"EVSE {evses[0].evse_id} (uid {evses[0].uid}), status AVAILABLE, at Location "
        f"{sites[0].id}" in text
    )
    assert "Removed already (left as they are)" in text
    assert 'value="Yes, mark 1 EVSE removed"' in text
    assert f'href="{EVSE_LIST}" class="button cancel-link">No, take me back</a>' in text
    for evse in evses:
        assert f'name="_selected_action" value="{evse.pk}"' in text
    assert evse_rows() == before
    assert ChangeRecord.objects.count() == records


def test_mark_removed_marks_them_when_confirmed(admin_client):
    sites = _make_sites(2)
    evses = [site.evses.get() for site in sites]
    records = ChangeRecord.objects.count()

    response = admin_client.post(
        EVSE_LIST,
        {"action": "mark_removed", "_selected_action": [e.pk for e in evses], "post": "yes"},
        follow=True,
    )

    assert messages_of(response) == [("success", "2 EVSEs set to REMOVED.")]
    assert [EVSE.objects.get(pk=e.pk).status for e in evses] == ["REMOVED", "REMOVED"]
    new = ChangeRecord.objects.order_by("id")[records:]
    assert [(r.evse_id, r.method, r.fields) for r in new] == [
        (e.pk, "PATCH", ["status"]) for e in evses
    ]


# --- Messages: refusals are warnings or errors ----------------------------------------------


def test_a_status_every_selected_evse_has_already_is_a_warning(admin_client):
    evses = [site.evses.get() for site in _make_sites(2)]

    response = admin_client.post(
        EVSE_LIST,
        {"action": "set_status_available", "_selected_action": [e.pk for e in evses]},
        follow=True,
    )

    assert messages_of(response) == [("warning", "2 EVSEs had the status AVAILABLE already.")]


def test_removed_evses_left_as_removed_are_a_warning_next_to_the_success(admin_client):
    evses = [site.evses.get() for site in _make_sites(3)]
    services.evse_remove(evse=evses[0])
    services.evses_set_status(evses=[evses[1]], status=Status.BLOCKED)

    response = admin_client.post(
        EVSE_LIST,
        {"action": "set_status_blocked", "_selected_action": [e.pk for e in evses]},
        follow=True,
    )

    assert messages_of(response) == [
        ("success", "1 EVSE set to BLOCKED."),
        ("info", "1 EVSE had the status BLOCKED already."),
        ("warning", "1 removed EVSE left as removed: a removed EVSE stays removed."),
    ]


def test_publishing_only_blocked_locations_is_an_error_and_no_success(admin_client):
    (restricted,) = _make_sites(1, publish=False, publish_allowed_to=[{"group_id": "FLEET-1"}])

    response = admin_client.post(
        LOCATION_LIST,
        {"action": "publish_locations", "_selected_action": [restricted.pk]},
        follow=True,
    )

    assert [level for level, _ in messages_of(response)] == ["error"]
    assert not Location.objects.get(pk=restricted.pk).publish


def test_unpublishing_unpublished_locations_is_a_warning(admin_client):
    sites = _make_sites(2, publish=False)

    response = admin_client.post(
        LOCATION_LIST,
        {"action": "unpublish_locations", "_selected_action": [s.pk for s in sites]},
        follow=True,
    )

    assert messages_of(response) == [("warning", "2 Locations were unpublished already.")]


# --- What bulk changes write ----------------------------------------------------------------


def test_a_bulk_status_change_writes_only_the_status_of_the_selected_rows(site):
    """The EVSE instances given may be older than the stored rows (a list page read before
    someone else's save): only their status is written, from the stored row."""
    evse = site.evses.get()
    (other_site,) = _make_sites(1)
    stale = EVSE.objects.get(pk=evse.pk)
    fresh = EVSE.objects.get(pk=evse.pk)
    fresh.floor_level = "-3"
    services.evse_update(evse=fresh)
    untouched = list(EVSE.objects.filter(location=other_site).values())

    assert services.evses_set_status(evses=[stale], status=Status.CHARGING) == 1

    stored = EVSE.objects.get(pk=evse.pk)
    assert (stored.status, stored.floor_level, stored.version) == ("CHARGING", "-3", 3)
    assert list(EVSE.objects.filter(location=other_site).values()) == untouched


def test_a_bulk_publish_writes_only_publish_of_the_selected_rows(db):
    first, second = _make_sites(2)
    stale = Location.objects.get(pk=first.pk)
    fresh = Location.objects.get(pk=first.pk)
    fresh.name = "Renamed meanwhile"
    services.location_update(location=fresh)

    assert services.locations_set_publish(locations=[stale], publish=False) == 1

    stored = Location.objects.get(pk=first.pk)
    assert (stored.publish, stored.name, stored.version) == (False, "Renamed meanwhile", 3)
    assert Location.objects.get(pk=second.pk).publish


def _queries_of_action(client, url: str, data: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, data)
    assert response.status_code == 302
    return len(queries.captured_queries)


@pytest.mark.parametrize(
    ("action", "status"),
    [("set_status_charging", Status.CHARGING), ("mark_removed", Status.REMOVED)],
)
def test_bulk_status_actions_cost_the_same_queries_for_2_or_8_evses(
    admin_client, django_assert_num_queries, action, status
):
    """History records included: written in one INSERT, not one per EVSE."""
    small = [site.evses.get().pk for site in _make_sites(2)]
    large = [site.evses.get().pk for site in _make_sites(8)]
    admin_client.get(EVSE_LIST)  # session and content types read once

    with CaptureQueriesContext(connection) as measured:
        admin_client.post(EVSE_LIST, {"action": action, "_selected_action": small, "post": "yes"})
    with django_assert_num_queries(len(measured.captured_queries)):
        response = admin_client.post(
            EVSE_LIST, {"action": action, "_selected_action": large, "post": "yes"}
        )

    assert response.status_code == 302
    assert set(EVSE.objects.filter(pk__in=small + large).values_list("status", flat=True)) == {
        status
    }
    assert EVSE.history.filter(row_id__in=large, status=status).count() == 8


@pytest.mark.parametrize("action", LOCATION_ACTIONS)
def test_bulk_publish_actions_cost_the_same_queries_for_2_or_8_locations(
    admin_client, django_assert_num_queries, action
):
    publish = action == "publish_locations"
    small = [site.pk for site in _make_sites(2, publish=not publish)]
    large = [site.pk for site in _make_sites(8, publish=not publish)]
    admin_client.get(LOCATION_LIST)

    with CaptureQueriesContext(connection) as measured:
        admin_client.post(LOCATION_LIST, {"action": action, "_selected_action": small})
    with django_assert_num_queries(len(measured.captured_queries)):
        admin_client.post(LOCATION_LIST, {"action": action, "_selected_action": large})

    assert set(Location.objects.values_list("publish", flat=True)) == {publish}
    assert Location.history.filter(row_id__in=large, publish=publish).count() == 8


@pytest.mark.parametrize("size", [1, 20])
def test_the_bulk_status_service_costs_eight_queries_whatever_the_number_of_evses(
    db, django_assert_num_queries, size
):
    """Savepoint, lock of the Locations, read of the EVSEs, one UPDATE of the EVSEs, one
    INSERT of their history records, one UPDATE of the Locations' last_updated, one INSERT of
    the change records, release of the savepoint: 8 (per batch of 2,000 EVSEs)."""
    evses = [site.evses.get() for site in _make_sites(size)]

    with django_assert_num_queries(8):
        assert services.evses_set_status(evses=evses, status=Status.BLOCKED) == size

    assert EVSE.history.filter(status=Status.BLOCKED).count() == size


@pytest.mark.parametrize("size", [1, 20])
def test_the_bulk_publish_service_costs_seven_queries_whatever_the_number_of_locations(
    db, django_assert_num_queries, size
):
    """Savepoint, lock, read, one UPDATE, one INSERT of history records, one INSERT of
    change records, release: 7."""
    locations = _make_sites(size)

    with django_assert_num_queries(7):
        assert services.locations_set_publish(locations=locations, publish=False) == size

    assert Location.history.filter(publish=False).count() == size
