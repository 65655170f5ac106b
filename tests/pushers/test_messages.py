"""Every kind of change reaches the partner as the right OCPI message at the right URL."""

import base64

import pytest

from locations import services
from locations.enums import Status
from locations.models import EVSE, Connector
from tests.factories import ConnectorFactory, EVSEFactory
from versions.datetimes import format_ocpi_datetime

from .conftest import build_site, ours, theirs
from .receiver import PUSH_TOKEN

pytestmark = pytest.mark.usefixtures("eager")

BASE = "/ocpi/emsp/2.2.1/locations"


def _saved(callbacks_fixture, change):
    """Run a change through the services, then everything queued after its commit."""
    with callbacks_fixture(execute=True):
        return change()


def test_a_new_location_is_put_whole_with_auth_routing_and_id_headers(
    push_partner, receiver, django_capture_on_commit_callbacks
):
    site = _saved(django_capture_on_commit_callbacks, build_site)

    [put] = receiver.pushes()
    assert (put.method, put.path) == ("PUT", f"{BASE}/NL/EXA/{site.id}")
    assert put.body == ours(site)
    assert put.headers["authorization"] == "Token " + base64.b64encode(PUSH_TOKEN.encode()).decode()
    assert put.headers["content-type"] == "application/json"
    assert {name: put.headers[name] for name in put.headers if name.startswith("ocpi-")} == {
        "ocpi-from-country-code": "NL",
        "ocpi-from-party-id": "EXA",
        "ocpi-to-country-code": "DE",
        "ocpi-to-party-id": "EMS",
    }
    assert put.headers["x-request-id"] and put.headers["x-correlation-id"]
    assert theirs(receiver, site) == ours(site)


@pytest.fixture
def pushed_site(push_partner, receiver, django_capture_on_commit_callbacks):
    site = _saved(django_capture_on_commit_callbacks, build_site)
    receiver.requests.clear()
    return site


def test_an_evse_status_change_is_a_patch_of_the_status_alone(
    pushed_site, receiver, django_capture_on_commit_callbacks
):
    evse = EVSE.objects.get(location=pushed_site)
    evse.status = Status.CHARGING
    _saved(django_capture_on_commit_callbacks, lambda: services.evse_update(evse=evse))

    evse.refresh_from_db()
    [patch] = receiver.pushes()
    assert (patch.method, patch.path) == ("PATCH", f"{BASE}/NL/EXA/{pushed_site.id}/{evse.uid}")
    assert patch.body == {
        "status": "CHARGING",
        "last_updated": format_ocpi_datetime(evse.last_updated),
    }
    assert theirs(receiver, pushed_site) == ours(pushed_site)


def test_a_connector_change_is_a_patch_at_connector_level(
    pushed_site, receiver, django_capture_on_commit_callbacks
):
    connector = Connector.objects.get(evse__location=pushed_site, id="2")
    connector.max_amperage = 32
    connector.tariff_ids = ["AC-2024"]
    _saved(
        django_capture_on_commit_callbacks, lambda: services.connector_update(connector=connector)
    )

    connector.refresh_from_db()
    [patch] = receiver.pushes()
    assert (patch.method, patch.path) == (
        "PATCH",
        f"{BASE}/NL/EXA/{pushed_site.id}/{connector.evse.uid}/2",
    )
    assert patch.body == {
        "max_amperage": 32,
        "tariff_ids": ["AC-2024"],
        "last_updated": format_ocpi_datetime(connector.last_updated),
    }
    assert theirs(receiver, pushed_site) == ours(pushed_site)


def test_a_location_field_change_is_a_patch_of_the_location(
    pushed_site, receiver, django_capture_on_commit_callbacks
):
    pushed_site.name = "Central Station P1"
    _saved(
        django_capture_on_commit_callbacks, lambda: services.location_update(location=pushed_site)
    )

    [patch] = receiver.pushes()
    assert (patch.method, patch.path) == ("PATCH", f"{BASE}/NL/EXA/{pushed_site.id}")
    assert patch.body == {
        "name": "Central Station P1",
        "last_updated": format_ocpi_datetime(pushed_site.last_updated),
    }
    assert theirs(receiver, pushed_site) == ours(pushed_site)


