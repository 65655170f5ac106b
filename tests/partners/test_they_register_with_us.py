"""The credentials endpoint, server side: a partner registers with us (we are the Receiver)."""

import re

import httpx
import pytest

from partners.models import IssuedToken, Partner
from partners.services import partner_create_pending
from partners.tokens import hash_token
from tests.ocpi_partner_server import FakeEmsp, authorization
from tests.partners.conftest import OUR_ROLES

pytestmark = pytest.mark.django_db(transaction=True)

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def without_timestamp(response: httpx.Response) -> dict:
    body = response.json()
    assert TIMESTAMP.match(body.pop("timestamp"))
    return body


@pytest.fixture
def newcomer():
    partner, token_a = partner_create_pending(name="Newcomer")
    return partner, token_a


def credentials_url(server) -> str:
    return f"{server.url}/ocpi/2.2.1/credentials"


def test_a_partner_with_token_a_registers_and_gets_token_c(our_server, emsp, newcomer):
    partner, token_a = newcomer

    response = emsp.register_with(f"{our_server.url}/ocpi/versions", token_a)

    assert response.status_code == 200
    body = without_timestamp(response)
    token_c = body["data"]["token"]
    assert body == {
        "data": {"token": token_c, "url": f"{our_server.url}/ocpi/versions", "roles": OUR_ROLES},
        "status_code": 1000,
        "status_message": "Success",
    }
    # R1/R2: we fetched their versions and details with the token B they posted.
    calls = [(r.method, r.path, r.token) for r in emsp.requests]
    assert calls == [
        ("GET", "/ocpi/versions", emsp.our_token),
        ("GET", "/ocpi/2.2.1", emsp.our_token),
    ]
    assert not any(k.startswith("ocpi-") for r in emsp.requests for k in r.headers)
    partner.refresh_from_db()
    assert partner.state == Partner.State.REGISTERED
    assert partner.registered_by == "them"
    assert partner.version == "2.2.1"
    assert partner.versions_url == emsp.versions_url
    assert partner.outgoing_token == emsp.our_token
    assert sorted(partner.endpoints.values_list("identifier", "role", "url")) == [
        ("credentials", "SENDER", emsp.credentials_url),
        ("locations", "RECEIVER", emsp.locations_url),
    ]
    assert list(partner.roles.values("role", "country_code", "party_id", "business_details")) == [
        {
            "role": "EMSP",
            "country_code": "DE",
            "party_id": "EMS",
            "business_details": {"name": "Fake eMSP"},
        }
    ]
    # Only the hash of token C is stored; token A is dead.
    live = partner.issued_tokens.filter(revoked_at__isnull=True)
    assert [(t.kind, t.token_hash) for t in live] == [("C", hash_token(token_c))]
    versions = f"{our_server.url}/ocpi/versions"
    assert httpx.get(versions, headers={"Authorization": authorization(token_a)}).status_code == 401
    assert httpx.get(versions, headers={"Authorization": authorization(token_c)}).status_code == 200


def test_get_credentials_echoes_the_token_the_caller_used(our_server, emsp, newcomer):
    _, token_a = newcomer
    emsp.register_with(f"{our_server.url}/ocpi/versions", token_a)
    token_c = emsp.our_credentials["token"]

    response = httpx.get(
        credentials_url(our_server), headers={"Authorization": authorization(token_c)}
    )

    assert without_timestamp(response) == {
        "data": {"token": token_c, "url": f"{our_server.url}/ocpi/versions", "roles": OUR_ROLES},
        "status_code": 1000,
        "status_message": "Success",
    }


def test_posting_again_once_registered_is_405(our_server, emsp, newcomer):
    _, token_a = newcomer
    emsp.register_with(f"{our_server.url}/ocpi/versions", token_a)
    token_c = emsp.our_credentials["token"]

    response = httpx.post(
        credentials_url(our_server),
        headers={"Authorization": authorization(token_c)},
        json={"token": "another", "url": emsp.versions_url, "roles": emsp.roles()},
    )

    assert response.status_code == 405
    assert without_timestamp(response) == {
        "status_code": 2000,
        "status_message": "Already registered: use PUT to update the credentials",
    }


def post_with_token_a(server, token_a: str, body) -> httpx.Response:
    return httpx.post(
        credentials_url(server), headers={"Authorization": authorization(token_a)}, json=body
    )


def assert_nothing_saved(partner: Partner, token_a: str) -> None:
    partner.refresh_from_db()
    assert partner.state == Partner.State.PENDING
    assert partner.outgoing_token == ""
    assert not partner.endpoints.exists()
    assert not partner.roles.exists()
    live = partner.issued_tokens.filter(revoked_at__isnull=True)
    assert [(t.kind, t.token_hash) for t in live] == [("A", hash_token(token_a))]


