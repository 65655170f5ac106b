"""Access rules for functional modules, routing headers, endpoint selection, URL joining.

The addressee of our messages (OCPI-to-*) is tested in test_routing.py."""

import json

import pytest
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from partners.models import PartnerEndpoint, PartnerRole
from partners.selectors import partner_endpoint_url
from tests.conftest import PARTNER_TOKEN, token_header
from versions.auth import IsRegisteredPartnerWithMatchingRouting
from versions.client import join_url
from versions.envelope import OcpiResponse


class FunctionalModuleView(APIView):
    """Stands in for a functional module (e.g. locations) using the shared permission."""

    permission_classes = [IsRegisteredPartnerWithMatchingRouting]

    def get(self, request):
        return OcpiResponse({"caller": request.user.name})


def call(headers: dict[str, str]) -> tuple[int, dict]:
    request = APIRequestFactory().get(
        "/ocpi/cpo/2.2.1/module", HTTP_AUTHORIZATION=token_header(PARTNER_TOKEN), **headers
    )
    response = FunctionalModuleView.as_view()(request)
    body = json.loads(response.content)
    assert body.pop("timestamp")
    return response.status_code, body


def test_no_routing_headers_are_fine(partner):
    assert call({}) == (
        200,
        {"data": {"caller": "Example eMSP"}, "status_code": 1000, "status_message": "Success"},
    )


@pytest.mark.parametrize(("country", "party"), [("DE", "EMS"), ("de", "ems")])
def test_routing_from_one_of_the_callers_roles_is_accepted(partner, country, party):
    status, _ = call({"HTTP_OCPI_FROM_COUNTRY_CODE": country, "HTTP_OCPI_FROM_PARTY_ID": party})

    assert status == 200


def test_routing_from_a_second_role_is_accepted(partner):
    PartnerRole.objects.create(partner=partner, role="EMSP", country_code="NL", party_id="EMX")

    status, _ = call({"HTTP_OCPI_FROM_COUNTRY_CODE": "NL", "HTTP_OCPI_FROM_PARTY_ID": "EMX"})

    assert status == 200


def test_routing_from_a_foreign_party_is_401_not_authorised_for_that_party(partner):
    assert call({"HTTP_OCPI_FROM_COUNTRY_CODE": "FR", "HTTP_OCPI_FROM_PARTY_ID": "XYZ"}) == (
        401,
        {
            "status_code": 2000,
            "status_message": "OCPI-from FR*XYZ is not one of your roles (DE*EMS)",
        },
    )


def test_half_a_routing_pair_is_200_with_2001(partner):
    assert call({"HTTP_OCPI_FROM_COUNTRY_CODE": "DE"}) == (
        200,
        {
            "status_code": 2001,
            "status_message": "OCPI-from-country-code and OCPI-from-party-id must be sent together",
        },
    )


def test_suspended_partner_is_refused_before_routing_is_looked_at(partner):
    partner.state = "suspended"
    partner.save()

    status, body = call({"HTTP_OCPI_FROM_COUNTRY_CODE": "DE", "HTTP_OCPI_FROM_PARTY_ID": "EMS"})

    assert (status, body["status_code"]) == (401, 2000)


def test_endpoint_selection_uses_module_and_role(partner):
    for identifier, role in [
        ("locations", "SENDER"),
        ("locations", "RECEIVER"),
        ("tariffs", "RECEIVER"),
    ]:
        PartnerEndpoint.objects.create(
            partner=partner,
            identifier=identifier,
            role=role,
            url=f"https://emsp.example.com/{identifier}/{role.lower()}",
        )

    assert partner_endpoint_url(partner, identifier="locations", role="RECEIVER") == (
        "https://emsp.example.com/locations/receiver"
    )
    assert partner_endpoint_url(partner, identifier="locations", role="SENDER") == (
        "https://emsp.example.com/locations/sender"
    )
    assert partner_endpoint_url(partner, identifier="sessions", role="RECEIVER") is None


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (
            "https://e.example/ocpi/emsp/2.2.1/locations",
            "https://e.example/ocpi/emsp/2.2.1/locations/NL/EXA/LOC%201",
        ),
        (
            "https://e.example/ocpi/emsp/2.2.1/locations/",
            "https://e.example/ocpi/emsp/2.2.1/locations/NL/EXA/LOC%201",
        ),
        (
            "https://e.example/ocpi/emsp/2.2.1/locations//",
            "https://e.example/ocpi/emsp/2.2.1/locations/NL/EXA/LOC%201",
        ),
    ],
)
def test_join_url_keeps_the_last_segment_and_never_doubles_slashes(base, expected):
    assert join_url(base, "NL", "/EXA/", "LOC 1") == expected


def test_join_url_escapes_slashes_inside_ids():
    assert join_url("https://e.example/loc", "NL", "EXA", "a/b") == (
        "https://e.example/loc/NL/EXA/a%2Fb"
    )
