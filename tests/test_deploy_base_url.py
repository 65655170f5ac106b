"""The commands that publish our URL say when it does not answer, and how to fix it."""

import shlex
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import StringIO

import httpx
import pytest
from django.core.management import CommandError, call_command

from partners.models import Partner
from tests.ocpi_partner_server import FakeEmsp
from versions.base_url import base_url_problem


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class _NotOcpi(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html>another server</html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def not_ocpi_server():
    server = HTTPServer(("127.0.0.1", 0), _NotOcpi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def create(name: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(
        "ocpi_partner", "create", "--name", name, "--country-code", "DE", "--party-id", "EMS",
        "--token", "example-token", stdout=out, stderr=err,
    )  # fmt: skip
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_create_prints_a_curl_line_for_the_running_server_and_no_warning(live_server, settings):
    settings.OCPI_BASE_URL = live_server.url

    out, err = create("Example eMSP")

    assert err == ""
    lines = out.splitlines()
    curl, option, header, url = shlex.split(lines[lines.index("Try it:") + 1])
    assert url == f"{live_server.url}/ocpi/versions"
    # Pasted as printed, against the real server: the token works.
    name, _, value = header.partition(": ")
    answer = httpx.get(url, headers={name: value})
    assert (answer.status_code, answer.json()["status_code"]) == (200, 1000)


@pytest.mark.django_db
def test_create_warns_with_the_fix_when_our_url_does_not_answer(settings):
    base = closed_port_url()
    settings.OCPI_BASE_URL = base

    out, err = create("Example eMSP")

    assert Partner.objects.filter(name="Example eMSP").exists()  # created all the same
    assert f"{base}/ocpi/versions" in out
    assert err.startswith(f"WARNING: our versions URL {base}/ocpi/versions does not answer (")
    assert "Connection refused" in err
    assert "make run PORT=<port>" in err
    assert "set OCPI_BASE_URL" in err


@pytest.mark.django_db
def test_token_a_warns_when_another_server_answers_on_our_url(settings, not_ocpi_server):
    settings.OCPI_BASE_URL = not_ocpi_server
    out, err = StringIO(), StringIO()

    call_command("ocpi_partner", "token-a", "--name", "Invited", stdout=out, stderr=err)

    assert f"Versions URL: {not_ocpi_server}/ocpi/versions" in out.getvalue().splitlines()
    assert err.getvalue().startswith(
        f"WARNING: our versions URL {not_ocpi_server}/ocpi/versions answered HTTP 404 without "
        "an OCPI envelope (another server on that address?); partners cannot reach it either."
    )


@pytest.mark.django_db(transaction=True)
def test_ocpi_register_says_our_url_is_the_problem_when_it_does_not_answer(settings):
    base = closed_port_url()
    settings.OCPI_BASE_URL = base
    err = StringIO()

    with FakeEmsp() as emsp, pytest.raises(CommandError) as failure:
        call_command(
            "ocpi_register", "--versions-url", emsp.versions_url, "--token", emsp.token_a,
            stdout=StringIO(), stderr=err,
        )  # fmt: skip

    # Before their generic answer, the operator reads which URL of ours is the problem.
    assert err.getvalue().startswith(f"WARNING: our versions URL {base}/ocpi/versions")
    assert "make run PORT=<port>" in err.getvalue()
    assert str(failure.value) == (
        f"Registration failed: POST credentials to {emsp.credentials_url} answered HTTP 200 "
        "OCPI 3001: could not use the client's API: ConnectError"
    )


@pytest.mark.django_db(transaction=True)
def test_base_url_problem_is_none_for_our_running_server(live_server, settings):
    settings.OCPI_BASE_URL = live_server.url + "/"

    assert base_url_problem() is None
