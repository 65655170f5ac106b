"""No credentials token, raw or Base64, appears in any log line of a full handshake."""

import base64
import io
import logging

import httpx
import pytest
from django.core.management import call_command

from partners.services import partner_create_pending
from tests.ocpi_partner_server import FakeEmsp, authorization

pytestmark = pytest.mark.django_db(transaction=True)


def forms_of(token: str) -> list[str]:
    return [token, base64.b64encode(token.encode()).decode()]


def test_handshakes_in_both_directions_log_no_token(our_server, caplog):
    caplog.set_level(logging.DEBUG)  # the root logger: every logger, every level
    tokens = []

    # They register with us, rotate with PUT, then unregister with DELETE.
    partner, token_a = partner_create_pending(name="Sender eMSP")
    credentials_url = f"{our_server.url}/ocpi/2.2.1/credentials"
    with FakeEmsp(party_id="SND") as sender:
        assert sender.register_with(f"{our_server.url}/ocpi/versions", token_a).status_code == 200
        tokens += [token_a, sender.our_token, sender.our_credentials["token"]]
        assert sender.update_credentials_with(credentials_url).status_code == 200
        tokens += [sender.our_token, sender.our_credentials["token"]]
        response = httpx.delete(
            credentials_url,
            headers={"Authorization": authorization(sender.our_credentials["token"])},
        )
        assert response.status_code == 200

    # We register with them.
    with FakeEmsp(party_id="RCV") as receiver:
        call_command(
            "ocpi_register",
            "--versions-url",
            receiver.versions_url,
            "--token",
            receiver.token_a,
            "--name",
            "Receiver eMSP",
            stdout=io.StringIO(),
        )
        tokens += [receiver.token_a, receiver.our_token, receiver.token_c]

    logged = "\n".join([caplog.text] + [f"{r.msg} {r.args}" for r in caplog.records])
    assert "Partner Sender eMSP registered with us" in logged  # the capture did work
    assert "Registered with partner Receiver eMSP" in logged
    assert all(tokens) and len(set(tokens)) == 8
    leaked = [form for token in tokens for form in forms_of(token) if form in logged]
    assert leaked == []
