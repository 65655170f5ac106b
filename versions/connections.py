"""The sockets and connections of the outbound client (`versions.client`): the call's total
deadline seen by every read and write, and the partner's address checked when connecting.

- Socket timeouts apply per read, so a partner sending one byte every few seconds would
  never trip them: the sockets opened here set their timeout to what is left of the call's
  deadline before each read and write (`_DeadlineSocket`, `_DeadlineSSLSocket`).
- The connections resolve the host, check every address it resolves to
  (`versions.partner_urls`) and connect to a checked one (no second DNS look-up that could
  answer differently); SNI, the Host header and certificate verification keep using the
  host name.
"""

import os
import socket
import ssl
import sys
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import urllib3
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family
from urllib3.util.ssl_ import create_urllib3_context

from . import partner_urls

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer


class OcpiCallFailed(Exception):
    """The call got no (usable) answer: connection refused or broken, timeout, deadline
    exceeded, answer too large, URL refused."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PartnerUrlRefused(OcpiCallFailed):
    """We do not call this URL (its scheme or address is not allowed); nothing was sent."""


# --- The call in progress: its deadline, seen by the sockets -------------------------------


# The deadline (a time.monotonic() value) of the call in progress, per thread (and asyncio
# task): a pooled socket serves one call at a time and keeps the deadline of that call.
current_deadline: ContextVar[float | None] = ContextVar("ocpi_call_deadline", default=None)


def _time_left(at_most: float | None) -> float | None:
    """The timeout to wait with now: `at_most`, or less when the call's deadline is nearer."""
    ends = current_deadline.get()
    if ends is None:
        return at_most
    left = ends - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline exceeded")
    return left if at_most is None or at_most > left else at_most


def _bound(sock: socket.socket) -> None:
    # urllib3 sets the connect timeout before sending and the read timeout before reading;
    # lower it when the deadline is nearer (one system call, only then).
    current = sock.gettimeout()
    wanted = _time_left(current)
    if wanted != current:
        sock.settimeout(wanted)


class _DeadlineSocket(socket.socket):
    """A plain socket that waits no longer than the current call's deadline in any read or
    write (http.client reads through `recv_into`, writes with `sendall`)."""

    def recv_into(self, buffer: "WriteableBuffer", nbytes: int = 0, flags: int = 0) -> int:
        _bound(self)
        return super().recv_into(buffer, nbytes, flags)

    def recv(self, bufsize: int, flags: int = 0, /) -> bytes:
        _bound(self)
        return super().recv(bufsize, flags)

    def sendall(self, data: "ReadableBuffer", flags: int = 0, /) -> None:
        _bound(self)  # CPython bounds a whole sendall by the timeout at its start
        super().sendall(data, flags)

    def send(self, data: "ReadableBuffer", flags: int = 0, /) -> int:
        _bound(self)
        return super().send(data, flags)


class _DeadlineSSLSocket(ssl.SSLSocket):
    """The same for TLS (set as the context's `sslsocket_class`). The handshake is bounded
    as a whole by the timeout the plain socket had when it started (CPython)."""

    def recv_into(
        self, buffer: "WriteableBuffer", nbytes: int | None = None, flags: int = 0
    ) -> int:
        _bound(self)
        return super().recv_into(buffer, nbytes, flags)

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        _bound(self)
        return super().recv(buflen, flags)

    def send(self, data: "ReadableBuffer", flags: int = 0) -> int:
        _bound(self)  # sendall sends through here
        return super().send(data, flags)


# --- Connections that check the address they connect to -----------------------------------


def _connect_checked(conn: HTTPConnection) -> socket.socket:
    """urllib3's `_new_conn`, with the partner address rule on every resolved address and
    a socket bounded by the call's deadline."""
    try:
        candidates = socket.getaddrinfo(
            conn._dns_host, conn.port, allowed_gai_family(), socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    if not partner_urls.private_allowed():
        for *_, sockaddr in candidates:
            address = str(sockaddr[0])
            problem = partner_urls.address_problem(address)
            if problem is not None:
                via = "" if address == conn.host.strip("[]") else f"{conn.host} resolves to "
                raise PartnerUrlRefused(
                    f"{via}{address}: {problem} (OCPI_ALLOW_PRIVATE_PARTNER_URLS is off)"
                )
    error: Exception = NewConnectionError(conn, f"No address found for {conn.host}")
    for family, kind, proto, _, sockaddr in candidates:
        sock = _DeadlineSocket(family, kind, proto)
        timeout = conn.timeout  # the connect timeout (urllib3 sets it)
        try:
            timeout = _time_left(timeout)
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(timeout)
            if conn.source_address:
                sock.bind(conn.source_address)
            sock.connect(sockaddr)
        except TimeoutError:
            sock.close()
            error = ConnectTimeoutError(
                conn, f"Connection to {conn.host} timed out. (connect timeout={timeout})"
            )
        except OSError as exc:
            sock.close()
            error = NewConnectionError(conn, f"Failed to establish a new connection: {exc}")
        else:
            sys.audit("http.client.connect", conn, conn.host, conn.port)
            return sock
    raise error


class _CheckedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_checked(self)


class _CheckedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_checked(self)


class _CheckedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


def _tls_context() -> ssl.SSLContext:
    # urllib3's own defaults (TLS 1.2+, certificate and host name verified), the system's CA
    # certificates as urllib3 loads them, and sockets that keep the call's deadline.
    context = create_urllib3_context()
    context.load_default_certs()
    context.sslsocket_class = _DeadlineSSLSocket
    return context


_client: urllib3.PoolManager | None = None
_client_pid: int | None = None


def pool() -> urllib3.PoolManager:
    # One pool per process; Celery's prefork workers must not share a parent's sockets,
    # hence the pid check.
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        _client = urllib3.PoolManager(
            # No retries and no redirects: a failed push is retried by the push engine with
            # backoff, and a redirect is an answer to report, not to follow with our token.
            retries=False,
            timeout=urllib3.Timeout(
                connect=settings.OCPI_HTTP_CONNECT_TIMEOUT, read=settings.OCPI_HTTP_READ_TIMEOUT
            ),
            headers={"User-Agent": "ocpi-cpo"},
            maxsize=4,
            ssl_context=_tls_context(),
        )
        _client.pool_classes_by_scheme = {
            "http": _CheckedHTTPConnectionPool,
            "https": _CheckedHTTPSConnectionPool,
        }
        _client_pid = os.getpid()
    return _client


_POOL_SETTINGS = frozenset(
    {"OCPI_HTTP_CONNECT_TIMEOUT", "OCPI_HTTP_READ_TIMEOUT", "OCPI_ALLOW_PRIVATE_PARTNER_URLS"}
)


@receiver(setting_changed)
def _forget_pool(*, setting: str, **kwargs: Any) -> None:
    # Tests change settings: the pool keeps the timeouts it was built with, and connections
    # checked under another address rule must not be reused.
    global _client
    if setting in _POOL_SETTINGS and _client is not None:
        _client.clear()
        _client = None
