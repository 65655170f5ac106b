"""The outbound client against hostile partners: real servers on 127.0.0.1
(tests/hostile_servers.py), the real client, nothing mocked. Each call is bounded by the
deadline and the answer cap, and refused URLs are refused before any connection."""

import re
import socket
import time
from pathlib import Path

import pytest

from tests.hostile_servers import (
    DripServer,
    HugeServer,
    RedirectServer,
    SelfSignedTlsServer,
    SilentServer,
    SlowServer,
    TlsDripServer,
)
from versions import client, connections
from versions.client import OcpiCallFailed, PartnerUrlRefused, ocpi_request

CAP = 1024 * 1024


@pytest.fixture(autouse=True)
def _bounds(settings):
    # A 1 s deadline with generous per-read timeouts: what stops these calls is the deadline.
    settings.OCPI_HTTP_DEADLINE = 1
    settings.OCPI_HTTP_CONNECT_TIMEOUT = 5
    settings.OCPI_HTTP_READ_TIMEOUT = 5
    settings.OCPI_HTTP_MAX_RESPONSE_BYTES = CAP
    connections._client = None
    yield
    connections._client = None


def call(url: str, **kwargs) -> tuple[client.OcpiResult | OcpiCallFailed, float]:
    started = time.monotonic()
    try:
        outcome: client.OcpiResult | OcpiCallFailed = ocpi_request(
            "GET", url, token="secret-token", **kwargs
        )
    except OcpiCallFailed as exc:
        outcome = exc
    return outcome, time.monotonic() - started


# --- The deadline -------------------------------------------------------------------------


def test_an_answer_within_the_deadline_is_read():
    with SlowServer(delay=0.2) as server:
        result, _ = call(server.url)

    assert isinstance(result, client.OcpiResult)
    assert (result.http_status, result.ocpi_status) == (200, 1000)


def test_a_slow_answer_fails_at_the_deadline():
    with SlowServer(delay=3) as server:
        failure, elapsed = call(server.url)

    assert isinstance(failure, OcpiCallFailed)
    assert failure.reason == "deadline of 1 s exceeded"
    assert 0.9 < elapsed < 3  # not before the deadline, and before the answer would come


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_an_answer_dripping_one_byte_at_a_time_fails_at_the_deadline(phase):
    # Every read gets a byte well within the 5 s read timeout: only the deadline stops it.
    with DripServer(interval=0.05, phase=phase) as server:
        failure, elapsed = call(server.url)

    assert isinstance(failure, OcpiCallFailed)
    assert failure.reason == "deadline of 1 s exceeded"
    assert elapsed > 0.9  # (the reason says what ended it: not the 5 s read timeout)


def test_a_partner_that_never_answers_fails_at_the_deadline():
    with SilentServer() as server:
        failure, elapsed = call(server.url)

    assert isinstance(failure, OcpiCallFailed)
    assert failure.reason == "deadline of 1 s exceeded"
    assert elapsed > 0.9  # (the reason says what ended it: not the 5 s read timeout)
    assert server.requests == 1


def test_a_call_can_have_a_deadline_of_its_own():
    with SilentServer() as server:
        failure, elapsed = call(server.url, deadline=0.3)

    assert isinstance(failure, OcpiCallFailed)
    assert failure.reason == "deadline of 0.3 s exceeded"
    assert elapsed > 0.25


def test_a_tls_handshake_dripping_one_byte_at_a_time_fails_at_the_deadline():
    with TlsDripServer(interval=0.05) as server:
        failure, elapsed = call(server.url)

    assert isinstance(failure, OcpiCallFailed)
    assert failure.reason == "deadline of 1 s exceeded"
    assert elapsed > 0.9  # (the reason says what ended it: not the 5 s read timeout)


def test_a_read_timeout_shorter_than_the_deadline_still_applies(settings):
    settings.OCPI_HTTP_READ_TIMEOUT = 0.2
    connections._client = None
    with SilentServer() as server:
        failure, _ = call(server.url)

    assert isinstance(failure, OcpiCallFailed)
    assert failure.reason == "timeout (ReadTimeout)"  # not the 1 s deadline


def test_connections_are_kept_alive_and_reused():
    with SlowServer(delay=0) as server:
        for _ in range(3):
            result, _ = call(server.url)
            assert isinstance(result, client.OcpiResult)

    assert (server.connections, server.requests) == (1, 3)


def test_our_connections_set_tcp_nodelay():
    with SlowServer(delay=0) as server:
        call(server.url)
        pool = connections.pool().connection_from_url(server.url)
        conn = pool._get_conn()
        try:
            assert conn.sock is not None
            assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        finally:
            pool._put_conn(conn)


# --- The size cap -------------------------------------------------------------------------


def test_an_announced_answer_larger_than_the_cap_is_refused_before_reading_it():
    with HugeServer(size=200 * 1024 * 1024, announce=True) as server:
        failure, _ = call(server.url)

    assert isinstance(failure, OcpiCallFailed)
    assert failure.reason == f"answer larger than {CAP} bytes"


def _peak_rss_kb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))