def test_a_cleared_field_is_sent_as_a_put_because_a_patch_cannot_clear(
    pushed_site, receiver, django_capture_on_commit_callbacks
):
    pushed_site.name = ""
    _saved(
        django_capture_on_commit_callbacks, lambda: services.location_update(location=pushed_site)
    )

    [put] = receiver.pushes()
    assert (put.method, put.path) == ("PUT", f"{BASE}/NL/EXA/{pushed_site.id}")
    assert "name" not in put.body
    assert theirs(receiver, pushed_site) == ours(pushed_site)


def test_a_new_evse_is_put_whole_at_its_own_url(
    pushed_site, receiver, django_capture_on_commit_callbacks
):
    evse = EVSEFactory.build(location=pushed_site)
    _saved(
        django_capture_on_commit_callbacks,
        lambda: services.evse_create(evse=evse, connectors=[ConnectorFactory.build(id="1")]),
    )

    [put] = receiver.pushes()
    assert (put.method, put.path) == ("PUT", f"{BASE}/NL/EXA/{pushed_site.id}/{evse.uid}")
    assert put.body == ours(pushed_site)["evses"][1]
    assert theirs(receiver, pushed_site) == ours(pushed_site)


def test_a_new_connector_is_put_whole_at_its_own_url(
    pushed_site, receiver, django_capture_on_commit_callbacks
):
    evse = EVSE.objects.get(location=pushed_site)
    connector = ConnectorFactory.build(evse=evse, id="3", standard="CHADEMO", format="CABLE")
    _saved(
        django_capture_on_commit_callbacks, lambda: services.connector_create(connector=connector)
    )

    [put] = receiver.pushes()
    assert (put.method, put.path) == ("PUT", f"{BASE}/NL/EXA/{pushed_site.id}/{evse.uid}/3")
    assert put.body == ours(pushed_site)["evses"][0]["connectors"][2]
    assert theirs(receiver, pushed_site) == ours(pushed_site)


def test_a_removed_evse_is_a_patch_to_status_removed(
    pushed_site, receiver, django_capture_on_commit_callbacks
):
    evse = EVSE.objects.get(location=pushed_site)
    _saved(django_capture_on_commit_callbacks, lambda: services.evse_remove(evse=evse))

    evse.refresh_from_db()
    [patch] = receiver.pushes()
    assert (patch.method, patch.path) == ("PATCH", f"{BASE}/NL/EXA/{pushed_site.id}/{evse.uid}")
    assert patch.body == {
        "status": "REMOVED",
        "last_updated": format_ocpi_datetime(evse.last_updated),
    }
    assert theirs(receiver, pushed_site) == ours(pushed_site)


def test_a_removed_connector_is_a_put_of_its_evse_with_the_remaining_connectors(
    pushed_site, receiver, django_capture_on_commit_callbacks
):
    connector = Connector.objects.get(evse__location=pushed_site, id="1")
    evse = connector.evse
    _saved(
        django_capture_on_commit_callbacks, lambda: services.connector_delete(connector=connector)
    )

    [put] = receiver.pushes()
    assert (put.method, put.path) == ("PUT", f"{BASE}/NL/EXA/{pushed_site.id}/{evse.uid}")
    assert [c["id"] for c in put.body["connectors"]] == ["2"]
    assert put.body == ours(pushed_site)["evses"][0]
    assert theirs(receiver, pushed_site) == ours(pushed_site)


def test_partners_without_a_locations_receiver_endpoint_get_nothing(
    db, receiver, django_capture_on_commit_callbacks
):
    from partners.services import partner_create

    partner_create(name="Pull only", country_code="DE", party_id="PUL")
    _saved(django_capture_on_commit_callbacks, build_site)

    assert receiver.pushes() == []


def test_a_patch_the_receiver_refuses_is_parked_and_followed_by_a_put_of_the_location(
    pushed_site, receiver, django_capture_on_commit_callbacks
):
    from pushers.models import Delivery

    receiver.locations.clear()  # the receiver lost our Location
    evse = EVSE.objects.get(location=pushed_site)
    evse.status = Status.CHARGING
    _saved(django_capture_on_commit_callbacks, lambda: services.evse_update(evse=evse))

    assert [(r.method, r.path) for r in receiver.pushes()] == [
        ("PATCH", f"{BASE}/NL/EXA/{pushed_site.id}/{evse.uid}"),
        ("PUT", f"{BASE}/NL/EXA/{pushed_site.id}"),
    ]
    parked = Delivery.objects.get(evse=evse)
    assert (parked.status, parked.last_error) == ("failed", "HTTP 404 OCPI 2003: unknown location")
    assert theirs(receiver, pushed_site) == ours(pushed_site)
