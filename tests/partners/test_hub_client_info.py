"""The HubClientInfo module, our Receiver interface, and what a hub may forward (OCPI 2.2.1,
HubClientInfo module; Transport and format, Message Routing)."""

import re

import pytest
from django.test import Client

from partners.models import HubClientInfo, PartnerRole
from partners.services import partner_create
from tests.conftest import token_header
from tests.factories import LocationFactory

HUB_TOKEN = "hub-token-0123456789"
URL = "/ocpi/cpo/2.2.1/hubclientinfo"
LOCATIONS = "/ocpi/cpo/2.2.1/locations"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def envelope(response) -> dict:
    body = response.json()
    assert TIMESTAMP.match(body.pop("timestamp"))
    return body


def client_info(country="FR", party="MSP", role="EMSP", status="CONNECTED", at="10:00:00"):
    return {
        "party_id": party,
        "country_code": country,
        "role": role,
        "status": status,
        "last_updated": f"2024-03-01T{at}Z",
    }


@pytest.fixture
def hub(db):
    partner, _ = partner_create(
        name="Roaming hub", role="HUB", country_code="DE", party_id="HUB", token=HUB_TOKEN
    )
    return partner


@pytest.fixture
def hub_client(hub) -> Client:
    return Client(HTTP_AUTHORIZATION=token_header(HUB_TOKEN))


def put(client, info, path=None):
    path = path or f"{URL}/{info['country_code']}/{info['party_id']}"
    return client.put(path, info, content_type="application/json")


def stored(hub) -> list[tuple]:
    return list(
        HubClientInfo.objects.filter(partner=hub).values_list(
            "country_code", "party_id", "role", "status"
        )
    )


# --- Receiver interface: PUT and GET --------------------------------------------------------


def test_a_hub_puts_a_new_client_info_and_gets_it_back(hub, hub_client):
    response = put(hub_client, client_info())

    assert response.status_code == 201
    assert envelope(response) == {
        "data": client_info(),
        "status_code": 1000,
        "status_message": "Success",
    }
    assert "OCPI-from-country-code" not in response  # a Configuration Module: no routing
    got = hub_client.get(f"{URL}/fr/msp")
    assert (got.status_code, envelope(got)) == (
        200,
        {"data": client_info(), "status_code": 1000, "status_message": "Success"},
    )
    assert stored(hub) == [("FR", "MSP", "EMSP", "CONNECTED")]


def test_a_newer_client_info_replaces_the_stored_one_and_an_older_one_is_ignored(hub, hub_client):
    put(hub_client, client_info(at="10:00:00"))

    updated = put(hub_client, client_info(status="OFFLINE", at="11:00:00"))
    stale = put(hub_client, client_info(status="SUSPENDED", at="09:00:00"))

    assert (updated.status_code, envelope(updated)["data"]["status"]) == (200, "OFFLINE")
    assert (stale.status_code, envelope(stale)["data"]) == (
        200,
        client_info(status="OFFLINE", at="11:00:00"),
    )
    assert stored(hub) == [("FR", "MSP", "EMSP", "OFFLINE")]


def test_an_unknown_client_info_is_404(hub_client):
    response = hub_client.get(f"{URL}/FR/XYZ")

    assert (response.status_code, envelope(response)) == (
        404,
        {"status_code": 2000, "status_message": "No ClientInfo for FR*XYZ"},
    )


def test_a_client_info_for_another_party_than_the_url_names_is_2001(hub, hub_client):
    response = put(hub_client, client_info(party="MSP"), path=f"{URL}/FR/OTH")

    assert (response.status_code, envelope(response)) == (
        200,
        {"status_code": 2001, "status_message": "The URL names FR*OTH, the body FR*MSP"},
    )
    assert stored(hub) == []


def test_an_invalid_client_info_is_2001_naming_the_fields(hub, hub_client):
    response = put(hub_client, {**client_info(), "status": "ASLEEP", "last_updated": "today"})

    assert (response.status_code, envelope(response)) == (
        200,
        {
            "status_code": 2001,
            "status_message": "Invalid ClientInfo object",
            "data": {
                "status": ['"ASLEEP" is not a valid choice.'],
                "last_updated": [
                    "'today' is not an OCPI DateTime (expected e.g. 2024-03-01T10:00:00Z, UTC only)"
                ],
            },
        },
    )
    assert stored(hub) == []


def test_only_a_hub_pushes_client_info(partner, ocpi_client):
    response = put(ocpi_client, client_info())

    assert (response.status_code, envelope(response)) == (
        401,
        {"status_code": 2000, "status_message": "Only a hub (role HUB) pushes ClientInfo"},
    )
    assert response["WWW-Authenticate"] == "Token"
    assert HubClientInfo.objects.count() == 0


# --- Requests a hub forwards ----------------------------------------------------------------


@pytest.fixture
def site(db):
    from locations.services import location_create

    return location_create(location=LocationFactory.build(id="LOC-1"))


