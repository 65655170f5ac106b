import re

import pytest
from django.test import Client

from partners.models import IssuedToken, Partner
from partners.services import issued_token_create, partner_issue_token
from tests.conftest import PARTNER_TOKEN, token_header
from versions.authorization import tokens_in_header

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def body_without_timestamp(response) -> dict:
    body = response.json()
    assert TIMESTAMP.match(body.pop("timestamp"))
    return body


def test_versions_lists_our_version_with_an_absolute_url(ocpi_client):
    response = ocpi_client.get("/ocpi/versions")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert body_without_timestamp(response) == {
        "data": [{"version": "2.2.1", "url": "http://testserver.example/ocpi/2.2.1"}],
        "status_code": 1000,
        "status_message": "Success",
    }


def test_version_details_lists_the_implemented_endpoints(ocpi_client):
    response = ocpi_client.get("/ocpi/2.2.1")

    assert response.status_code == 200
    assert body_without_timestamp(response) == {
        "data": {
            "version": "2.2.1",
            "endpoints": [
                {
                    "identifier": "credentials",
                    "role": "SENDER",
                    "url": "http://testserver.example/ocpi/2.2.1/credentials",
                },
                {
                    "identifier": "hubclientinfo",
                    "role": "RECEIVER",
                    "url": "http://testserver.example/ocpi/cpo/2.2.1/hubclientinfo",
                },
                {
                    "identifier": "locations",
                    "role": "SENDER",
                    "url": "http://testserver.example/ocpi/cpo/2.2.1/locations",
                },
            ],
        },
        "status_code": 1000,
        "status_message": "Success",
    }


def test_trailing_slash_is_accepted(ocpi_client):
    assert ocpi_client.get("/ocpi/versions/").status_code == 200
    assert ocpi_client.get("/ocpi/2.2.1/").status_code == 200


