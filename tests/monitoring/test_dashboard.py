"""The dashboard on the admin index (monitoring/dashboard.py): its panels, their links, who
sees which, and a constant number of queries whatever the size of the platform."""

import re
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from locations import services
from locations.enums import Status
from locations.models import EVSE
from monitoring import dashboard
from partners.services import partner_create
from pushers.models import Delivery, DeliveryAttempt, FullSync, Lane, PartnerPushState
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory

INDEX = "/admin/"


@pytest.fixture(autouse=True)
def _our_party(settings):
    settings.OCPI_COUNTRY_CODE, settings.OCPI_PARTY_ID = "NL", "EXA"


def site(*statuses: str):
    return services.location_create(
        location=LocationFactory.build(),
        evses=[(EVSEFactory.build(status=s), [ConnectorFactory.build(id="1")]) for s in statuses],
    )


def push_history(partner, location, *, refused: int = 1, waiting: int = 1) -> None:
    """A refused and a waiting Delivery, with their attempts."""
    lane, _ = Lane.objects.get_or_create(partner=partner, location=location)
    for n in range(refused):
        delivery = Delivery.objects.create(
            partner=partner,
            lane=lane,
            level="location",
            method="PUT",
            object_key=f"L:{location.pk}:{n}",
            location=location,
            status="failed",
            last_error="HTTP 422 OCPI 2001: address length must be lower or equal to 45",
        )
        DeliveryAttempt.objects.create(
            delivery=delivery,
            partner=partner,
            started_at=delivery.created_at,
            method="PUT",
            url="http://127.0.0.1:9/locations",
            outcome="permanent",
            http_status=422,
            error=delivery.last_error,
        )
    for n in range(waiting):
        Delivery.objects.create(
            partner=partner,
            lane=lane,
            level="location",
            method="PUT",
            object_key=f"W:{location.pk}:{n}",
            location=location,
        )


def test_evse_statuses_count_every_status_and_link_to_the_filtered_evse_list(db):
    site(Status.AVAILABLE, Status.AVAILABLE, Status.CHARGING)
    site(Status.REMOVED, Status.OUTOFORDER)

    panel = dashboard.evse_statuses()

    assert (panel.locations, panel.evses) == (2, 4)  # the removed one is not counted
    counts = {row.status: row.count for row in panel.statuses}
    assert counts == {
        "AVAILABLE": 2,
        "BLOCKED": 0,
        "CHARGING": 1,
        "INOPERATIVE": 0,
        "OUTOFORDER": 1,
        "PLANNED": 0,
        "RESERVED": 0,
        "UNKNOWN": 0,
        "REMOVED": 1,
    }
    assert list(counts)[-1] == "REMOVED"
    charging = next(row for row in panel.statuses if row.status == "CHARGING")
    assert charging.url == reverse("admin:locations_evse_changelist") + "?status__exact=CHARGING"


def test_each_status_count_is_the_count_of_its_filtered_list(db, admin_client):
    site(Status.AVAILABLE, Status.CHARGING, Status.CHARGING)

    for row in dashboard.evse_statuses().statuses:
        listing = admin_client.get(row.url)
        assert listing.status_code == 200, row.url
        assert listing.context["cl"].result_count == row.count, row.status


def test_push_health_lists_partners_worst_first_and_leaves_out_unregistered_ones(db):
    location = site(Status.AVAILABLE)
    healthy, _ = partner_create(name="A healthy one", country_code="DE", party_id="AAA")
    failing, _ = partner_create(name="B failing one", country_code="DE", party_id="BBB")
    gone, _ = partner_create(name="C gone", country_code="DE", party_id="CCC")
    gone.state = "unregistered"
    gone.save()
    for partner in (healthy, failing):
        partner.endpoints.create(
            identifier="locations", role="RECEIVER", url="http://127.0.0.1:9/locations"
        )
    push_history(failing, location, refused=3)

    panel = dashboard.push_health()

    assert [(p.partner.name, p.health.kind) for p in panel.partners] == [
        ("B failing one", "failing"),
        ("A healthy one", "healthy"),
    ]
    [reason] = panel.partners[0].refusals
    assert (reason.count, reason.reason) == (
        3,
        "HTTP 422 OCPI 2001: address length must be lower or equal to 45",
    )


def test_a_partners_name_opens_its_row_of_the_partner_push_states(db, admin_client):
    partner_create(name="One", country_code="DE", party_id="ONE")
    other, _ = partner_create(name="Other", country_code="DE", party_id="OTH")

    page = admin_client.get(INDEX).content.decode()
    [url] = re.findall(r'<a href="([^"]+)">Other</a>', page)
    listing = admin_client.get(url.replace("&amp;", "&"))

    assert [state.partner for state in listing.context["cl"].result_list] == [other]