def forwarded_get(client, country, party, path=f"{LOCATIONS}/LOC-1"):
    return client.get(
        path,
        HTTP_OCPI_FROM_COUNTRY_CODE=country,
        HTTP_OCPI_FROM_PARTY_ID=party,
        HTTP_OCPI_TO_COUNTRY_CODE="NL",
        HTTP_OCPI_TO_PARTY_ID="EXA",
    )


def routing(response) -> dict:
    names = ("from-country-code", "from-party-id", "to-country-code", "to-party-id")
    return {n: response.get(f"OCPI-{n}") for n in names}


@pytest.mark.parametrize("status", ["CONNECTED", "OFFLINE", "PLANNED"])
def test_a_hub_forwards_a_request_of_a_party_it_announced_and_the_answer_names_that_party(
    hub, hub_client, site, status
):
    put(hub_client, client_info(status=status))

    response = forwarded_get(hub_client, "fr", "msp")

    assert response.status_code == 200
    assert envelope(response)["data"]["id"] == "LOC-1"
    assert routing(response) == {
        "from-country-code": "NL",
        "from-party-id": "EXA",
        "to-country-code": "FR",
        "to-party-id": "MSP",
    }


def test_a_hub_may_speak_as_itself(hub_client, site):
    response = forwarded_get(hub_client, "DE", "HUB")

    assert response.status_code == 200
    assert routing(response)["to-party-id"] == "HUB"


@pytest.mark.parametrize(
    ("announced", "message"),
    [
        (
            None,
            "OCPI-from FR*MSP is not one of your roles (DE*HUB) nor a party you announced in "
            "a ClientInfo (HubClientInfo module)",
        ),
        (
            client_info(party="OTH"),
            "OCPI-from FR*MSP is not one of your roles (DE*HUB) nor a party you announced in "
            "a ClientInfo (HubClientInfo module)",
        ),
        (
            client_info(status="SUSPENDED"),
            "OCPI-from FR*MSP is not one of your roles (DE*HUB) nor a party you announced in "
            "a ClientInfo (HubClientInfo module)",
        ),
    ],
    ids=["nothing announced", "another party announced", "suspended"],
)
def test_a_hub_forwarding_for_a_party_it_did_not_announce_is_401(
    hub, hub_client, site, announced, message
):
    if announced is not None:
        put(hub_client, announced)

    response = forwarded_get(hub_client, "FR", "MSP")

    assert (response.status_code, envelope(response)) == (
        401,
        {"status_code": 2000, "status_message": message},
    )
    assert response["WWW-Authenticate"] == "Token"
    assert routing(response)["to-party-id"] is None  # addressed to nobody


def test_the_per_hub_switch_accepts_any_party_until_the_hub_sends_client_info(
    hub, hub_client, site
):
    hub.hub_accept_unannounced_parties = True
    hub.save()

    before = forwarded_get(hub_client, "FR", "MSP")
    put(hub_client, client_info(party="OTH"))
    after = forwarded_get(hub_client, "FR", "MSP")

    assert (before.status_code, routing(before)["to-party-id"]) == (200, "MSP")
    assert after.status_code == 401


def test_a_partner_that_is_no_hub_cannot_forward_even_with_client_info_rows(
    partner, ocpi_client, site
):
    HubClientInfo.objects.create(
        partner=partner,
        country_code="FR",
        party_id="MSP",
        role="EMSP",
        status="CONNECTED",
        last_updated="2024-03-01T10:00:00Z",
    )
    partner.hub_accept_unannounced_parties = True
    partner.save()

    assert forwarded_get(ocpi_client, "FR", "MSP").status_code == 401


def test_a_platform_with_roles_hub_and_emsp_forwards_too(hub, hub_client, site):
    PartnerRole.objects.create(partner=hub, role="EMSP", country_code="DE", party_id="HBE")
    put(hub_client, client_info())

    own = forwarded_get(hub_client, "DE", "HBE")
    forwarded = forwarded_get(hub_client, "FR", "MSP")

    assert (own.status_code, routing(own)["to-party-id"]) == (200, "HBE")
    assert (forwarded.status_code, routing(forwarded)["to-party-id"]) == (200, "MSP")


def test_the_hub_page_lists_its_client_infos_read_only(hub, hub_client, admin_client):
    put(hub_client, client_info())
    put(hub_client, client_info(country="BE", party="EMP", status="PLANNED"))

    page = admin_client.get(f"/admin/partners/partner/{hub.pk}/change/").content.decode()
    rows = re.findall(
        r'<td class="field-(country_code|party_id|role|status)">\s*<p>([^<]*)</p>', page
    )

    assert "parties reachable through this hub (clientinfo, pushed by the hub)" in page.lower()
    # (the choices' labels, as the admin shows them)
    assert [value for _, value in rows] == [
        "BE",
        "EMP",
        "Emsp",
        "Planned",
        "FR",
        "MSP",
        "Emsp",
        "Connected",
    ]
    assert "hub_clients-0-status" not in page  # read-only: no form field
