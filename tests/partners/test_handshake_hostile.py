"""The credentials handshake against hostile partners: every failed handshake is answered
with its OCPI code within the handshake deadline, refused URLs are refused without telling
the partner about our network, and handshakes beyond the limit are refused at once.

Real servers on 127.0.0.1 (tests/hostile_servers.py), our real client and views."""

import json
import threading
import time

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from partners import discovery
from partners.handshake_slots import handshake_slot
from partners.models import IssuedToken, Partner
from partners.services import partner_create_pending
from tests.conftest import PARTNER_TOKEN, token_header
from tests.hostile_servers import DripServer, SilentServer, SlowServer
from tests.ocpi_partner_server import authorization

CREDENTIALS = "/ocpi/2.2.1/credentials"
ROLES = [
    {"role": "EMSP", "country_code": "DE", "party_id": "HOS", "business_details": {"name": "H"}}
]


@pytest.fixture(autouse=True)
def _short_deadlines(settings):
    settings.OCPI_HANDSHAKE_DEADLINE = 1
    settings.OCPI_HTTP_READ_TIMEOUT = 5


def post_credentials(token_a: str, versions_url: str) -> tuple[dict, int, float]:
    started = time.monotonic()
    response = Client(HTTP_AUTHORIZATION=token_header(token_a)).post(
        CREDENTIALS,
        data={"token": "their-token-b", "url": versions_url, "roles": ROLES},
        content_type="application/json",
    )
    elapsed = time.monotonic() - started
    body = response.json()
    body.pop("timestamp")
    return body, response.status_code, elapsed


def assert_still_pending(token_a: str) -> None:
    token = IssuedToken.objects.get(hint=token_a[:4], kind=IssuedToken.Kind.A)
    assert token.revoked_at is None
    assert token.partner.state == Partner.State.PENDING
    assert not token.partner.endpoints.exists()


@pytest.mark.django_db
def test_a_post_whose_versions_url_drips_is_answered_with_3001_within_the_deadline(
    pending_partner_token_a,
):
    with DripServer(interval=0.05) as server:
        url = f"{server.url}/ocpi/versions"
        body, http_status, elapsed = post_credentials(pending_partner_token_a, url)

    assert (http_status, body) == (
        200,
        {
            "status_code": 3001,
            "status_message": f"Versions {url} could not be fetched: "
            "handshake deadline of 1 s exceeded",
        },
    )
    assert elapsed > 0.9
    assert_still_pending(pending_partner_token_a)


@pytest.mark.django_db
def test_the_versions_and_the_details_share_one_deadline(pending_partner_token_a):
    # Versions take 0.6 s, then the details drip: the answer comes at 1 s, not at 1.6 s.
    with DripServer(interval=0.05) as details:
        versions_body = json.dumps(
            {"data": [{"version": "2.2.1", "url": f"{details.url}/details"}], "status_code": 1000}
        ).encode()
        with SlowServer(delay=0.6, body=versions_body) as versions:
            body, _, elapsed = post_credentials(pending_partner_token_a, versions.url)

    assert body["status_code"] == 3001
    assert body["status_message"] == (
        f"Version details {details.url}/details could not be fetched: "
        "handshake deadline of 1 s exceeded"
    )
    assert elapsed < 1.5


