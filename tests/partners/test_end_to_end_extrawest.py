"""End to end against an independent OCPI implementation: extrawest-ocpi (py_ocpi, FastAPI).

Its eMSP runs as a real HTTP server in a subprocess, under its own virtualenv (it pins httpx
0.24 and pydantic 1, which clash with ours). We register with it by `ocpi_register`: it
fetches our versions and details with our token B while handling our POST, as the spec says,
and answers its token C, with which we then call it.

The library has no initiator side (it cannot POST credentials to another platform). The
other direction (a partner registering with us) is tested end to end in
test_end_to_end_they_register_with_us, where latam-evra-ocpi's client does the POST and this
same eMSP serves the versions URL and token B it hands us; the error paths of that direction
are in test_they_register_with_us, against tests/ocpi_partner_server. The helpers that build
the virtualenv and start the eMSP are in conftest.py.
"""

import io

import httpx
import pytest
from django.core.management import call_command

from partners.models import Partner
from partners.selectors import partner_endpoint_url
from tests.ocpi_partner_server import authorization
from tests.partners.conftest import extrawest_as_we_store_it, stored_endpoints_and_roles
from versions.client import ocpi_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_we_register_with_an_extrawest_emsp(our_server, extrawest_emsp):
    out = io.StringIO()

    call_command(
        "ocpi_register",
        "--versions-url",
        extrawest_emsp["versions_url"],
        "--token",
        extrawest_emsp["token_a"],
        "--name",
        "Extrawest",
        stdout=out,
    )

    base = extrawest_emsp["base"]
    assert out.getvalue().splitlines()[-2:] == [
        "Registered Extrawest (OCPI 2.2.1).",
        f"Locations Receiver: {base}/ocpi/emsp/2.2.1/locations/",
    ]
    partner = Partner.objects.get(name="Extrawest")
    assert partner.state == Partner.State.REGISTERED
    assert partner.version == "2.2.1"
    assert stored_endpoints_and_roles(partner) == extrawest_as_we_store_it(base)
    assert partner.outgoing_token.startswith("xw-c-")
    # Its token C works for our next calls, its token A no longer does.
    versions = ocpi_request("GET", extrawest_emsp["versions_url"], token=partner.outgoing_token)
    assert (versions.http_status, versions.ocpi_status) == (200, 1000)
    credentials_url = partner_endpoint_url(partner, identifier="credentials", role="SENDER")
    theirs = ocpi_request("GET", credentials_url, token=partner.outgoing_token)
    assert (theirs.ocpi_status, theirs.data["token"]) == (1000, partner.outgoing_token)
    stale = ocpi_request("GET", extrawest_emsp["versions_url"], token=extrawest_emsp["token_a"])
    assert stale.http_status == 401
    assert (
        partner_endpoint_url(partner, identifier="locations", role="RECEIVER")
        == f"{base}/ocpi/emsp/2.2.1/locations/"
    )


def test_extrawest_refuses_a_second_registration_with_405(our_server, extrawest_emsp):
    call_command(
        "ocpi_register",
        "--versions-url",
        extrawest_emsp["versions_url"],
        "--token",
        extrawest_emsp["token_a"],
        "--name",
        "Extrawest",
        stdout=io.StringIO(),
    )
    partner = Partner.objects.get(name="Extrawest")
    credentials_url = partner_endpoint_url(partner, identifier="credentials", role="SENDER")

    again = httpx.post(
        credentials_url,
        headers={"Authorization": authorization(partner.outgoing_token)},
        json={
            "token": "another-token-b",
            "url": "http://127.0.0.1:9/ocpi/versions",
            "roles": [
                {
                    "role": "CPO",
                    "party_id": "EXA",
                    "country_code": "NL",
                    "business_details": {"name": "Example CPO"},
                }
            ],
        },
    )

    assert again.status_code == 405
