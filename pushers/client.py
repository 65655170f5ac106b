"""The one outbound OCPI HTTP client: every call to a partner goes through `ocpi_request`.

It owns timeouts, the Authorization header (per-partner Base64 or raw token), the
X-Request-ID / X-Correlation-ID headers, routing headers, envelope parsing and the split
between transient failures (retry later) and permanent ones (give up and say why).
Tokens are never logged.
"""

import logging
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from partners.tokens import authorization_header
from versions.envelope import dumps
from versions.middleware import current_correlation_id

logger = logging.getLogger(__name__)

_client: httpx.Client | None = None
_client_pid: int | None = None


def _http() -> httpx.Client:
    # One pooled client per process; Celery's prefork workers must not share a parent's
    # sockets, hence the pid check.
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        _client = httpx.Client(
            timeout=httpx.Timeout(
                settings.OCPI_HTTP_READ_TIMEOUT, connect=settings.OCPI_HTTP_CONNECT_TIMEOUT
            ),
            follow_redirects=False,
            headers={"User-Agent": "ocpi-cpo"},
        )
        _client_pid = os.getpid()
    return _client


class OcpiCallFailed(Exception):
    """The call got no usable answer: connection refused, timeout, invalid response."""

    def __init__(self, reason: str, *, transient: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


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
        """Success means HTTP 2xx *and* OCPI status 1000 (or another 1xxx)."""
        return (
            200 <= self.http_status < 300
            and self.ocpi_status is not None
            and 1000 <= self.ocpi_status < 2000
        )

    @property
    def transient(self) -> bool:
        """Worth retrying: the partner is overloaded or broken right now, not refusing us.

        5xx and 429 are transient; other 4xx and OCPI 2xxx errors are permanent (the same
        request would fail again). OCPI 3xxx (server error) counts as transient.
        """
        if self.http_status >= 500 or self.http_status == 429:
            return True
        if 200 <= self.http_status < 300 and self.ocpi_status is not None:
            return 3000 <= self.ocpi_status < 4000
        return 200 <= self.http_status < 300 and self.ocpi_status is None

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

    `routing` holds the OCPI-to-*/OCPI-from-* headers for functional modules (transport.md
    §9); configuration modules (versions, credentials) pass none. Raises OcpiCallFailed
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
    started = time.monotonic()
    try:
        response = _http().request(
            method,
            url,
            content=content,
            headers=headers,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except httpx.TimeoutException as exc:
        logger.warning("OCPI %s %s timed out (%s)", method, url, type(exc).__name__)
        raise OcpiCallFailed(f"timeout ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        logger.warning("OCPI %s %s failed: %s", method, url, type(exc).__name__)
        raise OcpiCallFailed(f"connection failed ({type(exc).__name__})") from None
    duration_ms = round((time.monotonic() - started) * 1000)
    result = _parse(response, duration_ms=duration_ms, request_id=request_id)
    logger.info("OCPI %s %s -> %s in %d ms", method, url, result.describe(), duration_ms)
    return result


def _parse(response: httpx.Response, *, duration_ms: int, request_id: str) -> OcpiResult:
    excerpt = response.text[:500]
    ocpi_status, data, message = None, None, ""
    try:
        envelope = response.json()
    except ValueError:
        envelope = None
    if isinstance(envelope, dict):
        status = envelope.get("status_code")
        ocpi_status = status if isinstance(status, int) and not isinstance(status, bool) else None
        data = envelope.get("data")
        message = str(envelope.get("status_message") or "")[:255]
    return OcpiResult(
        http_status=response.status_code,
        ocpi_status=ocpi_status,
        data=data,
        status_message=message,
        body_excerpt=excerpt,
        duration_ms=duration_ms,
        request_id=request_id,
    )


def join_url(base: str, *segments: str) -> str:
    """`base/seg1/seg2`, never `//`, never dropping the base's last path segment."""
    from urllib.parse import quote

    parts = [base.rstrip("/")] + [quote(str(s).strip("/"), safe="") for s in segments]
    return "/".join(parts)
