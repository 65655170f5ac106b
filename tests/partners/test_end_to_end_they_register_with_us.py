"""End to end, a partner registers with us, all of its side written by others.

Its client is latam-evra-ocpi's `OcpiClient` (PyPI, MIT; written for the LATAM EV Roaming
Alliance's OCPI 2.3.0 hub): it POSTs the credentials with the token A we provisioned, then
pulls our Locations and ends the registration with it. Its server, whose versions URL the
client posts and which we must fetch during the POST, is the extrawest-ocpi eMSP of
test_end_to_end_extrawest (its own virtualenv, a real HTTP server). Our side is the live
server, reached over HTTP only.

What the client does differently from OCPI 2.2.1, and how the test copes:
- It sends `Authorization: Token <token>` unencoded (the 2.1.1 habit): the operator turns on
  the partner's "Accept their raw token" switch, as for any such partner.
- It posts its token A as the credentials token, so our token B for the partner is that same
  value: the extrawest server is started accepting exactly it.
- One base URL per client for every module; ours differ (credentials under /ocpi/2.2.1,
  Locations under /ocpi/cpo/2.2.1), taken from our version details: one client per base.
- `renew_credentials` PUTs without a body; OCPI 2.2.1 requires the credentials object there,
  so we refuse it with 2001 and the rotation is done with the spec's PUT, by hand, its answer
  checked with the library's own models.
"""

import asyncio
import io
import re

import httpx
import pytest
from django.core.management import call_command
from latam_evra_ocpi import OcpiClient, OcpiError
from latam_evra_ocpi.models.credentials import Credentials
from latam_evra_ocpi.models.envelope import OcpiResponse

from locations.services import location_create
from partners.models import IssuedToken, Partner
from partners.tokens import hash_token
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory
from tests.partners.conftest import (
    OUR_ROLES,
    extrawest_as_we_store_it,
    extrawest_emsp_server,
    stored_endpoints_and_roles,
)

pytestmark = pytest.mark.django_db(transaction=True)

EXTRAWEST_ROLES = [
    {
        "role": "EMSP",
        "party_id": "XWE",
        "country_code": "UA",
        "business_details": {"name": "Extrawest eMSP"},
    }
]


def latam(base_url: str, call: str, *args):
    """One call of latam-evra-ocpi's async client, as the partner's code would make it."""

    async def run():
        async with OcpiClient(base_url=base_url) as client:
            return await getattr(client, call)(*args)

    return asyncio.run(run())


def refused(base_url: str, call: str, *args) -> tuple[int | None, int, str]:
    """(HTTP status, OCPI status, message) of a call the client reports as an OcpiError."""
    with pytest.raises(OcpiError) as raised:
        latam(base_url, call, *args)
    return raised.value.http_status, raised.value.status_code, raised.value.status_message


def provision_token_a(name: str) -> str:
    """The operator's step 0: `ocpi_partner token-a`, then the raw-token switch."""
    out = io.StringIO()
    call_command("ocpi_partner", "token-a", "--name", name, stdout=out)
    token_a = re.search(r"^Token A: (\S+)$", out.getvalue(), re.MULTILINE).group(1)
    # What the admin's "Accept their raw token" box saves: the client sends tokens unencoded.
    Partner.objects.filter(name=name).update(incoming_raw_token_allowed=True)
    return token_a


def seed_location():
    location = LocationFactory.build(id="LOC-1", name="Station Square")
    evse = EVSEFactory.build(uid="EVSE-1", evse_id="NL*EXA*E1")
    return location_create(location=location, evses=[(evse, [ConnectorFactory.build(id="1")])])


@pytest.fixture
def our_bases(our_server):
    """The client's base URLs for our credentials and Locations (see the first test)."""
    return {
        "credentials": f"{our_server.url}/ocpi/2.2.1",
        "locations": f"{our_server.url}/ocpi/cpo/2.2.1",
    }


@pytest.fixture
def partner_side(our_server, extrawest_interpreter):
    """Token A provisioned for "Extrawest"; its eMSP server running, accepting that token."""
    seed_location()
    token_a = provision_token_a("Extrawest")
    with extrawest_emsp_server(extrawest_interpreter, token_a) as server:
        yield server


@pytest.fixture
def registered(our_server, our_bases, partner_side):
    """The partner has registered with us through the library; its credentials from us."""
    return latam(
        our_bases["credentials"],
        "register_credentials",
        partner_side["token_a"],  # its token A, also posted as its own token (the library's way)
        partner_side["versions_url"],
        EXTRAWEST_ROLES,
    )


