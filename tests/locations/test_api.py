"""The Locations Sender interface (OCPI 2.2.1, Locations module, 8.2.1 Sender Interface)
through real HTTP requests."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from locations import enums, services
from locations.models import EVSE, Location
from tests.conftest import token_header
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory

from .conftest import PINNED, create_site, pin_last_updated

URL = "/ocpi/cpo/2.2.1/locations"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def body_without_timestamp(response) -> dict:
    body = response.json()
    assert TIMESTAMP.match(body.pop("timestamp"))
    return body


def data_of(response) -> dict | list:
    assert response.status_code == 200, response.content
    body = body_without_timestamp(response)
    assert (body["status_code"], body["status_message"]) == (1000, "Success")
    return body["data"]


FULL_CONNECTOR = {
    "id": "1",
    "standard": "IEC_62196_T2",
    "format": "CABLE",
    "power_type": "AC_3_PHASE",
    "max_voltage": 230,
    "max_amperage": 32,
    "max_electric_power": 22000,
    "tariff_ids": ["AC-STD", "AC-GREEN"],
    "terms_and_conditions": "https://charging.example.com/terms",
    "last_updated": "2024-03-01T10:00:00Z",
}

FULL_EVSE = {
    "uid": "EVSE-FULL",
    "evse_id": "NL*EXA*E0001*1",
    "status": "AVAILABLE",
    "status_schedule": [
        {
            "period_begin": "2024-06-01T00:00:00Z",
            "period_end": "2024-06-02T00:00:00Z",
            "status": "INOPERATIVE",
        }
    ],
    "capabilities": ["RFID_READER", "REMOTE_START_STOP_CAPABLE"],
    "connectors": [FULL_CONNECTOR],
    "floor_level": "-1",
    "coordinates": {"latitude": "52.089450", "longitude": "5.110290"},
    "physical_reference": "A1",
    "directions": [{"language": "en", "text": "Second bay on the left"}],
    "parking_restrictions": ["EV_ONLY"],
    "images": [
        {
            "url": "https://charging.example.com/charger.jpg",
            "category": "CHARGER",
            "type": "jpeg",
            "width": 800,
            "height": 600,
        }
    ],
    "last_updated": "2024-03-01T10:00:00Z",
}

FULL_LOCATION = {
    "country_code": "NL",
    "party_id": "EXA",
    "id": "LOC-FULL",
    "publish": False,
    "publish_allowed_to": [
        {"uid": "012345678", "type": "RFID"},
        {"visual_number": "NL-EXA-000001-X", "issuer": "Example eMSP", "group_id": "G1"},
    ],
    "name": "Station Square P1",
    "address": "Stationsplein 1",
    "city": "Utrecht",
    "postal_code": "3511 ED",
    "state": "Utrecht",
    "country": "NLD",
    "coordinates": {"latitude": "52.089444", "longitude": "5.110278"},
    "related_locations": [
        {
            "latitude": "52.089500",
            "longitude": "5.110300",
            "name": {"language": "nl", "text": "Ingang Jaarbeursplein"},
        }
    ],
    "parking_type": "PARKING_GARAGE",
    "evses": [FULL_EVSE],
    "directions": [{"language": "en", "text": "Level -1, follow the green signs"}],
    "operator": {
        "name": "Example Charging",
        "website": "https://charging.example.com",
        "logo": {
            "url": "https://charging.example.com/logo.png",
            "thumbnail": "https://charging.example.com/logo-small.png",
            "category": "OPERATOR",
            "type": "png",
            "width": 512,
            "height": 512,
        },
    },
    "suboperator": {"name": "Example Garages"},
    "owner": {"name": "City of Utrecht", "website": "https://utrecht.example.org"},
    "facilities": ["TRAIN_STATION", "WIFI"],
    "time_zone": "Europe/Amsterdam",
    "opening_times": {
        "twentyfourseven": False,
        "regular_hours": [{"weekday": 1, "period_begin": "07:00", "period_end": "23:00"}],
        "exceptional_openings": [
            {"period_begin": "2024-12-24T06:00:00Z", "period_end": "2024-12-24T07:00:00Z"}
        ],
        "exceptional_closings": [
            {"period_begin": "2024-12-25T00:00:00Z", "period_end": "2024-12-26T00:00:00Z"}
        ],
    },
    "charging_when_closed": False,
    "images": [
        {"url": "https://charging.example.com/site.jpg", "category": "LOCATION", "type": "jpeg"}
    ],
    "energy_mix": {
        "is_green_energy": True,
        "energy_sources": [
            {"source": "SOLAR", "percentage": 40},
            {"source": "WIND", "percentage": 60},
        ],
        "environ_impact": [{"category": "CARBON_DIOXIDE", "amount": 0}],
        "supplier_name": "Green Power",
        "energy_product_name": "Green 100",
    },
    "last_updated": "2024-03-01T10:00:00Z",
}

MINIMAL_LOCATION = {
    "country_code": "NL",
    "party_id": "EXA",
    "id": "LOC-MIN",
    "publish": True,
    "address": "Dorpsstraat 2",
    "city": "Ergens",
    "country": "NLD",
    "coordinates": {"latitude": "52.00000", "longitude": "5.00000"},
    "evses": [
        {
            "uid": "EVSE-MIN",
            "status": "UNKNOWN",
            "connectors": [
                {
                    "id": "1",
                    "standard": "DOMESTIC_F",
                    "format": "SOCKET",
                    "power_type": "AC_1_PHASE",
                    "max_voltage": 230,
                    "max_amperage": 10,
                    "last_updated": "2024-03-01T10:00:00Z",
                }
            ],
            "last_updated": "2024-03-01T10:00:00Z",
        }
    ],
    "time_zone": "Europe/Amsterdam",
    "last_updated": "2024-03-01T10:00:00Z",
}


def iso(when) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def ids_of(response) -> list[str]:
    return [location["id"] for location in data_of(response)]


# --- Rendering ---------------------------------------------------------------------------


def test_a_location_with_every_field_is_rendered_whole_in_spec_order(ocpi_client, full_site):
    data = data_of(ocpi_client.get(f"{URL}/LOC-FULL"))

    assert data == FULL_LOCATION
    assert list(data) == list(FULL_LOCATION)
    assert list(data["evses"][0]) == list(FULL_EVSE)
    assert list(data["evses"][0]["connectors"][0]) == list(FULL_CONNECTOR)


def test_the_list_renders_the_same_whole_location(ocpi_client, full_site):
    assert data_of(ocpi_client.get(URL)) == [FULL_LOCATION]


def test_an_evse_url_renders_the_whole_evse(ocpi_client, full_site):
    assert data_of(ocpi_client.get(f"{URL}/LOC-FULL/EVSE-FULL")) == FULL_EVSE


def test_a_connector_url_renders_the_whole_connector(ocpi_client, full_site):
    assert data_of(ocpi_client.get(f"{URL}/LOC-FULL/EVSE-FULL/1")) == FULL_CONNECTOR


def test_a_minimal_location_leaves_out_every_empty_optional_field(ocpi_client, minimal_site):
    assert data_of(ocpi_client.get(URL)) == [MINIMAL_LOCATION]


def test_a_location_without_evses_has_an_empty_evses_list(ocpi_client, db):
    services.location_create(
        location=LocationFactory.build(id="LOC-EMPTY", name="", postal_code="")
    )

    data = data_of(ocpi_client.get(f"{URL}/LOC-EMPTY"))

    assert data["evses"] == []
    assert "name" not in data
    assert "postal_code" not in data


def test_null_members_of_stored_sub_objects_are_left_out(ocpi_client, db):
    # The validators accept `null` for an optional member; a Sender response has no nulls.
    location = LocationFactory.build(
        id="LOC-NULLS", operator={"name": "Example Charging", "website": None}
    )
    services.location_create(location=location)

    assert data_of(ocpi_client.get(f"{URL}/LOC-NULLS"))["operator"] == {"name": "Example Charging"}


def test_charging_when_closed_true_is_rendered_and_unset_is_left_out(ocpi_client, db):
    services.location_create(location=LocationFactory.build(id="C-TRUE", charging_when_closed=True))
    services.location_create(location=LocationFactory.build(id="C-UNSET"))

    assert data_of(ocpi_client.get(f"{URL}/C-TRUE"))["charging_when_closed"] is True
    assert "charging_when_closed" not in data_of(ocpi_client.get(f"{URL}/C-UNSET"))


def test_datetimes_with_milliseconds_keep_them(ocpi_client, minimal_site):
    pin_last_updated(minimal_site, PINNED + timedelta(milliseconds=123))

    assert data_of(ocpi_client.get(f"{URL}/LOC-MIN"))["last_updated"] == (
        "2024-03-01T10:00:00.123Z"
    )


def test_removed_evses_stay_visible_with_status_removed(ocpi_client, db):
    site = create_site(id="LOC-R", evses=2)
    removed = site.evses.order_by("row_id").first()
    removed.status = enums.Status.REMOVED
    services.evse_update(evse=removed)

    evses = data_of(ocpi_client.get(URL))[0]["evses"]

    assert [(e["uid"], e["status"]) for e in evses] == [
        (removed.uid, "REMOVED"),
        (site.evses.order_by("row_id").last().uid, "AVAILABLE"),
    ]
    removed_evse = data_of(ocpi_client.get(f"{URL}/LOC-R/{removed.uid}"))
    assert removed_evse["status"] == "REMOVED"


def test_evses_and_connectors_come_in_creation_order(ocpi_client, db):
    site = create_site(id="LOC-ORDER", evses=3, connectors_per_evse=3)

    evses = data_of(ocpi_client.get(f"{URL}/LOC-ORDER"))["evses"]

    assert [e["uid"] for e in evses] == list(
        site.evses.order_by("row_id").values_list("uid", flat=True)
    )
    assert [[c["id"] for c in e["connectors"]] for e in evses] == [["1", "2", "3"]] * 3


# --- GET list: filters and pagination --------------------------------------------------


@pytest.fixture
def five_sites(db) -> list[Location]:
    """LOC-0 ... LOC-4 created in that order, last updated one hour apart in reverse order
    (LOC-0 newest), so that page order (creation) and time order differ."""
    sites = [create_site(id=f"LOC-{n}") for n in range(5)]
    for n, site in enumerate(sites):
        pin_last_updated(site, PINNED + timedelta(hours=4 - n))
    return sites


def test_the_list_is_in_creation_order(ocpi_client, five_sites):
    assert ids_of(ocpi_client.get(URL)) == ["LOC-0", "LOC-1", "LOC-2", "LOC-3", "LOC-4"]


def test_date_from_is_inclusive(ocpi_client, five_sites):
    # LOC-2 was updated at exactly PINNED + 2h.
    response = ocpi_client.get(URL, {"date_from": iso(PINNED + timedelta(hours=2))})

    assert ids_of(response) == ["LOC-0", "LOC-1", "LOC-2"]
    assert response["X-Total-Count"] == "3"


def test_date_to_is_exclusive(ocpi_client, five_sites):
    response = ocpi_client.get(URL, {"date_to": iso(PINNED + timedelta(hours=2))})

    assert ids_of(response) == ["LOC-3", "LOC-4"]
    assert response["X-Total-Count"] == "2"


def test_consecutive_windows_neither_overlap_nor_miss(ocpi_client, five_sites):
    edge = iso(PINNED + timedelta(hours=2))

    before = ids_of(ocpi_client.get(URL, {"date_to": edge}))
    after = ids_of(ocpi_client.get(URL, {"date_from": edge}))

    assert sorted(before + after) == ["LOC-0", "LOC-1", "LOC-2", "LOC-3", "LOC-4"]


def test_date_filters_accept_fractions_and_a_missing_z(ocpi_client, five_sites):
    # LOC-3 was updated at 11:00 (just before date_from), LOC-1 at 13:00 (just before date_to).
    response = ocpi_client.get(
        URL, {"date_from": "2024-03-01T11:00:00.001", "date_to": "2024-03-01T13:00:00.5Z"}
    )

    assert ids_of(response) == ["LOC-1", "LOC-2"]


def test_pages_keep_the_date_filters_in_the_link(ocpi_client, five_sites):
    date_from, date_to = iso(PINNED + timedelta(hours=1)), iso(PINNED + timedelta(hours=4))
    first = ocpi_client.get(URL, {"date_from": date_from, "date_to": date_to, "limit": 2})

    assert ids_of(first) == ["LOC-1", "LOC-2"]
    assert first["X-Total-Count"] == "3"
    assert first["X-Limit"] == "100"
    assert first["Link"] == (
        f"<http://testserver.example{URL}?date_from={date_from.replace(':', '%3A')}"
        f'&date_to={date_to.replace(":", "%3A")}&limit=2&offset=2>; rel="next"'
    )

    next_url = first["Link"][1 : first["Link"].index(">")].removeprefix("http://testserver.example")
    second = ocpi_client.get(next_url)

    assert ids_of(second) == ["LOC-3"]
    assert second["X-Total-Count"] == "3"
    assert "Link" not in second


def test_a_limit_above_the_cap_is_capped(ocpi_client, five_sites, settings):
    settings.OCPI_MAX_PAGE_SIZE = 2

    response = ocpi_client.get(URL, {"limit": 1000})

    assert ids_of(response) == ["LOC-0", "LOC-1"]
    assert response["X-Limit"] == "2"
    assert response["Link"] == (f'<http://testserver.example{URL}?limit=2&offset=2>; rel="next"')


def test_an_offset_past_the_end_is_an_empty_last_page(ocpi_client, five_sites):
    response = ocpi_client.get(URL, {"offset": 5})

    assert data_of(response) == []
    assert response["X-Total-Count"] == "5"
    assert "Link" not in response


def test_an_empty_platform_answers_an_empty_list(ocpi_client):
    response = ocpi_client.get(URL)

    assert data_of(response) == []
    assert response["X-Total-Count"] == "0"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"date_from": "2024-03-01T10:00:00+01:00"},
            "date_from: '2024-03-01T10:00:00+01:00' has a UTC offset; an OCPI DateTime is UTC"
            " only, e.g. 2024-03-01T10:00:00Z (convert the time to UTC)",
        ),
        (
            {"date_to": "yesterday"},
            "date_to: 'yesterday' is not an OCPI DateTime"
            " (expected e.g. 2024-03-01T10:00:00Z, UTC only)",
        ),
        ({"offset": "-1"}, "offset must be a non-negative integer, got '-1'"),
        ({"limit": "ten"}, "limit must be a non-negative integer, got 'ten'"),
        ({"limit": "0"}, "limit must be at least 1"),
    ],
)
def test_invalid_parameters_are_200_with_2001(ocpi_client, db, params, message):
    response = ocpi_client.get(URL, params)

    assert response.status_code == 200
    assert body_without_timestamp(response) == {"status_code": 2001, "status_message": message}


def test_the_trailing_slash_is_optional(ocpi_client, full_site):
    assert data_of(ocpi_client.get(f"{URL}/")) == [FULL_LOCATION]
    assert data_of(ocpi_client.get(f"{URL}/LOC-FULL/")) == FULL_LOCATION
    assert data_of(ocpi_client.get(f"{URL}/LOC-FULL/EVSE-FULL/")) == FULL_EVSE
    assert data_of(ocpi_client.get(f"{URL}/LOC-FULL/EVSE-FULL/1/")) == FULL_CONNECTOR


# --- GET object ----------------------------------------------------------------------


def test_ids_match_whatever_their_case(ocpi_client, full_site):
    assert data_of(ocpi_client.get(f"{URL}/loc-full")) == FULL_LOCATION
    assert data_of(ocpi_client.get(f"{URL}/Loc-Full/evse-full")) == FULL_EVSE
    assert data_of(ocpi_client.get(f"{URL}/loc-full/Evse-Full/1")) == FULL_CONNECTOR


def test_a_connector_id_matches_whatever_its_case(ocpi_client, db):
    services.location_create(
        location=LocationFactory.build(id="LOC-A"),
        evses=[(EVSEFactory.build(uid="E-A"), [ConnectorFactory.build(id="Left")])],
    )

    assert data_of(ocpi_client.get(f"{URL}/LOC-A/E-A/LEFT"))["id"] == "Left"


def test_connector_ids_are_looked_up_within_their_evse(ocpi_client, db):
    # Both EVSEs have a connector "1"; each URL gets its own.
    site = create_site(id="LOC-TWO", evses=2)
    first, second = site.evses.order_by("row_id")
    second_connector = second.connectors.get()
    second_connector.max_amperage = 63
    services.connector_update(connector=second_connector)

    assert data_of(ocpi_client.get(f"{URL}/LOC-TWO/{first.uid}/1"))["max_amperage"] == 16
    assert data_of(ocpi_client.get(f"{URL}/LOC-TWO/{second.uid}/1"))["max_amperage"] == 63


def test_a_location_id_is_unique_on_the_whole_platform_so_get_serves_the_one_location(
    ocpi_client, db, settings
):
    # OCPI 2.2.1, Locations module, Location object: id is unique within the CPO's platform
    # (all its parties): the Sender's URLs name a Location by its id alone.
    settings.OCPI_PARTIES = (
        '[{"country_code": "NL", "party_id": "EXA", "name": "Example"},'
        ' {"country_code": "NL", "party_id": "SUB", "name": "Sub brand"}]'
    )
    services.location_create(
        location=LocationFactory.build(id="SHARED", party_id="EXA", name="First"),
        evses=[(EVSEFactory.build(uid="E-EXA"), [ConnectorFactory.build()])],
    )

    with pytest.raises(ValidationError) as refused:
        services.location_create(
            location=LocationFactory.build(id="shared", party_id="SUB", name="Second"),
            evses=[(EVSEFactory.build(uid="E-SUB"), [ConnectorFactory.build()])],
        )

    assert refused.value.message_dict == {
        "__all__": [
            "A Location with this id exists already (ids are unique on the whole platform, "
            "case-insensitive)."
        ]
    }
    assert (data_of(ocpi_client.get(f"{URL}/Shared"))["name"]) == "First"
    assert ocpi_client.get(f"{URL}/SHARED/E-SUB").status_code == 404


@pytest.fixture
def two_sites(full_site, db) -> Location:
    """`full_site` (LOC-FULL / EVSE-FULL / 1) and LOC-OTHER with EVSE-OTHER."""
    return services.location_create(
        location=LocationFactory.build(id="LOC-OTHER"),
        evses=[(EVSEFactory.build(uid="EVSE-OTHER"), [ConnectorFactory.build(id="1")])],
    )


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/NOPE", "Unknown Location 'NOPE'"),
        ("/NOPE/EVSE-FULL", "Unknown Location 'NOPE'"),
        ("/NOPE/EVSE-FULL/1", "Unknown Location 'NOPE'"),
        ("/LOC-FULL/NOPE", "Unknown EVSE 'NOPE' at Location 'LOC-FULL'"),
        ("/LOC-FULL/NOPE/1", "Unknown EVSE 'NOPE' at Location 'LOC-FULL'"),
        (
            "/LOC-FULL/EVSE-FULL/9",
            "Unknown Connector '9' of EVSE 'EVSE-FULL' at Location 'LOC-FULL'",
        ),
        # An EVSE (or its connector) asked for under a Location it does not belong to.
        ("/LOC-FULL/EVSE-OTHER", "Unknown EVSE 'EVSE-OTHER' at Location 'LOC-FULL'"),
        ("/LOC-FULL/EVSE-OTHER/1", "Unknown EVSE 'EVSE-OTHER' at Location 'LOC-FULL'"),
        ("/LOC-OTHER/EVSE-FULL", "Unknown EVSE 'EVSE-FULL' at Location 'LOC-OTHER'"),
    ],
)
def test_unknown_objects_are_404_with_2003_naming_what_is_missing(
    ocpi_client, two_sites, path, message
):
    response = ocpi_client.get(URL + path)

    assert response.status_code == 404
    assert body_without_timestamp(response) == {"status_code": 2003, "status_message": message}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/A%00B", "Unknown Location 'A\\x00B'"),
        ("/" + "L" * 37, "Unknown Location '" + "L" * 37 + "'"),
        ("/LOC-FULL/%C3%A9", "Unknown EVSE 'é' at Location 'LOC-FULL'"),
        (
            "/LOC-FULL/EVSE-FULL/1%091",
            "Unknown Connector '1\\t1' of EVSE 'EVSE-FULL' at Location 'LOC-FULL'",
        ),
    ],
)
def test_segments_that_cannot_be_ids_are_unknown_without_a_query(
    ocpi_client, full_site, django_assert_num_queries, path, message
):
    # Token + partner, roles: nothing is looked up for an impossible id.
    with django_assert_num_queries(2):
        response = ocpi_client.get(URL + path)

    assert response.status_code == 404
    assert body_without_timestamp(response) == {"status_code": 2003, "status_message": message}


def test_a_url_deeper_than_a_connector_is_an_unknown_url(ocpi_client, full_site):
    response = ocpi_client.get(f"{URL}/LOC-FULL/EVSE-FULL/1/extra")

    assert response.status_code == 404
    assert body_without_timestamp(response) == {
        "status_code": 2000,
        "status_message": "Unknown URL",
    }


@pytest.mark.parametrize("path", ["", "/LOC-FULL", "/LOC-FULL/EVSE-FULL/1"])
def test_the_sender_interface_is_read_only(ocpi_client, full_site, path):
    response = ocpi_client.put(URL + path, data="{}", content_type="application/json")

    assert response.status_code == 405
    assert body_without_timestamp(response) == {
        "status_code": 2000,
        "status_message": 'Method "PUT" not allowed.',
    }


# --- Authentication ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/LOC-FULL", "/LOC-FULL/EVSE-FULL", "/LOC-FULL/EVSE-FULL/1"])
def test_without_a_token_every_url_is_401(full_site, path):
    response = Client().get(URL + path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert body_without_timestamp(response) == {
        "status_code": 2000,
        "status_message": "Missing credentials token",
    }


def test_an_unknown_token_is_401(full_site):
    response = Client(HTTP_AUTHORIZATION=token_header("who-is-this")).get(f"{URL}/LOC-FULL")

    assert response.status_code == 401
    assert body_without_timestamp(response) == {
        "status_code": 2000,
        "status_message": "Unknown credentials token",
    }


@pytest.mark.parametrize("path", ["", "/LOC-FULL"])
def test_token_a_of_a_pending_partner_is_401(full_site, pending_partner_token_a, path):
    response = Client(HTTP_AUTHORIZATION=token_header(pending_partner_token_a)).get(URL + path)

    assert response.status_code == 401
    assert body_without_timestamp(response) == {
        "status_code": 2000,
        "status_message": "This token is not valid for this module",
    }


# --- Routing headers (OCPI 2.2.1, Transport and format, Message Routing) -------------


def routing_headers(response) -> dict[str, str | None]:
    names = (
        "OCPI-from-country-code",
        "OCPI-from-party-id",
        "OCPI-to-country-code",
        "OCPI-to-party-id",
    )
    return {name: response.get(name) for name in names}


@pytest.mark.parametrize("path", ["", "/LOC-FULL", "/LOC-FULL/EVSE-FULL/1", "/NOPE"])
def test_responses_come_from_us_and_go_to_the_calling_partner(ocpi_client, full_site, path):
    response = ocpi_client.get(URL + path)

    assert routing_headers(response) == {
        "OCPI-from-country-code": "NL",
        "OCPI-from-party-id": "EXA",
        "OCPI-to-country-code": "DE",
        "OCPI-to-party-id": "EMS",
    }


def test_routing_headers_follow_our_configured_identity(ocpi_client, full_site, settings):
    settings.OCPI_COUNTRY_CODE, settings.OCPI_PARTY_ID = "BE", "CPX"

    response = ocpi_client.get(URL)

    assert (response["OCPI-from-country-code"], response["OCPI-from-party-id"]) == ("BE", "CPX")


@pytest.fixture
def partner_with_two_roles(partner):
    partner.roles.create(role="EMSP", country_code="BE", party_id="EM2")
    return partner


def test_a_request_speaking_for_one_of_the_partners_roles_is_answered_to_that_role(
    ocpi_client, partner_with_two_roles, full_site
):
    response = ocpi_client.get(URL, HTTP_OCPI_FROM_COUNTRY_CODE="be", HTTP_OCPI_FROM_PARTY_ID="em2")

    assert data_of(response) == [FULL_LOCATION]
    assert routing_headers(response) == {
        "OCPI-from-country-code": "NL",
        "OCPI-from-party-id": "EXA",
        "OCPI-to-country-code": "BE",
        "OCPI-to-party-id": "EM2",
    }


def test_a_request_speaking_for_a_party_that_is_not_the_callers_is_401(ocpi_client, full_site):
    response = ocpi_client.get(
        f"{URL}/LOC-FULL", HTTP_OCPI_FROM_COUNTRY_CODE="FR", HTTP_OCPI_FROM_PARTY_ID="ABC"
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert body_without_timestamp(response) == {
        "status_code": 2000,
        "status_message": "OCPI-from FR*ABC is not one of your roles (DE*EMS)",
    }
    assert routing_headers(response) == {
        "OCPI-from-country-code": "NL",
        "OCPI-from-party-id": "EXA",
        "OCPI-to-country-code": None,
        "OCPI-to-party-id": None,
    }


def test_half_a_routing_pair_is_200_2001_addressed_to_the_partners_addressee(
    ocpi_client, full_site
):
    response = ocpi_client.get(URL, HTTP_OCPI_FROM_COUNTRY_CODE="DE")

    assert response.status_code == 200
    assert body_without_timestamp(response) == {
        "status_code": 2001,
        "status_message": "OCPI-from-country-code and OCPI-from-party-id must be sent together",
    }
    assert (response["OCPI-to-country-code"], response["OCPI-to-party-id"]) == ("DE", "EMS")


def test_a_401_names_no_addressee(full_site):
    response = Client().get(URL)

    assert routing_headers(response) == {
        "OCPI-from-country-code": "NL",
        "OCPI-from-party-id": "EXA",
        "OCPI-to-country-code": None,
        "OCPI-to-party-id": None,
    }


# --- Query counts ------------------------------------------------------------------------

# Token + partner, the partner's roles (routing headers), the data version, the page, its
# EVSEs, their Connectors; plus COUNT on the first page after a change (locations.paging:
# the count is cached per data version). tests/locations/test_paging.py asserts the same
# at two table sizes and deep offsets.
LIST_QUERIES = 6
COUNTING_LIST_QUERIES = 7


@pytest.mark.parametrize("limit", [1, 10])
def test_a_list_page_costs_the_same_queries_whatever_its_size(
    ocpi_client, django_assert_num_queries, limit
):
    for n in range(30):
        create_site(id=f"LOC-{n}", evses=2, connectors_per_evse=2)

    with django_assert_num_queries(COUNTING_LIST_QUERIES):
        first = ocpi_client.get(URL, {"limit": limit})
    with django_assert_num_queries(LIST_QUERIES):
        second = ocpi_client.get(URL, {"limit": limit, "offset": limit})

    assert len(data_of(first)) == len(data_of(second)) == limit


@pytest.mark.parametrize("evses", [1, 8])
def test_a_list_page_costs_the_same_queries_whatever_the_evses_per_location(
    ocpi_client, django_assert_num_queries, evses
):
    for n in range(10):
        create_site(id=f"LOC-{n}", evses=evses, connectors_per_evse=2)

    with django_assert_num_queries(COUNTING_LIST_QUERIES):
        response = ocpi_client.get(URL, {"date_from": "2000-01-01T00:00:00Z"})
    with django_assert_num_queries(LIST_QUERIES):
        again = ocpi_client.get(URL, {"date_from": "2000-01-01T00:00:00Z"})

    data = data_of(response)
    assert [len(location["evses"]) for location in data] == [evses] * 10
    assert data_of(again) == data


@pytest.mark.parametrize(
    ("evses", "path", "queries"),
    [
        # Token + partner, roles, the Location, its EVSEs, their Connectors.
        (1, "/LOC-Q", 5),
        (8, "/LOC-Q", 5),
        # Token + partner, roles, the EVSE, its Connectors.
        (1, "/LOC-Q/{uid}", 4),
        (8, "/LOC-Q/{uid}", 4),
        # Token + partner, roles, the Connector.
        (8, "/LOC-Q/{uid}/2", 3),
    ],
)
def test_an_object_costs_a_fixed_number_of_queries(
    ocpi_client, django_assert_num_queries, evses, path, queries
):
    site = create_site(id="LOC-Q", evses=evses, connectors_per_evse=3)
    uid = EVSE.objects.filter(location=site).order_by("row_id").last().uid

    with django_assert_num_queries(queries):
        response = ocpi_client.get(URL + path.format(uid=uid))

    assert response.status_code == 200


# --- The list's row path renders what the model serializers render ------------------------


def _list_and_model_renderings() -> tuple[bytes, bytes]:
    from locations import selectors
    from locations.serializers import location_data, location_dicts_from_rows
    from versions.envelope import dumps

    rows = list(selectors.location_rows())
    from_rows = location_dicts_from_rows(rows, *selectors.location_page_children(rows))
    from_models = [location_data(location) for location in selectors.location_list()]
    return dumps(from_rows), dumps(from_models)


def test_the_list_rows_render_byte_for_byte_what_location_data_renders(full_site, minimal_site):
    services.location_create(
        location=LocationFactory.build(
            id="LOC-NULLS",
            operator={"name": "Example Charging", "website": None},
            owner={"name": "Null Street 1"},  # "null" in a text, no null member
            charging_when_closed=True,
        )
    )
    services.location_create(location=LocationFactory.build(id="LOC-NO-EVSES"))
    create_site(id="LOC-MANY", evses=3, connectors_per_evse=2)
    pin_last_updated(Location.objects.get(id="LOC-MANY"), PINNED + timedelta(milliseconds=7))

    from_rows, from_models = _list_and_model_renderings()

    assert from_rows == from_models
    assert b'"id":"LOC-NULLS"' in from_rows
    assert b'"operator":{"name":"Example Charging"},' in from_rows
    assert b'"evses":[]' in from_rows


def test_null_members_of_stored_sub_objects_are_left_out_of_the_list_too(ocpi_client, db):
    location = LocationFactory.build(
        id="LOC-NULLS", operator={"name": "Example Charging", "website": None}
    )
    services.location_create(location=location)

    assert data_of(ocpi_client.get(URL))[0]["operator"] == {"name": "Example Charging"}


def test_the_list_and_the_object_urls_render_the_same_locations(ocpi_client, full_site, db):
    create_site(id="LOC-A", evses=2, connectors_per_evse=3)
    services.location_create(location=LocationFactory.build(id="LOC-B"))

    listed = data_of(ocpi_client.get(URL))

    assert [loc["id"] for loc in listed] == ["LOC-FULL", "LOC-A", "LOC-B"]
    for location in listed:
        assert data_of(ocpi_client.get(f"{URL}/{location['id']}")) == location


@pytest.mark.parametrize(
    "text",
    ["2024-03-01T10:00:00.000000", "2024-03-01 10:00:00", "2024-03-01 10:00:00.123456"],
)
def test_utc_texts_of_the_list_format_like_datetimes(text):
    from datetime import UTC, datetime

    from locations.serializers import _datetime_formatter
    from versions.datetimes import format_ocpi_datetime

    as_datetime = datetime.fromisoformat(text).replace(tzinfo=UTC)
    fmt = _datetime_formatter()

    assert fmt(text) == fmt(as_datetime) == format_ocpi_datetime(as_datetime)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (None, None),
        ('{"a": [1, 2.5, "x"], "b": null}', {"a": [1, 2.5, "x"], "b": None}),
        ("NaN", "NaN"),  # orjson refuses it; json.loads gives nan (checked below)
        ("not json", "not json"),  # JSONField.from_db_value gives such text back as is
    ],
)
def test_json_texts_of_the_list_decode_like_jsonfield(text, value):
    import math

    from locations.serializers import _load_json

    loaded = _load_json(text)

    if value == "NaN":
        assert math.isnan(loaded)
    else:
        assert loaded == value
