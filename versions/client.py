"""The one outbound OCPI HTTP client: every call to a partner goes through `ocpi_request`,
the credentials handshake (`partners`) and the push (`pushers`) alike.

It owns timeouts, the Authorization header (per-partner Base64 or raw token), the
X-Request-ID / X-Correlation-ID headers, routing headers, envelope parsing and the one rule
of what counts as success (`is_success`). What to do about a failure is the caller's
policy (the push's retry policy is `pushers.outcomes`). Tokens are never logged.
"""

import logging
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
import urllib3
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from .authorization import authorization_header
from .envelope import dumps
from .middleware import current_correlation_id

logger = logging.getLogger(__name__)

_client: urllib3.PoolManager | None = None
_client_pid: int | None = None

# urllib3 rather than a higher-level client: a push is one small request on a kept-alive
# connection, where urllib3 costs clearly less CPU per call than httpx did, and the
# workers' CPU is what limits push throughput (docs/benchmarks.md, "Push: where the time
# went"). Its connections set TCP_NODELAY.


def _http() -> urllib3.PoolManager:
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
        )
        _client_pid = os.getpid()
    return _client


class OcpiCallFailed(Exception):
    """The call got no answer: connection refused or broken, timeout."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_success(http_status: int, ocpi_status: int | None) -> bool:
    """The one success rule: HTTP 2xx *and* an OCPI status code in 1000-1999 (OCPI 2.2.1,
    Status codes: 1xxx means success; 1000 is the generic one). The handshake and the push
    both decide with this."""
    return 200 <= http_status < 300 and ocpi_status is not None and 1000 <= ocpi_status < 2000


@dataclass
class OcpiResult:
    http_status: int
    ocpi_status: int | None
    data: Any
    status_message: str
    body_excerpt: str
    duration_ms: int
    request_id: str

    @property
    def ok(self) -> bool:
        return is_success(self.http_status, self.ocpi_status)

    def describe(self) -> str:
        ocpi = f" OCPI {self.ocpi_status}" if self.ocpi_status is not None else ""
        message = f": {self.status_message}" if self.status_message else ""
        return f"HTTP {self.http_status}{ocpi}{message}"


def ocpi_request(
    method: str,
    url: str,
    *,
    token: str,
    base64_token: bool = True,
    body: Any = None,
    routing: dict[str, str] | None = None,
    correlation_id: str | None = None,
    timeout: float | None = None,
) -> OcpiResult:
    """Send one OCPI request and parse the envelope of the answer.

    `routing` holds the OCPI-to-*/OCPI-from-* headers for functional modules (OCPI 2.2.1,
    Transport and format, "Message Routing"); configuration modules (versions, credentials)
    pass none. Raises OcpiCallFailed
    when no HTTP answer arrives.
    """
    request_id = str(uuid.uuid4())
    headers = {
        "Authorization": authorization_header(token, base64_encoded=base64_token),
        "X-Request-ID": request_id,
        "X-Correlation-ID": correlation_id or current_correlation_id.get() or str(uuid.uuid4()),
        "Accept": "application/json",
    }
    content = None
    if body is not None:
        content = dumps(body)
        headers["Content-Type"] = "application/json"
    headers.update(routing or {})
    # A timeout of this call's own, else the pool's (the settings' connect and read timeouts).
    extra: dict[str, Any] = {} if timeout is None else {"timeout": urllib3.Timeout(timeout)}
    started = time.monotonic()
    try:
        response = _http().request(
            method,
            url,
            body=content,
            headers=headers,
            redirect=False,
            **extra,
        )
    except HTTPError as exc:
        kind = _failure_kind(exc)
        if kind.endswith("Timeout"):
            logger.warning("OCPI %s %s timed out (%s)", method, url, kind)
            raise OcpiCallFailed(f"timeout ({kind})") from None
        logger.warning("OCPI %s %s failed: %s", method, url, kind)
        raise OcpiCallFailed(f"connection failed ({kind})") from None
    duration_ms = round((time.monotonic() - started) * 1000)
    result = _parse(response, duration_ms=duration_ms, request_id=request_id)
    logger.info("OCPI %s %s -> %s in %d ms", method, url, result.describe(), duration_ms)
    return result


def _failure_kind(exc: HTTPError) -> str:
    """A stable name for why no answer came, whatever the library calls it."""
    # NewConnectionError subclasses ConnectTimeoutError in urllib3, so it goes first.
    if isinstance(exc, NewConnectionError):
        return "ConnectError"
    if isinstance(exc, ConnectTimeoutError):
        return "ConnectTimeout"
    if isinstance(exc, ReadTimeoutError):
        return "ReadTimeout"
    if isinstance(exc, ProtocolError):
        return "ProtocolError"  # the connection broke before a whole answer arrived
    return type(exc).__name__


def _parse(response: urllib3.BaseHTTPResponse, *, duration_ms: int, request_id: str) -> OcpiResult:
    raw = response.data or b""
    excerpt = raw[:2000].decode("utf-8", errors="replace")[:500]
    ocpi_status, data, message = None, None, ""
    try:
        envelope = orjson.loads(raw)
    except orjson.JSONDecodeError:
        envelope = None
    if isinstance(envelope, dict):
        status = envelope.get("status_code")
        ocpi_status = status if isinstance(status, int) and not isinstance(status, bool) else None
        data = envelope.get("data")
        message = str(envelope.get("status_message") or "")[:255]
    return OcpiResult(
        http_status=response.status,
        ocpi_status=ocpi_status,
        data=data,
        status_message=message,
        body_excerpt=excerpt,
        duration_ms=duration_ms,
        request_id=request_id,
    )


def join_url(base: str, *segments: str) -> str:
    """`base/seg1/seg2`, never `//`, never dropping the base's last path segment."""
    parts = [base.rstrip("/")] + [quote(str(s).strip("/"), safe="") for s in segments]
    return "/".join(parts)