def test_unreachable_partner_api_is_3001_and_saves_nothing(our_server, newcomer):
    partner, token_a = newcomer
    stopped = FakeEmsp().start()
    versions_url = stopped.versions_url
    stopped.stop()

    response = post_with_token_a(
        our_server, token_a, {"token": "their-b", "url": versions_url, "roles": FakeEmsp().roles()}
    )

    assert response.status_code == 200
    assert without_timestamp(response) == {
        "status_code": 3001,
        "status_message": f"Versions {versions_url} could not be fetched: "
        "connection failed (ConnectError)",
    }
    assert_nothing_saved(partner, token_a)


def test_their_versions_refusing_the_token_is_3001(our_server, emsp, newcomer):
    partner, token_a = newcomer

    response = post_with_token_a(
        our_server,
        token_a,
        {"token": "not-known-there", "url": emsp.versions_url, "roles": emsp.roles()},
    )

    assert without_timestamp(response) == {
        "status_code": 3001,
        "status_message": f"Versions {emsp.versions_url} answered HTTP 401 OCPI 2000: "
        "unknown token",
    }
    assert_nothing_saved(partner, token_a)


def test_broken_version_details_are_3001(our_server, emsp, newcomer):
    partner, token_a = newcomer
    emsp.accepted_tokens["their-b"] = "B"
    emsp.fail("/ocpi/2.2.1", http_status=200, body=b"<html>oops</html>")

    response = post_with_token_a(
        our_server, token_a, {"token": "their-b", "url": emsp.versions_url, "roles": emsp.roles()}
    )

    assert without_timestamp(response) == {
        "status_code": 3001,
        "status_message": f"Version details {emsp.base_url}/ocpi/2.2.1 answered HTTP 200",
    }
    assert_nothing_saved(partner, token_a)


def test_no_common_version_is_3002(our_server, newcomer):
    partner, token_a = newcomer
    with FakeEmsp(versions=("2.1.1",)) as old:
        old.accepted_tokens["their-b"] = "B"
        response = post_with_token_a(
            our_server, token_a, {"token": "their-b", "url": old.versions_url, "roles": old.roles()}
        )

    assert without_timestamp(response) == {
        "status_code": 3002,
        "status_message": "No common OCPI version: they offer 2.1.1, we support 2.2.1",
    }
    assert_nothing_saved(partner, token_a)


def test_no_credentials_endpoint_is_3003(our_server, newcomer):
    partner, token_a = newcomer
    with FakeEmsp(credentials_endpoint=False) as odd:
        odd.accepted_tokens["their-b"] = "B"
        response = post_with_token_a(
            our_server, token_a, {"token": "their-b", "url": odd.versions_url, "roles": odd.roles()}
        )

        assert without_timestamp(response) == {
            "status_code": 3003,
            "status_message": f"Version details {odd.base_url}/ocpi/2.2.1 publish no "
            "credentials endpoint, which every OCPI platform must have",
        }
    assert_nothing_saved(partner, token_a)


def test_a_partner_without_locations_receiver_registers_to_pull_only(our_server, newcomer):
    partner, token_a = newcomer
    with FakeEmsp(locations_receiver=False) as puller:
        response = puller.register_with(f"{our_server.url}/ocpi/versions", token_a)

    assert without_timestamp(response)["status_code"] == 1000
    partner.refresh_from_db()
    assert partner.state == Partner.State.REGISTERED
    assert list(partner.endpoints.values_list("identifier", "role")) == [("credentials", "SENDER")]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"url": "http://127.0.0.1:9/ocpi/versions", "roles": []},
            {
                "token": ["This field is required."],
                "roles": {"non_field_errors": ["This list may not be empty."]},
            },
        ),
        (
            {"token": "has space", "url": "not a url", "roles": [{"role": "KING"}]},
            {
                "token": ["1-64 printable ASCII characters without spaces"],
                "url": ["Enter a valid URL."],
                "roles": {
                    "0": {
                        "role": ['"KING" is not a valid choice.'],
                        "business_details": ["This field is required."],
                        "party_id": ["This field is required."],
                        "country_code": ["This field is required."],
                    }
                },
            },
        ),
        (
            ["not", "an", "object"],
            {"non_field_errors": ["a credentials object (JSON object) is required"]},
        ),
    ],
)
def test_malformed_credentials_are_2001_and_nothing_is_fetched(
    our_server, emsp, newcomer, body, errors
):
    partner, token_a = newcomer

    response = post_with_token_a(our_server, token_a, body)

    assert response.status_code == 200
    assert without_timestamp(response) == {
        "data": errors,
        "status_code": 2001,
        "status_message": "Invalid credentials object",
    }
    assert emsp.requests == []
    assert_nothing_saved(partner, token_a)