def test_recent_changes_name_the_objects_and_link_to_their_pages(db):
    location = site(Status.AVAILABLE)
    evse = EVSE.objects.get(location=location)
    evse.status = Status.CHARGING
    services.evse_update(evse=evse)

    [newest, *older] = dashboard.recent_changes()

    assert newest.entry.what == f"EVSE {evse.evse_id}"
    assert newest.entry.changes == [("status", "AVAILABLE", "CHARGING")]
    assert newest.url == reverse("admin:locations_evse_change", args=[evse.pk])
    assert {change.entry.action for change in older} == {"created"}
    assert reverse("admin:locations_location_change", args=[location.pk]) in {
        change.url for change in older
    }


def test_a_panel_is_built_from_a_dotted_path_too(db):
    provider = dashboard.Provider(
        "Statuses", "t.html", ("locations.view_evse",), "monitoring.dashboard.evse_statuses"
    )
    user = SimpleNamespace(has_perms=lambda perms: True)

    [panel] = dashboard.panels(user, [provider])

    assert panel.data == dashboard.evse_statuses()


# --- On the admin index ----------------------------------------------------------------------


def client_with(*permissions: str) -> Client:
    user = get_user_model().objects.create_user("someone", password="x" * 20, is_staff=True)
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return client


PANELS = [
    "dashboard-evse-statuses",
    "dashboard-push",
    "dashboard-quality",
    "dashboard-recent-changes",
]


def shown(response) -> list[str]:
    return [p for p in PANELS if f'id="{p}"' in response.content.decode()]


@pytest.mark.parametrize(
    ("permissions", "panels"),
    [
        ([], []),
        (["locations.view_evse"], []),  # the panel links to Locations too
        (["locations.view_location"], ["dashboard-quality"]),
        (
            ["locations.view_location", "locations.view_evse"],
            ["dashboard-evse-statuses", "dashboard-quality"],
        ),
        (["pushers.view_partnerpushstate"], []),  # its counts link to the Deliveries
        (["pushers.view_partnerpushstate", "pushers.view_delivery"], ["dashboard-push"]),
        (
            ["locations.view_location", "locations.view_evse", "locations.view_connector"],
            ["dashboard-evse-statuses", "dashboard-quality", "dashboard-recent-changes"],
        ),
    ],
)
def test_each_panel_is_shown_only_to_who_may_view_what_it_links_to(db, permissions, panels):
    response = client_with(*permissions).get(INDEX)

    assert response.status_code == 200
    assert shown(response) == panels


def test_an_apps_index_shows_its_models_without_the_dashboard(db, admin_client):
    response = admin_client.get("/admin/pushers/")

    assert response.status_code == 200
    assert shown(response) == []
    assert "Partner push states" in response.content.decode()


@pytest.mark.parametrize("role", ["Viewer", "Operator", "Roaming manager"])
def test_the_staff_roles_see_the_whole_dashboard(db, role):
    client = client_with()
    get_user_model().objects.get(username="someone").groups.add(Group.objects.get(name=role))

    assert shown(client.get(INDEX)) == PANELS


def test_the_view_site_link_goes_to_the_api_documentation(db, admin_client):
    page = admin_client.get(INDEX).content.decode()

    [url] = re.findall(r'<a href="([^"]+)">View site</a>', page)
    assert url == reverse("api-docs")
    assert admin_client.get(url).status_code == 200


def _world(start: int, size: int) -> None:
    """`size` more sites, partners (half of them failing), refusals, waiting deliveries and
    full syncs."""
    for n in range(start, start + size):
        location = site(Status.AVAILABLE, Status.CHARGING)
        partner, _ = partner_create(name=f"Partner {n}", country_code="DE", party_id=f"P{n:02d}")
        partner.endpoints.create(
            identifier="locations", role="RECEIVER", url="http://127.0.0.1:9/locations"
        )
        PartnerPushState.objects.create(partner=partner)
        push_history(partner, location, refused=n % 2 * 3, waiting=n)
        FullSync.objects.create(partner=partner, total=size, locations_queued=size)


def test_the_dashboard_costs_the_same_queries_for_a_small_or_a_larger_platform(
    db, admin_client, django_assert_num_queries
):
    _world(0, 1)
    with CaptureQueriesContext(connection) as small:
        assert admin_client.get(INDEX).status_code == 200
    _world(1, 6)

    with django_assert_num_queries(len(small.captured_queries)):
        response = admin_client.get(INDEX)

    assert response.status_code == 200
    assert shown(response) == PANELS