def test_a_streamed_answer_larger_than_the_cap_stops_at_the_cap_and_stays_small_in_memory():
    # given: 200 MB without Content-Length, as fast as we read it; the peak RSS reset
    Path("/proc/self/clear_refs").write_text("5")
    before = _peak_rss_kb()
    with HugeServer(size=200 * 1024 * 1024, announce=False) as server:
        # when
        failure, _ = call(server.url)
    # then
    grown_mb = (_peak_rss_kb() - before) / 1024
    assert isinstance(failure, OcpiCallFailed)
    assert failure.reason == f"answer larger than {CAP} bytes"  # not the 1 s deadline
    assert grown_mb < 50, f"peak RSS grew by {grown_mb:.0f} MB"


def test_a_compressed_answer_is_capped_after_decoding():
    # 50 MB of JSON whitespace is ~200 KB gzipped: the cap counts what it decodes to.
    with HugeServer(size=50 * 1024 * 1024, gzip=True) as server:
        failure, _ = call(server.url)

    assert isinstance(failure, OcpiCallFailed)
    assert failure.reason == f"answer larger than {CAP} bytes"  # not the 1 s deadline


@pytest.mark.parametrize("announce", [True, False])
def test_an_answer_of_exactly_the_cap_is_read(settings, announce):
    settings.OCPI_HTTP_MAX_RESPONSE_BYTES = 1000
    with HugeServer(size=1000, announce=announce) as server:
        result, _ = call(server.url)

    assert isinstance(result, client.OcpiResult)
    assert result.http_status == 200
    assert result.ocpi_status is None  # whitespace is no envelope


# --- Redirects and TLS --------------------------------------------------------------------


def test_a_redirect_is_an_answer_reported_not_followed():
    with SlowServer(delay=0) as target, RedirectServer(location=target.url) as server:
        result, _ = call(server.url)

        assert isinstance(result, client.OcpiResult)
        assert (result.http_status, result.ocpi_status, result.ok) == (302, None, False)
        assert target.connections == 0


def test_a_certificate_that_cannot_be_verified_is_refused():
    with SelfSignedTlsServer() as server:
        failure, _ = call(server.url)

        assert isinstance(failure, OcpiCallFailed)
        assert failure.reason == "connection failed (SSLError)"
        assert server.requests == 0


# --- Partner URLs -------------------------------------------------------------------------


@pytest.fixture
def production_rules(settings):
    settings.OCPI_ALLOW_HTTP_PARTNER_URLS = False
    settings.OCPI_ALLOW_PRIVATE_PARTNER_URLS = False


@pytest.fixture
def no_private(settings):
    settings.OCPI_ALLOW_PRIVATE_PARTNER_URLS = False


def test_an_http_url_is_refused_when_http_is_not_allowed(production_rules, caplog):
    with SlowServer(delay=0) as server:
        failure, _ = call(server.url + "/ocpi/versions")

        assert isinstance(failure, PartnerUrlRefused)
        assert failure.reason == "http:// URLs are not accepted, use https://"
        assert server.connections == 0
    assert "refused: http:// URLs are not accepted" in caplog.text


def test_a_loopback_address_is_refused_before_connecting(no_private, caplog):
    with SlowServer(delay=0) as server:
        failure, _ = call(server.url)

        assert isinstance(failure, PartnerUrlRefused)
        assert failure.reason == (
            "127.0.0.1: a loopback address (OCPI_ALLOW_PRIVATE_PARTNER_URLS is off)"
        )
        assert server.connections == 0
    assert "127.0.0.1: a loopback address" in caplog.text


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("10.255.255.1", "private"),
        ("192.168.1.1", "private"),
        ("172.16.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "non-public"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address we refuse to call
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "private"),
        ("[::1]", "loopback"),
        ("[fc00::1]", "private"),
        ("[::ffff:10.0.0.1]", "private"),
    ],
)
def test_a_private_or_reserved_address_is_refused_before_any_connection(no_private, host, kind):
    # Nothing listens there: a connection attempt would end in OcpiCallFailed (refused,
    # unreachable or the deadline), never in PartnerUrlRefused with the address's kind.
    failure, _ = call(f"http://{host}:8/ocpi/versions")

    assert isinstance(failure, PartnerUrlRefused)
    assert f"{kind} address" in failure.reason


def test_a_host_name_is_checked_on_the_addresses_it_resolves_to(no_private):
    # DNS rebinding: the name says nothing, the address we would connect to does. The
    # check sits in the connection itself, on the resolved addresses, so there is no
    # earlier look-up a rebinding server could answer differently.
    with SlowServer(delay=0) as server:
        failure, _ = call(f"http://localhost:{server.port}/ocpi/versions")

        assert isinstance(failure, PartnerUrlRefused)
        assert failure.reason.startswith("localhost resolves to ")
        assert "a loopback address" in failure.reason
        assert server.connections == 0


def test_a_connection_made_while_private_addresses_were_allowed_is_not_reused(settings):
    with SlowServer(delay=0) as server:
        allowed, _ = call(server.url)
        settings.OCPI_ALLOW_PRIVATE_PARTNER_URLS = False
        refused, _ = call(server.url)

        assert isinstance(allowed, client.OcpiResult)
        assert isinstance(refused, PartnerUrlRefused)
        assert server.requests == 1
