"""Pushes are addressed by the one rule pull answers use (`partners.routing.addressee`):
a partner with several roles sees the same OCPI-to-* both ways."""

import pytest
from django.test import Client

from partners.models import IssuedToken, PartnerRole
from partners.services import partner_issue_token
from tests.conftest import token_header

from .conftest import add_push_partner, build_site

pytestmark = pytest.mark.usefixtures("eager")


def _partner_with_roles(receiver, first, second) -> str:
    """A push partner with two roles; returns a token C it can pull with."""
    partner = add_push_partner(
        receiver, name="Several roles", role=first[0], country_code=first[1], party_id=first[2]
    )
    PartnerRole.objects.create(
        partner=partner, role=second[0], country_code=second[1], party_id=second[2]
    )
    return partner_issue_token(partner=partner, kind=IssuedToken.Kind.C)


def _to(headers) -> tuple[str, str]:
    return headers["ocpi-to-country-code"], headers["ocpi-to-party-id"]


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (("HUB", "DE", "HUB"), ("EMSP", "DE", "EMS"), ("DE", "HUB")),
        (("EMSP", "NL", "EM1"), ("CPO", "NL", "CP1"), ("NL", "EM1")),
        (("CPO", "FR", "CPO"), ("HUB", "FR", "HUB"), ("FR", "HUB")),
    ],
)
def test_a_partner_with_several_roles_gets_pushes_and_pull_answers_with_one_addressee(
    db, receiver, saved, first, second, expected
):
    token = _partner_with_roles(receiver, first, second)

    saved(build_site)
    [put] = receiver.pushes()
    pulled = Client(HTTP_AUTHORIZATION=token_header(token)).get("/ocpi/cpo/2.2.1/locations")

    assert _to(put.headers) == expected
    assert (pulled["OCPI-to-country-code"], pulled["OCPI-to-party-id"]) == expected
    assert (put.headers["ocpi-from-country-code"], put.headers["ocpi-from-party-id"]) == (
        "NL",
        "EXA",
    )


def test_a_push_comes_from_the_party_of_ours_that_owns_the_location(
    push_partner, receiver, saved, settings
):
    # Several parties on one platform (OCPI_PARTIES): OCPI-from-* of a push names the owner
    # of the Location, the same party as in its URL (OCPI 2.2.1, Transport and format,
    # Message Routing; Client Owned Objects).
    settings.OCPI_PARTIES = (
        '[{"country_code": "NL", "party_id": "EXA", "name": "Example"},'
        ' {"country_code": "BE", "party_id": "WL1", "name": "White Label One"}]'
    )

    saved(lambda: build_site(id="LOC-NL"))
    saved(lambda: build_site(id="LOC-BE", country_code="BE", party_id="WL1"))

    assert [
        (
            r.path,
            r.headers["ocpi-from-country-code"],
            r.headers["ocpi-from-party-id"],
            r.headers["ocpi-to-party-id"],
        )
        for r in receiver.pushes()
    ] == [
        ("/ocpi/emsp/2.2.1/locations/NL/EXA/LOC-NL", "NL", "EXA", "EMS"),
        ("/ocpi/emsp/2.2.1/locations/BE/WL1/LOC-BE", "BE", "WL1", "EMS"),
    ]
