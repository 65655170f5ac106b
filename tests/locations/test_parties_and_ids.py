"""Our parties and the ids of our objects (OCPI 2.2.1, Credentials module, CredentialsRole;
Locations module, Location object `id` "unique within the CPO's platform"; CiString URL
segments of the Locations Sender interface).

- Every Location belongs to one of our configured parties (OCPI_PARTIES, or the one-party
  shorthand OCPI_COUNTRY_CODE/OCPI_PARTY_ID): refused in the services, bulk imports and the
  admin otherwise.
- Location ids, EVSE uids and Connector ids hold only characters that survive a URL path
  segment; the refusal names the character.
"""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import Client

from locations import services
from locations.bulk import locations_bulk_create
from locations.models import Location
from tests.conftest import PARTNER_TOKEN, token_header
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory
from versions.parties import OurParty, _parse, our_parties

from .test_admin import LOCATION_ADD, errors_of, page_text, submit, two_evse_site

TWO_PARTIES = json.dumps(
    [
        {
            "country_code": "NL",
            "party_id": "EXA",
            "name": "Example CPO",
            "website": "https://cpo.example.com",
        },
        {"country_code": "be", "party_id": "wl1", "name": "White Label One"},
    ]
)


@pytest.fixture
def two_parties(settings):
    settings.OCPI_PARTIES = TWO_PARTIES


# --- Configuration ---------------------------------------------------------------------------


def test_the_one_party_shorthand_is_our_only_party(settings):
    settings.OCPI_PARTIES = ""
    settings.OCPI_COUNTRY_CODE, settings.OCPI_PARTY_ID = "DE", "ABC"
    settings.OCPI_BUSINESS_NAME, settings.OCPI_BUSINESS_WEBSITE = "ABC Laden", ""

    assert our_parties() == (OurParty("DE", "ABC", "ABC Laden", ""),)


def test_ocpi_parties_lists_every_party_in_capitals(two_parties):
    assert our_parties() == (
        OurParty("NL", "EXA", "Example CPO", "https://cpo.example.com"),
        OurParty("BE", "WL1", "White Label One", ""),
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("NL*EXA", "OCPI_PARTIES must be a JSON list: Expecting value: line 1 column 1 (char 0)"),
        ("[]", "OCPI_PARTIES must be a non-empty JSON list of parties"),
        (
            '[{"country_code": "NLD", "party_id": "EXA", "name": "X"}]',
            "OCPI_PARTIES[0].country_code must be 2 letters, got 'NLD'",
        ),
        (
            '[{"country_code": "NL", "party_id": "EX", "name": "X"}]',
            "OCPI_PARTIES[0].party_id must be 3 letters or digits, got 'EX'",
        ),
        (
            '[{"country_code": "NL", "party_id": "EXA"}]',
            "OCPI_PARTIES[0].name (business name, 1-100 characters) is needed",
        ),
        (
            '[{"country_code": "NL", "party_id": "EXA", "name": "X"},'
            ' {"country_code": "nl", "party_id": "exa", "name": "Y"}]',
            "OCPI_PARTIES[1]: NL*EXA is listed twice",
        ),
    ],
)
def test_a_wrong_ocpi_parties_value_is_refused_with_a_clear_message(raw, message):
    with pytest.raises(ImproperlyConfigured) as refused:
        _parse(raw)

    assert str(refused.value) == message


def test_every_party_is_announced_as_a_cpo_role_in_our_credentials(two_parties, partner):
    response = Client(HTTP_AUTHORIZATION=token_header(PARTNER_TOKEN)).get("/ocpi/2.2.1/credentials")

    assert response.json()["data"]["roles"] == [
        {
            "role": "CPO",
            "party_id": "EXA",
            "country_code": "NL",
            "business_details": {"name": "Example CPO", "website": "https://cpo.example.com"},
        },
        {
            "role": "CPO",
            "party_id": "WL1",
            "country_code": "BE",
            "business_details": {"name": "White Label One"},
        },
    ]


# --- A Location belongs to one of our parties --------------------------------------------------


def test_a_location_of_each_of_our_parties_is_accepted(two_parties, db):
    services.location_create(location=LocationFactory.build(id="LOC-NL"))
    services.location_create(
        location=LocationFactory.build(id="LOC-BE", country_code="BE", party_id="wl1")
    )

    assert sorted(Location.objects.values_list("country_code", "party_id")) == [
        ("BE", "WL1"),
        ("NL", "EXA"),
    ]


def test_a_location_of_a_party_we_never_announced_is_refused_by_the_services(two_parties, db):
    with pytest.raises(ValidationError) as refused:
        services.location_create(
            location=LocationFactory.build(id="LOC-DE", country_code="DE", party_id="ABC")
        )

    assert refused.value.message_dict == {
        "party_id": ["DE*ABC is not one of our parties (NL*EXA, BE*WL1); see OCPI_PARTIES"]
    }
    assert not Location.objects.exists()


