"""Spec edge cases of the Locations Sender for an authenticated partner: every refusal of a
query parameter or routing header is HTTP 200 with OCPI 2001 and a message that says what
is wrong (OCPI 2.2.1, Status codes: a request that reached the OCPI layer gets no HTTP
error, as corrected on the 2.2.1 bugfix branch; Transport and format, Pagination and
Message Routing)."""

import re

import pytest
from django.test import Client

URL = "/ocpi/cpo/2.2.1/locations"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def answer(response) -> tuple[int, dict]:
    body = response.json()
    assert TIMESTAMP.match(body.pop("timestamp"))
    return response.status_code, body


def refused(message: str) -> tuple[int, dict]:
    return 200, {"status_code": 2001, "status_message": message}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=-1", "limit must be a non-negative integer, got '-1'"),
        ("limit=0", "limit must be at least 1"),
        ("offset=-5", "offset must be a non-negative integer, got '-5'"),
        ("limit=1.5", "limit must be a non-negative integer, got '1.5'"),
        (
            "date_from=2024-03-01T10:00:00%2B01:00",
            "date_from: '2024-03-01T10:00:00+01:00' has a UTC offset; an OCPI DateTime is UTC "
            "only, e.g. 2024-03-01T10:00:00Z (convert the time to UTC)",
        ),
        (
            # An unescaped "+" in a query string is a space: the offset arrives as " 01:00".
            "date_from=2024-03-01T10:00:00+01:00",
            "date_from: '2024-03-01T10:00:00 01:00' has a UTC offset; an OCPI DateTime is UTC "
            "only, e.g. 2024-03-01T10:00:00Z (convert the time to UTC)",
        ),
        (
            "date_to=2024-03-01T10:00:00-05:00",
            "date_to: '2024-03-01T10:00:00-05:00' has a UTC offset; an OCPI DateTime is UTC "
            "only, e.g. 2024-03-01T10:00:00Z (convert the time to UTC)",
        ),
        (
            "date_from=2024-03-01",
            "date_from: '2024-03-01' is not an OCPI DateTime (expected e.g. "
            "2024-03-01T10:00:00Z, UTC only)",
        ),
    ],
)
def test_an_invalid_or_out_of_range_query_parameter_is_200_with_2001(
    ocpi_client, full_site, query, message
):
    assert answer(ocpi_client.get(f"{URL}?{query}")) == refused(message)


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_OCPI_FROM_COUNTRY_CODE": "DE"},
        {"HTTP_OCPI_FROM_PARTY_ID": "EMS"},
        {"HTTP_OCPI_FROM_COUNTRY_CODE": "DE", "HTTP_OCPI_FROM_PARTY_ID": ""},
    ],
    ids=["country code only", "party id only", "empty party id"],
)
@pytest.mark.parametrize("path", ["", "/LOC-FULL", "/LOC-FULL/EVSE-FULL/1"])
def test_half_a_routing_header_pair_is_200_with_2001(ocpi_client, full_site, headers, path):
    response = ocpi_client.get(f"{URL}{path}", **headers)

    assert answer(response) == refused(
        "OCPI-from-country-code and OCPI-from-party-id must be sent together"
    )


def test_a_bad_parameter_of_an_unknown_caller_is_still_401(full_site):
    response = Client().get(f"{URL}?limit=-1")

    assert answer(response) == (
        401,
        {"status_code": 2000, "status_message": "Missing credentials token"},
    )


def test_an_over_large_limit_is_capped_without_an_error(ocpi_client, full_site, settings):
    # OCPI 2.2.1, Transport and format, Pagination: the server may cap `limit`; no error.
    settings.OCPI_MAX_PAGE_SIZE = 10

    response = ocpi_client.get(f"{URL}?limit=5000")

    status, body = answer(response)
    assert (status, body["status_code"], len(body["data"])) == (200, 1000, 1)
    assert response["X-Limit"] == "10"
