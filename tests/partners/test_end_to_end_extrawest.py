"""End to end against an independent OCPI implementation: extrawest-ocpi (py_ocpi, FastAPI).

Its eMSP runs as a real HTTP server in a subprocess, under its own virtualenv (it pins httpx
0.24 and pydantic 1, which clash with ours). We register with it by `ocpi_register`: it
fetches our versions and details with our token B while handling our POST, as the spec says,
and answers its token C, with which we then call it.

The library has no initiator side (it cannot POST credentials to another platform), so the
other direction (a partner registering with us) is tested against tests/ocpi_partner_server.
"""

import hashlib
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command

from partners.models import Partner
from partners.selectors import partner_endpoint_url
from pushers.client import ocpi_request
from tests.ocpi_partner_server import authorization

pytestmark = pytest.mark.django_db(transaction=True)

HERE = Path(__file__).parent / "extrawest"
REQUIREMENTS = HERE / "requirements.txt"
VENV = Path(__file__).resolve().parents[2] / "var" / "test-extrawest-venv"


def extrawest_python() -> Path:
    """The interpreter of a virtualenv holding extrawest-ocpi, created once from PyPI."""
    python = VENV / "bin" / "python"
    stamp = VENV / "requirements.sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=300)  # noqa: S603
        if done.returncode != 0:
            pytest.fail(f"could not install extrawest-ocpi: {done.stderr[-2000:]}")
    stamp.write_text(wanted)
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def extrawest_interpreter():
    return extrawest_python()


@pytest.fixture
def extrawest_emsp(extrawest_interpreter):
    port, token_a = free_port(), "xw-token-a-" + os.urandom(6).hex()
    process = subprocess.Popen(  # noqa: S603
        [str(extrawest_interpreter), str(HERE / "emsp_app.py"), str(port), token_a],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/ocpi/versions", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode(errors="replace")[-2000:]
                    pytest.fail(f"the extrawest eMSP did not start: {output}")
                time.sleep(0.2)
        yield {"base": base, "versions_url": f"{base}/ocpi/versions", "token_a": token_a}
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def test_we_register_with_an_extrawest_emsp(our_server, extrawest_emsp):
    out = io.StringIO()

    call_command(
        "ocpi_register",
        "--versions-url",
        extrawest_emsp["versions_url"],
        "--token",
        extrawest_emsp["token_a"],
        "--name",
        "Extrawest",
        stdout=out,
    )

    base = extrawest_emsp["base"]
    assert out.getvalue().splitlines()[-2:] == [
        "Registered Extrawest (OCPI 2.2.1).",
        f"Locations Receiver: {base}/ocpi/emsp/2.2.1/locations/",
    ]
    partner = Partner.objects.get(name="Extrawest")
    assert partner.state == Partner.State.REGISTERED
    assert partner.version == "2.2.1"
    assert sorted(partner.endpoints.values_list("identifier", "role", "url")) == [
        ("credentials", "SENDER", f"{base}/ocpi/emsp/2.2.1/credentials/"),
        ("locations", "RECEIVER", f"{base}/ocpi/emsp/2.2.1/locations/"),
    ]
    assert list(partner.roles.values("role", "country_code", "party_id", "business_details")) == [
        {
            "role": "EMSP",
            "country_code": "UA",
            "party_id": "XWE",
            "business_details": {"name": "Extrawest eMSP"},
        }
    ]
    assert partner.outgoing_token.startswith("xw-c-")
    # Its token C works for our next calls, its token A no longer does.
    versions = ocpi_request("GET", extrawest_emsp["versions_url"], token=partner.outgoing_token)
    assert (versions.http_status, versions.ocpi_status) == (200, 1000)
    credentials_url = partner_endpoint_url(partner, identifier="credentials", role="SENDER")
    theirs = ocpi_request("GET", credentials_url, token=partner.outgoing_token)
    assert (theirs.ocpi_status, theirs.data["token"]) == (1000, partner.outgoing_token)
    stale = ocpi_request("GET", extrawest_emsp["versions_url"], token=extrawest_emsp["token_a"])
    assert stale.http_status == 401
    assert (
        partner_endpoint_url(partner, identifier="locations", role="RECEIVER")
        == f"{base}/ocpi/emsp/2.2.1/locations/"
    )


def test_extrawest_refuses_a_second_registration_with_405(our_server, extrawest_emsp):
    call_command(
        "ocpi_register",
        "--versions-url",
        extrawest_emsp["versions_url"],
        "--token",
        extrawest_emsp["token_a"],
        "--name",
        "Extrawest",
        stdout=io.StringIO(),
    )
    partner = Partner.objects.get(name="Extrawest")
    credentials_url = partner_endpoint_url(partner, identifier="credentials", role="SENDER")

    again = httpx.post(
        credentials_url,
        headers={"Authorization": authorization(partner.outgoing_token)},
        json={
            "token": "another-token-b",
            "url": "http://127.0.0.1:9/ocpi/versions",
            "roles": [
                {
                    "role": "CPO",
                    "party_id": "EXA",
                    "country_code": "NL",
                    "business_details": {"name": "Example CPO"},
                }
            ],
        },
    )

    assert again.status_code == 405