def test_a_location_of_a_party_we_never_announced_is_refused_by_a_bulk_import(two_parties, db):
    sites = [
        (LocationFactory.build(id="LOC-OK"), []),
        (LocationFactory.build(id="LOC-DE", country_code="DE", party_id="ABC"), []),
    ]

    with pytest.raises(ValidationError) as refused:
        locations_bulk_create(sites=sites)

    assert refused.value.messages == [
        "Location 'LOC-DE': party_id: DE*ABC is not one of our parties (NL*EXA, BE*WL1); "
        "see OCPI_PARTIES"
    ]
    assert not Location.objects.exists()


def test_the_admin_shows_a_form_error_for_a_party_that_is_not_ours(admin_client, two_parties):
    data = two_evse_site(admin_client, country_code="DE", party_id="ABC")

    response = submit(admin_client, LOCATION_ADD, data)

    assert response.status_code == 200
    assert "DE*ABC is not one of our parties (NL*EXA, BE*WL1); see OCPI_PARTIES" in page_text(
        response
    ), errors_of(response)
    assert not Location.objects.exists()


# --- Ids that survive a URL path segment -------------------------------------------------------

UNSAFE = {
    "slash": ("EDGE/SLASH", "'/'"),
    "question mark": ("A?B", "'?'"),
    "hash": ("A#B", "'#'"),
    "percent": ("A%2F", "'%'"),
    "backslash": ("A\\B", "a backslash"),
    "semicolon": ("A;B", "';'"),
    "quote": ('A"B', "'\"'"),
    "angle bracket": ("A<B", "'<'"),
}
SAFE_IDS = ["LOC-1", "NL*EXA*E1", "a.b_c~d", "x:y@z", "(1)+2,3=4!$&'"]


def _refusal(character: str) -> str:
    return (
        f"{character} is not allowed in an id: ids go into URL paths, so only letters, "
        "digits and - . _ ~ ! $ & ' ( ) * + , = : @ are allowed"
    )


@pytest.mark.parametrize(("value", "character"), list(UNSAFE.values()), ids=list(UNSAFE))
def test_a_location_id_that_would_break_a_url_is_refused_naming_the_character(db, value, character):
    with pytest.raises(ValidationError) as refused:
        services.location_create(location=LocationFactory.build(id=value))

    assert refused.value.message_dict == {"id": [_refusal(character)]}


@pytest.mark.parametrize(("value", "character"), list(UNSAFE.values()), ids=list(UNSAFE))
def test_an_evse_uid_and_a_connector_id_that_would_break_a_url_are_refused(db, value, character):
    with pytest.raises(ValidationError) as evse_refused:
        services.location_create(
            location=LocationFactory.build(id="LOC-1"),
            evses=[(EVSEFactory.build(uid=value), [ConnectorFactory.build(id="1")])],
        )
    with pytest.raises(ValidationError) as connector_refused:
        services.location_create(
            location=LocationFactory.build(id="LOC-2"),
            evses=[(EVSEFactory.build(uid="EVSE-2"), [ConnectorFactory.build(id=value)])],
        )

    assert _refusal(character) in evse_refused.value.messages
    assert _refusal(character) in connector_refused.value.messages
    assert not Location.objects.exists()


def test_a_space_is_named_and_dot_segments_are_refused(db):
    for value, message in [
        ("A B", "must not contain spaces"),
        ("..", "'..' is not allowed as an id: URL paths read it as a directory step"),
    ]:
        with pytest.raises(ValidationError) as refused:
            services.location_create(location=LocationFactory.build(id=value))
        assert message in refused.value.message_dict["id"]


@pytest.mark.parametrize("value", SAFE_IDS)
def test_ids_of_url_safe_characters_are_accepted_and_served_under_their_own_url(ocpi_client, value):
    services.location_create(
        location=LocationFactory.build(id=value),
        evses=[(EVSEFactory.build(uid=f"E-{value}"), [ConnectorFactory.build(id=value)])],
    )

    location = ocpi_client.get(f"/ocpi/cpo/2.2.1/locations/{value}")
    connector = ocpi_client.get(f"/ocpi/cpo/2.2.1/locations/{value}/E-{value}/{value}")

    assert (location.status_code, location.json()["data"]["id"]) == (200, value)
    assert (connector.status_code, connector.json()["data"]["id"]) == (200, value)


# --- Answers come from the party of ours that was addressed ----------------------------------


def test_an_answer_comes_from_the_party_of_ours_the_request_addressed(two_parties, ocpi_client):
    services.location_create(
        location=LocationFactory.build(id="LOC-BE", country_code="BE", party_id="WL1")
    )

    addressed = ocpi_client.get(
        "/ocpi/cpo/2.2.1/locations/LOC-BE",
        HTTP_OCPI_TO_COUNTRY_CODE="be",
        HTTP_OCPI_TO_PARTY_ID="wl1",
    )
    unaddressed = ocpi_client.get("/ocpi/cpo/2.2.1/locations/LOC-BE")

    assert (addressed["OCPI-from-country-code"], addressed["OCPI-from-party-id"]) == ("BE", "WL1")
    assert (unaddressed["OCPI-from-country-code"], unaddressed["OCPI-from-party-id"]) == (
        "NL",
        "EXA",
    )