def test_our_version_details_publish_the_bases_the_client_is_given(our_server, our_bases):
    token = provision_token_a("Reader")

    details = httpx.get(
        f"{our_server.url}/ocpi/2.2.1", headers={"Authorization": f"Token {token}"}
    ).json()["data"]

    urls = {e["identifier"]: e["url"] for e in details["endpoints"]}
    assert urls == {
        "credentials": f"{our_bases['credentials']}/credentials",
        "hubclientinfo": f"{our_bases['locations']}/hubclientinfo",
        "locations": f"{our_bases['locations']}/locations",
    }


def test_a_latam_client_registers_its_extrawest_emsp_with_us(our_server, partner_side, registered):
    base = partner_side["base"]

    # The library validated our answer with its pydantic models; it holds our token C.
    token_c = registered.token
    assert registered.model_dump(mode="json") == {
        "token": token_c,
        "url": f"{our_server.url}/ocpi/versions",
        "roles": OUR_ROLES,
    }
    # We fetched the extrawest versions and details with the posted token while answering.
    partner = Partner.objects.get(name="Extrawest")
    assert partner.state == Partner.State.REGISTERED
    assert partner.registered_by == "them"
    assert (partner.version, partner.versions_url) == ("2.2.1", partner_side["versions_url"])
    assert partner.outgoing_token == partner_side["token_a"]
    assert stored_endpoints_and_roles(partner) == extrawest_as_we_store_it(base)
    live = partner.issued_tokens.filter(revoked_at__isnull=True)
    assert [(t.kind, t.token_hash) for t in live] == [("C", hash_token(token_c))]


def test_token_a_is_used_up_by_the_registration(our_bases, partner_side, registered):
    again = refused(
        our_bases["credentials"],
        "register_credentials",
        partner_side["token_a"],
        partner_side["versions_url"],
        EXTRAWEST_ROLES,
    )

    assert again == (401, 2000, "Unknown credentials token")


def test_token_c_pulls_our_locations_into_the_library_models(our_bases, registered):
    page = latam(our_bases["locations"], "get_locations", registered.token)

    assert page.model_dump(mode="json") == {
        "locations": [
            {
                "country_code": "NL",
                "party_id": "EXA",
                "id": "LOC-1",
                "publish": True,
                "address": "Stationsplein 1",
                "city": "Utrecht",
                "country": "NLD",
                "coordinates": {"latitude": "52.089444", "longitude": "5.110278"},
                "name": "Station Square",
                "evses": [
                    {
                        "uid": "EVSE-1",
                        "evse_id": "NL*EXA*E1",
                        "status": "AVAILABLE",
                        "connectors": [
                            {
                                "id": "1",
                                "standard": "IEC_62196_T2",
                                "format": "SOCKET",
                                "power_type": "AC_3_PHASE",
                                "max_voltage": 230,
                                "max_amperage": 16,
                                "max_electric_power": None,
                                "tariff_ids": None,
                            }
                        ],
                    }
                ],
            }
        ],
        "total": 1,
    }


def test_the_library_renewal_without_credentials_is_refused_and_changes_nothing(
    our_bases, registered
):
    renewal = refused(our_bases["credentials"], "renew_credentials", registered.token)

    assert renewal == (200, 2001, "Invalid credentials object")
    assert latam(our_bases["locations"], "get_locations", registered.token).total == 1


def test_a_put_with_credentials_rotates_token_c(our_server, our_bases, partner_side, registered):
    old_c = registered.token

    # The PUT OCPI 2.2.1 asks for (the library's renew_credentials sends no body), sent as
    # the library sends everything: to {base}/credentials, the token unencoded.
    response = httpx.put(
        f"{our_bases['credentials']}/credentials",
        headers={"Authorization": f"Token {old_c}"},
        json={
            "token": partner_side["token_a"],
            "url": partner_side["versions_url"],
            "roles": EXTRAWEST_ROLES,
        },
    )

    assert response.status_code == 200
    renewed = OcpiResponse[Credentials].model_validate(response.json())
    new_c = renewed.data.token
    assert new_c != old_c
    assert (renewed.status_code, renewed.status_message) == (1000, "Success")
    assert renewed.data.model_dump(mode="json") == {
        "token": new_c,
        "url": f"{our_server.url}/ocpi/versions",
        "roles": OUR_ROLES,
    }
    assert latam(our_bases["locations"], "get_locations", new_c).total == 1
    stale = refused(our_bases["locations"], "get_locations", old_c)
    assert stale == (401, 2000, "Unknown credentials token")


def test_terminate_credentials_unregisters_the_partner(our_bases, registered):
    token_c = registered.token

    assert latam(our_bases["credentials"], "terminate_credentials", token_c) is None

    partner = Partner.objects.get(name="Extrawest")
    assert partner.state == Partner.State.UNREGISTERED
    assert partner.outgoing_token == ""
    assert not IssuedToken.objects.filter(partner=partner, revoked_at__isnull=True).exists()
    gone = refused(our_bases["locations"], "get_locations", token_c)
    assert gone == (401, 2000, "Unknown credentials token")