def test_duplicate_roles_are_2001(our_server, newcomer):
    _, token_a = newcomer
    role = FakeEmsp().roles()[0]

    response = post_with_token_a(
        our_server, token_a, {"token": "b", "url": "http://127.0.0.1:9/v", "roles": [role, role]}
    )

    assert without_timestamp(response) == {
        "data": {
            "roles": [
                "role EMSP DE*EMS is listed twice; (role, country_code, party_id) must be unique"
            ]
        },
        "status_code": 2001,
        "status_message": "Invalid credentials object",
    }


def test_invalid_json_is_400(our_server, newcomer):
    _, token_a = newcomer

    response = httpx.post(
        credentials_url(our_server),
        headers={"Authorization": authorization(token_a), "Content-Type": "application/json"},
        content=b"{not json",
    )

    assert response.status_code == 400
    assert without_timestamp(response)["status_code"] == 2000


def test_roles_of_another_partner_are_refused(our_server, emsp, newcomer):
    from partners.services import partner_create

    partner_create(name="Owner of DE*EMS", country_code="DE", party_id="ems")
    partner, token_a = newcomer

    response = emsp.register_with(f"{our_server.url}/ocpi/versions", token_a)

    assert without_timestamp(response) == {
        "status_code": 2001,
        "status_message": "Role EMSP DE*EMS belongs to another partner already",
    }
    assert_nothing_saved(partner, token_a)


def test_put_rotates_both_tokens_and_refetches_their_endpoints(our_server, emsp, newcomer):
    partner, token_a = newcomer
    emsp.register_with(f"{our_server.url}/ocpi/versions", token_a)
    old_c = emsp.our_credentials["token"]
    emsp.requests.clear()

    response = emsp.update_credentials_with(credentials_url(our_server))

    body = without_timestamp(response)
    new_c = body["data"]["token"]
    assert new_c != old_c
    assert body == {
        "data": {"token": new_c, "url": f"{our_server.url}/ocpi/versions", "roles": OUR_ROLES},
        "status_code": 1000,
        "status_message": "Success",
    }
    assert [(r.method, r.path, r.token) for r in emsp.requests] == [
        ("GET", "/ocpi/versions", emsp.our_token),
        ("GET", "/ocpi/2.2.1", emsp.our_token),
    ]
    partner.refresh_from_db()
    assert partner.outgoing_token == emsp.our_token
    versions = f"{our_server.url}/ocpi/versions"
    assert httpx.get(versions, headers={"Authorization": authorization(old_c)}).status_code == 401
    assert httpx.get(versions, headers={"Authorization": authorization(new_c)}).status_code == 200


def test_failed_put_keeps_the_old_token_working(our_server, emsp, newcomer):
    _, token_a = newcomer
    emsp.register_with(f"{our_server.url}/ocpi/versions", token_a)
    token_c = emsp.our_credentials["token"]
    emsp.fail("/ocpi/versions", http_status=503)

    response = emsp.update_credentials_with(credentials_url(our_server))

    assert without_timestamp(response)["status_code"] == 3001
    versions = f"{our_server.url}/ocpi/versions"
    assert httpx.get(versions, headers={"Authorization": authorization(token_c)}).status_code == 200


def test_put_and_delete_with_token_a_are_405(our_server, emsp, newcomer):
    _, token_a = newcomer
    headers = {"Authorization": authorization(token_a)}
    body = {"token": "b", "url": emsp.versions_url, "roles": emsp.roles()}

    put = httpx.put(credentials_url(our_server), headers=headers, json=body)
    delete = httpx.delete(credentials_url(our_server), headers=headers)

    assert (put.status_code, delete.status_code) == (405, 405)
    assert without_timestamp(put) == {
        "status_code": 2000,
        "status_message": "Not registered: use POST with token A to register",
    }
    assert emsp.requests == []


def test_delete_unregisters_and_revokes_our_token(our_server, emsp, newcomer):
    partner, token_a = newcomer
    emsp.register_with(f"{our_server.url}/ocpi/versions", token_a)
    headers = {"Authorization": authorization(emsp.our_credentials["token"])}

    response = httpx.delete(credentials_url(our_server), headers=headers)

    assert response.status_code == 200
    assert without_timestamp(response) == {"status_code": 1000, "status_message": "Success"}
    partner.refresh_from_db()
    assert partner.state == Partner.State.UNREGISTERED
    assert partner.unregistered_at is not None
    assert partner.outgoing_token == ""
    assert not IssuedToken.objects.filter(partner=partner, revoked_at__isnull=True).exists()
    assert httpx.delete(credentials_url(our_server), headers=headers).status_code == 401


def test_credentials_calls_carry_no_routing_headers_but_request_ids(our_server, emsp, newcomer):
    _, token_a = newcomer
    emsp.register_with(f"{our_server.url}/ocpi/versions", token_a)

    for request in emsp.requests:
        assert not [name for name in request.headers if name.startswith("ocpi-")]
        assert request.headers["x-request-id"]
        assert request.headers["x-correlation-id"]