@pytest.mark.parametrize("path", ["/ocpi/versions", "/ocpi/2.2.1"])
def test_missing_token_is_401_with_an_envelope(db, path):
    response = Client().get(path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert body_without_timestamp(response) == {
        "status_code": 2000,
        "status_message": "Missing credentials token",
    }


@pytest.mark.parametrize(
    "header",
    [
        token_header("not-a-known-token"),
        "Token ",
        "Bearer " + token_header(PARTNER_TOKEN).split()[1],
        token_header(PARTNER_TOKEN) + " extra",
        "Token " + "x" * 5000,
    ],
)
def test_unknown_or_malformed_token_is_401(partner, header):
    response = Client(HTTP_AUTHORIZATION=header).get("/ocpi/versions")

    assert response.status_code == 401
    assert body_without_timestamp(response)["status_code"] == 2000


def test_raw_token_is_refused_unless_the_partner_switch_is_on(partner):
    raw_client = Client(HTTP_AUTHORIZATION=f"Token {PARTNER_TOKEN}")
    assert raw_client.get("/ocpi/versions").status_code == 401

    partner.incoming_raw_token_allowed = True
    partner.save()

    assert raw_client.get("/ocpi/versions").status_code == 200


@pytest.mark.parametrize("trailing", ["\n", "\r\n", " ", "\t", " \n"])
def test_a_token_encoded_with_trailing_whitespace_like_the_spec_examples_is_accepted(
    partner, trailing
):
    # OCPI 2.2.1, Transport and format, Authorization header: the spec's own examples encode
    # the token with a trailing newline (ZXhhbXBsZS10b2tlbgo= is "example-token\n"), and
    # partners copy them. A credentials token never ends in whitespace.
    client = Client(HTTP_AUTHORIZATION=token_header(PARTNER_TOKEN + trailing))

    response = client.get("/ocpi/versions")

    assert response.status_code == 200
    assert body_without_timestamp(response) == {
        "data": [{"version": "2.2.1", "url": "http://testserver.example/ocpi/2.2.1"}],
        "status_code": 1000,
        "status_message": "Success",
    }


def test_the_spec_example_header_itself_decodes_to_example_token_without_the_newline():
    assert tokens_in_header("Token ZXhhbXBsZS10b2tlbgo=") == (
        "example-token",
        "ZXhhbXBsZS10b2tlbgo=",
    )


@pytest.mark.parametrize("encoded", ["\n", "  ", "\t\n"])
def test_a_token_of_whitespace_only_is_still_unknown(partner, encoded):
    client = Client(HTTP_AUTHORIZATION=token_header(encoded))

    response = client.get("/ocpi/versions")

    assert response.status_code == 401
    assert body_without_timestamp(response) == {
        "status_code": 2000,
        "status_message": "Unknown credentials token",
    }


def test_whitespace_inside_a_token_is_not_dropped(partner):
    client = Client(HTTP_AUTHORIZATION=token_header(PARTNER_TOKEN[:3] + "\n" + PARTNER_TOKEN[3:]))

    assert client.get("/ocpi/versions").status_code == 401


def test_revoked_token_is_401(partner, ocpi_client):
    partner_issue_token(partner=partner, kind=IssuedToken.Kind.C)

    assert ocpi_client.get("/ocpi/versions").status_code == 401


@pytest.mark.parametrize("state", [Partner.State.SUSPENDED, Partner.State.UNREGISTERED])
def test_token_of_a_suspended_or_unregistered_partner_is_401(partner, ocpi_client, state):
    partner.state = state
    partner.save()

    response = ocpi_client.get("/ocpi/versions")

    assert response.status_code == 401
    assert body_without_timestamp(response)["status_code"] == 2000


def test_token_a_works_on_versions_and_version_details(pending_partner_token_a):
    client = Client(HTTP_AUTHORIZATION=token_header(pending_partner_token_a))

    assert client.get("/ocpi/versions").status_code == 200
    assert client.get("/ocpi/2.2.1").status_code == 200


def test_token_a_is_refused_on_functional_modules(pending_partner_token_a):
    client = Client(HTTP_AUTHORIZATION=token_header(pending_partner_token_a))

    response = client.get("/ocpi/cpo/2.2.1/locations")

    assert response.status_code == 401
    assert body_without_timestamp(response)["status_code"] == 2000


def test_token_a_stops_working_once_the_partner_is_registered(db):
    partner = Partner.objects.create(name="Registers", state=Partner.State.PENDING)
    token_a = issued_token_create(partner=partner, kind=IssuedToken.Kind.A)
    partner.state = Partner.State.REGISTERED
    partner.save()

    client = Client(HTTP_AUTHORIZATION=token_header(token_a))
    assert client.get("/ocpi/versions").status_code == 401


def test_request_and_correlation_ids_are_echoed(ocpi_client):
    response = ocpi_client.get(
        "/ocpi/versions", HTTP_X_REQUEST_ID="req-1", HTTP_X_CORRELATION_ID="corr-1"
    )

    assert response["X-Request-ID"] == "req-1"
    assert response["X-Correlation-ID"] == "corr-1"


@pytest.mark.parametrize(
    ("path", "status"), [("/ocpi/versions", 401), ("/ocpi/nope", 404), ("/api/version", 200)]
)
def test_request_and_correlation_ids_are_generated_on_every_response(db, path, status):
    response = Client().get(path)

    assert response.status_code == status
    uuid_re = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")
    assert uuid_re.match(response["X-Request-ID"])
    assert uuid_re.match(response["X-Correlation-ID"])


def test_unusable_request_id_is_replaced_not_reflected(ocpi_client):
    response = ocpi_client.get("/ocpi/versions", HTTP_X_REQUEST_ID="a b\tc" + "x" * 300)

    assert response["X-Request-ID"] != "a b\tc" + "x" * 300
    assert len(response["X-Request-ID"]) == 36


def test_unknown_ocpi_url_is_404_with_an_envelope(ocpi_client):
    response = ocpi_client.get("/ocpi/2.2.1/nonexistent")

    assert response.status_code == 404
    assert body_without_timestamp(response) == {
        "status_code": 2000,
        "status_message": "Unknown URL",
    }


def test_method_not_allowed_is_405_with_an_envelope(ocpi_client):
    response = ocpi_client.post("/ocpi/versions", data="{}", content_type="application/json")

    assert response.status_code == 405
    assert body_without_timestamp(response)["status_code"] == 2000