@pytest.mark.django_db
def test_a_put_whose_versions_url_never_answers_changes_nothing_within_the_deadline(partner):
    with SilentServer() as server:
        started = time.monotonic()
        response = Client(HTTP_AUTHORIZATION=token_header(PARTNER_TOKEN)).put(
            CREDENTIALS,
            data={"token": "new-token", "url": f"{server.url}/ocpi/versions", "roles": ROLES},
            content_type="application/json",
        )
        elapsed = time.monotonic() - started

    assert response.json()["status_code"] == 3001
    assert "handshake deadline of 1 s exceeded" in response.json()["status_message"]
    assert elapsed > 0.9
    partner.refresh_from_db()
    assert partner.state == Partner.State.REGISTERED
    assert partner.issued_tokens.filter(revoked_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_a_private_address_is_refused_without_telling_the_partner_why(
    pending_partner_token_a, settings, caplog
):
    # given: production rules for addresses; a name that resolves to our loopback
    settings.OCPI_ALLOW_PRIVATE_PARTNER_URLS = False
    with SlowServer(delay=0) as server:
        url = f"http://localhost:{server.port}/ocpi/versions"
        # when
        body, http_status, _ = post_credentials(pending_partner_token_a, url)
        # then
        assert server.connections == 0
    assert (http_status, body) == (
        200,
        {"status_code": 3001, "status_message": f"Versions URL {url} could not be used"},
    )
    # Our log says which address and why; the partner's answer does not.
    assert "localhost resolves to 127.0.0.1: a loopback address" in caplog.text
    assert_still_pending(pending_partner_token_a)


@pytest.mark.django_db
def test_an_http_versions_url_is_refused_in_production_with_a_clear_message(
    pending_partner_token_a, settings
):
    settings.OCPI_ALLOW_HTTP_PARTNER_URLS = False
    with SlowServer(delay=0) as server:
        url = f"{server.url}/ocpi/versions"
        body, _, _ = post_credentials(pending_partner_token_a, url)
        assert server.connections == 0

    assert body == {
        "status_code": 3001,
        "status_message": f"Versions URL {url}: http:// URLs are not accepted, use https://",
    }


def test_discovery_refuses_endpoint_urls_we_would_not_call(settings):
    settings.OCPI_ALLOW_HTTP_PARTNER_URLS = False
    settings.OCPI_ALLOW_PRIVATE_PARTNER_URLS = False

    with pytest.raises(discovery.PartnerApiUnusable) as scheme:
        discovery.check_url("http://emsp.example.com/locations", what="Endpoint locations")
    with pytest.raises(discovery.PartnerApiUnusable) as address:
        discovery.check_url("https://169.254.169.254/latest", what="Endpoint locations")

    assert scheme.value.message == (
        "Endpoint locations URL http://emsp.example.com/locations: "
        "http:// URLs are not accepted, use https://"
    )
    assert address.value.message == (
        "Endpoint locations URL https://169.254.169.254/latest could not be used"
    )
    assert address.value.detail == (
        "Endpoint locations URL https://169.254.169.254/latest refused: "
        "169.254.169.254: a link-local address"
    )


# --- Concurrency --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_handshake_beyond_the_limit_is_refused_at_once(pending_partner_token_a, settings):
    # given: the process's only slot is taken by another handshake
    settings.OCPI_HANDSHAKE_CONCURRENCY = 1
    with SlowServer(delay=0) as server, handshake_slot():
        # when
        body, http_status, _ = post_credentials(
            pending_partner_token_a, f"{server.url}/ocpi/versions"
        )
        # then
        assert server.connections == 0
    assert (http_status, body) == (
        200,
        {
            "status_code": 3000,
            "status_message": "Too many registrations in progress at this platform; "
            "try again in a minute",
        },
    )
    assert_still_pending(pending_partner_token_a)


@pytest.mark.django_db(transaction=True)
def test_concurrent_handshakes_beyond_the_limit_are_refused_fast_over_http(our_server, settings):
    # given: one slot; a first partner's handshake hangs on a dripping server
    settings.OCPI_HANDSHAKE_CONCURRENCY = 1
    settings.OCPI_HANDSHAKE_DEADLINE = 2
    _, first_token = partner_create_pending(name="First")
    _, second_token = partner_create_pending(name="Second")
    answers: dict[str, tuple[dict, float]] = {}

    def post(name: str, token: str, versions_url: str) -> None:
        started = time.monotonic()
        response = httpx.post(
            f"{our_server.url}{CREDENTIALS}",
            headers={"Authorization": authorization(token)},
            json={"token": f"b-{name}", "url": versions_url, "roles": ROLES},
            timeout=10,
        )
        answers[name] = (response.json(), time.monotonic() - started)

    with DripServer(interval=0.05) as drip:
        first = threading.Thread(target=post, args=("first", first_token, drip.url))
        first.start()
        while drip.requests == 0:
            time.sleep(0.01)
        # when: a second partner posts while the first one holds the slot
        post("second", second_token, drip.url)
        first.join()

    # then: the second is refused while the first still waits (answers are kept in the
    # order they came), the first is answered at its deadline
    assert list(answers) == ["second", "first"]
    second, _ = answers["second"]
    assert second["status_code"] == 3000
    first_body, first_elapsed = answers["first"]
    assert first_body["status_code"] == 3001
    assert "handshake deadline of 2 s exceeded" in first_body["status_message"]
    assert first_elapsed > 1.9
    assert drip.connections == 1


# --- We register with them: the operator is told everything -------------------------------


@pytest.mark.django_db
def test_ocpi_register_tells_the_operator_which_address_was_refused(settings):
    settings.OCPI_ALLOW_PRIVATE_PARTNER_URLS = False
    with SlowServer(delay=0) as server:
        url = f"http://localhost:{server.port}/ocpi/versions"
        with pytest.raises(CommandError) as failure:
            call_command("ocpi_register", "--versions-url", url, "--token", "their-token-a")
        assert server.connections == 0

    assert str(failure.value).startswith(
        f"Registration failed: Versions URL {url} refused: localhost resolves to "
    )
    assert "a loopback address (OCPI_ALLOW_PRIVATE_PARTNER_URLS is off)" in str(failure.value)
    assert not Partner.objects.exists()


@pytest.mark.django_db
def test_ocpi_register_against_a_dripping_partner_fails_within_the_deadline():
    with DripServer(interval=0.05) as server:
        started = time.monotonic()
        with pytest.raises(CommandError) as failure:
            call_command("ocpi_register", "--versions-url", server.url, "--token", "their-token-a")

    assert "handshake deadline of 1 s exceeded" in str(failure.value)
    assert time.monotonic() - started < 1.5
    assert not Partner.objects.exists()


@pytest.mark.django_db
def test_ocpi_register_is_refused_when_no_handshake_slot_is_free(settings):
    settings.OCPI_HANDSHAKE_CONCURRENCY = 1
    with SlowServer(delay=0) as server, handshake_slot():
        with pytest.raises(CommandError) as failure:
            call_command("ocpi_register", "--versions-url", server.url, "--token", "their-token-a")
        assert server.connections == 0

    assert "Too many registrations in progress" in str(failure.value)
