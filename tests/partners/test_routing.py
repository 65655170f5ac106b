"""The addressee of our messages to a partner (OCPI-to-*): one rule, `partners.routing`.

Pull answers use it here; pushes use it too, tested against a real receiver in
tests/pushers/test_addressee.py.
"""

import pytest
from django.test import Client

from partners.models import PartnerRole
from partners.routing import Party, addressee, partner_addressee, routing_headers
from partners.services import partner_create
from tests.conftest import token_header


def _roles(*roles: tuple[str, str, str]) -> list[PartnerRole]:
    return [
        PartnerRole(pk=pk, role=role, country_code=country, party_id=party)
        for pk, (role, country, party) in enumerate(roles, start=1)
    ]


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ([("EMSP", "DE", "EMS")], Party("DE", "EMS")),
        # A hub role first, wherever it stands: pushes to a hub are broadcast pushes
        # addressed to the hub.
        ([("EMSP", "DE", "EMS"), ("HUB", "DE", "HUB")], Party("DE", "HUB")),
        ([("CPO", "FR", "CPO"), ("HUB", "FR", "HUB")], Party("FR", "HUB")),
        # Else the eMSP role, wherever it stands.
        ([("EMSP", "NL", "EM1"), ("CPO", "NL", "CP1")], Party("NL", "EM1")),
        ([("CPO", "NL", "CP1"), ("EMSP", "NL", "EM1")], Party("NL", "EM1")),
        # Two eMSP roles: the older one.
        ([("EMSP", "BE", "EM1"), ("EMSP", "BE", "EM2")], Party("BE", "EM1")),
        # No hub or eMSP role: the older role.
        ([("CPO", "FR", "CPO"), ("NSP", "FR", "NSP")], Party("FR", "CPO")),
        ([("NSP", "fr", "ns1")], Party("FR", "NS1")),
        ([], None),
    ],
)
def test_the_addressee_is_the_hub_role_else_the_emsp_role_else_the_oldest_role(roles, expected):
    assert addressee(_roles(*roles)) == expected


def test_the_addressee_does_not_depend_on_the_order_the_roles_come_in():
    roles = _roles(("HUB", "DE", "HUB"), ("CPO", "DE", "CPO"), ("EMSP", "DE", "EMS"))

    assert addressee(roles) == addressee(list(reversed(roles))) == Party("DE", "HUB")


def test_routing_headers_name_us_and_the_addressee(settings):
    settings.OCPI_COUNTRY_CODE, settings.OCPI_PARTY_ID = "NL", "EXA"

    assert routing_headers(Party("DE", "EMS")) == {
        "OCPI-from-country-code": "NL",
        "OCPI-from-party-id": "EXA",
        "OCPI-to-country-code": "DE",
        "OCPI-to-party-id": "EMS",
    }
    assert routing_headers(None) == {"OCPI-from-country-code": "NL", "OCPI-from-party-id": "EXA"}


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (("HUB", "DE", "HUB"), ("EMSP", "DE", "EMS"), ("DE", "HUB")),
        (("EMSP", "NL", "EM1"), ("CPO", "NL", "CP1"), ("NL", "EM1")),
    ],
)
def test_a_pull_answer_is_addressed_to_the_partners_addressee(
    db, settings, first, second, expected
):
    settings.OCPI_COUNTRY_CODE, settings.OCPI_PARTY_ID = "NL", "EXA"
    partner, token = partner_create(
        name="Several roles", role=first[0], country_code=first[1], party_id=first[2]
    )
    PartnerRole.objects.create(
        partner=partner, role=second[0], country_code=second[1], party_id=second[2]
    )

    response = Client(HTTP_AUTHORIZATION=token_header(token)).get("/ocpi/cpo/2.2.1/locations")

    assert response.status_code == 200
    assert (response["OCPI-to-country-code"], response["OCPI-to-party-id"]) == expected
    assert Party(*expected) == partner_addressee(partner)
