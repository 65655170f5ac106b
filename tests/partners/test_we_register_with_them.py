"""The initiator side: we register with a partner (we are the Sender), by command or admin."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from partners.models import IssuedToken, Partner
from partners.selectors import partner_endpoint_url
from partners.tokens import hash_token
from tests.conftest import token_header
from tests.ocpi_partner_server import FakeEmsp
from tests.partners.conftest import OUR_ROLES
from versions.client import ocpi_request

pytestmark = pytest.mark.django_db(transaction=True)


def register(emsp: FakeEmsp, *, token: str | None = None, name: str = "Fake eMSP") -> str:
    out = io.StringIO()
    call_command(
        "ocpi_register",
        "--versions-url",
        emsp.versions_url,
        "--token",
        token or emsp.token_a,
        "--name",
        name,
        stdout=out,
    )
    return out.getvalue()


def test_ocpi_register_completes_the_handshake(our_server, emsp):
    output = register(emsp)

    assert output.splitlines() == [
        f"  done: Fetched their versions at {emsp.versions_url} with token A",
        "  done: Chose OCPI 2.2.1 and fetched its details",
        f"  done: Found their Locations Receiver at {emsp.locations_url}",
        "  done: Issued our token B (only its hash is stored)",
        f"  done: Posted our credentials to {emsp.credentials_url} and received their token C",
        "  done: Stored their token C, roles and endpoints; Fake eMSP is registered",
        "Registered Fake eMSP (OCPI 2.2.1).",
        f"Locations Receiver: {emsp.locations_url}",
    ]
    partner = Partner.objects.get(name="Fake eMSP")
    assert partner.state == Partner.State.REGISTERED
    assert partner.registered_by == "us"
    assert partner.version == "2.2.1"
    assert partner.outgoing_token == emsp.token_c
    assert partner_endpoint_url(partner, identifier="locations", role="RECEIVER") == (
        emsp.locations_url
    )
    assert list(partner.roles.values_list("role", "country_code", "party_id")) == [
        ("EMSP", "DE", "EMS")
    ]
    # What they received: our credentials with token B, posted with token A, and they
    # called our versions and details with token B while handling the POST.
    token_b = emsp.our_token
    assert emsp.our_credentials == {
        "token": token_b,
        "url": f"{our_server.url}/ocpi/versions",
        "roles": OUR_ROLES,
    }
    assert [(r.method, r.path, r.token) for r in emsp.requests] == [
        ("GET", "/ocpi/versions", emsp.token_a),
        ("GET", "/ocpi/2.2.1", emsp.token_a),
        ("POST", "/ocpi/2.2.1/credentials", emsp.token_a),
    ]
    live = partner.issued_tokens.filter(revoked_at__isnull=True)
    assert [(t.kind, t.token_hash) for t in live] == [("C", hash_token(token_b))]
    # Token C works for our next call to them; token A is dead there.
    result = ocpi_request("GET", emsp.versions_url, token=partner.outgoing_token)
    assert (result.http_status, result.ocpi_status) == (200, 1000)
    assert ocpi_request("GET", emsp.versions_url, token=emsp.token_a).http_status == 401
    # And token B lets them use our functional modules.
    assert Client(HTTP_AUTHORIZATION=token_header(token_b)).get("/ocpi/2.2.1").status_code == 200


def test_ocpi_register_reads_their_token_a_from_standard_input(our_server, emsp):
    # Off the command line: a token there shows in the process list and shell history.
    out = io.StringIO()

    call_command(
        "ocpi_register", "--versions-url", emsp.versions_url, "--token-stdin",
        "--name", "Via stdin", stdin=io.StringIO(emsp.token_a + "\n"), stdout=out,
    )  # fmt: skip

    assert "Registered Via stdin (OCPI 2.2.1)." in out.getvalue()
    assert Partner.objects.get(name="Via stdin").outgoing_token == emsp.token_c


def test_partner_without_locations_receiver_is_registered_to_pull_only(our_server):
    with FakeEmsp(locations_receiver=False) as puller:
        output = register(puller)

    assert "  done: No Locations Receiver: partner will only pull" in output
    assert output.splitlines()[-1] == "No Locations Receiver: partner will only pull."
    assert Partner.objects.get().state == Partner.State.REGISTERED


def assert_failed_and_nothing_saved(emsp: FakeEmsp, message: str, **kwargs) -> None:
    with pytest.raises(CommandError) as raised:
        register(emsp, **kwargs)
    assert str(raised.value) == f"Registration failed: {message}"
    assert not Partner.objects.exists()
    assert not IssuedToken.objects.exists()


def test_wrong_token_a_fails_before_posting_anything(our_server, emsp):
    assert_failed_and_nothing_saved(
        emsp,
        f"Versions {emsp.versions_url} answered HTTP 401 OCPI 2000: unknown token",
        token="not-their-token",
    )
    assert [r.method for r in emsp.requests] == ["GET"]


def test_unreachable_partner_fails(our_server):
    stopped = FakeEmsp().start()
    stopped.stop()

    assert_failed_and_nothing_saved(
        stopped,
        f"Versions {stopped.versions_url} could not be fetched: connection failed (ConnectError)",
    )


def test_no_common_version_fails_without_posting(our_server):
    with FakeEmsp(versions=("2.1.1",)) as old:
        assert_failed_and_nothing_saved(
            old, "No common OCPI version: they offer 2.1.1, we support 2.2.1"
        )
        assert [r.path for r in old.requests] == ["/ocpi/versions"]


def test_their_refusal_of_our_credentials_removes_token_b(our_server, emsp, settings):
    # They cannot reach our versions URL, so they answer 3001 to our POST.
    settings.OCPI_BASE_URL = "http://127.0.0.1:9"

    assert_failed_and_nothing_saved(
        emsp,
        f"POST credentials to {emsp.credentials_url} answered HTTP 200 OCPI 3001: "
        "could not use the client's API: ConnectError",
    )


def test_a_registered_partner_is_not_registered_twice(our_server, emsp):
    register(emsp)

    with pytest.raises(CommandError) as raised:
        register(emsp)

    assert str(raised.value) == (
        "Registration failed: Partner 'Fake eMSP' is registered already; "
        "unregister it first or choose another name"
    )


def test_token_a_command_prints_a_working_token_and_our_versions_url(db):
    out = io.StringIO()

    call_command("ocpi_partner", "token-a", "--name", "Invited eMSP", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[:4] == [
        "Created pending partner Invited eMSP.",
        "Send them, through a secure channel, our versions URL and token A",
        "(shown once, only a hash is stored; it works until they register):",
        "Versions URL: http://testserver.example/ocpi/versions",
    ]
    token_a = lines[4].removeprefix("Token A: ")
    partner = Partner.objects.get(name="Invited eMSP")
    assert partner.state == Partner.State.PENDING
    assert [(t.kind, t.token_hash) for t in partner.issued_tokens.all()] == [
        ("A", hash_token(token_a))
    ]
    client = Client(HTTP_AUTHORIZATION=token_header(token_a))
    assert client.get("/ocpi/versions").status_code == 200
    assert client.get("/ocpi/cpo/2.2.1/locations").status_code == 401


def test_admin_registers_with_a_partner_and_shows_the_steps(our_server, emsp, admin_client):
    response = admin_client.post(
        "/admin/partners/partner/register/",
        {"versions_url": emsp.versions_url, "token_a": emsp.token_a, "name": "Via admin"},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Registered Via admin" in page
    assert "Negotiated version: <strong>2.2.1</strong>" in page
    assert f"<code>{emsp.locations_url}</code>" in page
    assert emsp.token_a not in page and emsp.token_c not in page
    assert Partner.objects.get(name="Via admin").state == Partner.State.REGISTERED


def test_admin_shows_why_a_registration_failed(our_server, emsp, admin_client):
    response = admin_client.post(
        "/admin/partners/partner/register/",
        {"versions_url": emsp.versions_url, "token_a": "wrong-token", "name": "Via admin"},
    )

    page = response.content.decode()
    assert "Registration failed" in page
    assert f"Versions {emsp.versions_url} answered HTTP 401 OCPI 2000: unknown token" in page
    assert not Partner.objects.exists()


def test_admin_invites_a_partner_with_a_token_a(admin_client):
    page = admin_client.get("/admin/partners/partner/").content.decode()
    assert "Invite a partner (token A)" in page and "Register with a partner" in page

    response = admin_client.post("/admin/partners/partner/token-a/", {"name": "Invited"})

    page = response.content.decode()
    token_a = page.split('<code id="token-a">')[1].split("</code>")[0]
    partner = Partner.objects.get(name="Invited")
    assert partner.issued_tokens.get().token_hash == hash_token(token_a)
    assert "http://testserver.example/ocpi/versions" in page
