"""The one outbound OCPI HTTP client: every call to a partner goes through `ocpi_request`,
the credentials handshake (`partners`) and the push (`pushers`) alike.

It owns timeouts, the Authorization header (per-partner Base64 or raw token), the
X-Request-ID / X-Correlation-ID headers, routing headers, envelope parsing and the one rule
of what counts as success (`is_success`). What to do about a failure is the caller's
policy (the push's retry policy is `pushers.outcomes`). Tokens are never logged.

Every call is bounded, so that no partner can hold a worker or a web thread, nor fill its
memory:

- **A total deadline** (`OCPI_HTTP_DEADLINE`, or `deadline=` per call) for the connect, the
  TLS handshake, sending and all reads together, kept by the sockets of
  `versions.connections`.
- **A cap on the answer** (`OCPI_HTTP_MAX_RESPONSE_BYTES`): the body is read streamed and
  the call fails as soon as more than the cap arrives (or is announced), so no more than the
  cap is ever held.
- **Partner URLs are checked** (`versions.partner_urls`): the scheme before the call, the
  address when connecting (`versions.connections`).

Past any of them `ocpi_request` raises `OcpiCallFailed` with the reason (`PartnerUrlRefused`
when the URL is refused: nothing was sent). Redirects are not followed and TLS certificates
are verified.
"""

import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
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

from . import partner_urls
from .authorization import authorization_header
from .connections import OcpiCallFailed, PartnerUrlRefused, current_deadline, pool
from .envelope import dumps
from .middleware import current_correlation_id

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

# urllib3 rather than a higher-level client: a push is one small request on a kept-alive
# connection, where urllib3 costs clearly less CPU per call than httpx did, and the
# workers' CPU is what limits push throughput (docs/benchmarks.md, "Push: where the time
# went"). Its connections set TCP_NODELAY (urllib3's default socket options, kept below).

_READ_CHUNK = 64 * 1024


# --- Answers -------------------------------------------------------------------------------


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
    deadline: float | None = None,
) -> OcpiResult:
    """Send one OCPI request and parse the envelope of the answer.

    `routing` holds the OCPI-to-*/OCPI-from-* headers for functional modules (OCPI 2.2.1,
    Transport and format, "Message Routing"); configuration modules (versions, credentials)
    pass none. `timeout` replaces the connect and read timeouts, `deadline` the total
    seconds the call may take (`OCPI_HTTP_DEADLINE`). Raises OcpiCallFailed when no usable
    HTTP answer arrives in time (PartnerUrlRefused when the URL is not allowed).
    """
    seconds = settings.OCPI_HTTP_DEADLINE if deadline is None else deadline
    refused = partner_urls.scheme_problem(url)
    if refused is not None:
        logger.warning("OCPI %s %s refused: %s", method, url, refused)
        raise PartnerUrlRefused(refused)
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
    ends = started + seconds
    bound = current_deadline.set(ends)
    try:
        response = pool().request(
            method,
            url,
            body=content,
            headers=headers,
            redirect=False,
            preload_content=False,
            **extra,
        )
        raw = _read_body(response, settings.OCPI_HTTP_MAX_RESPONSE_BYTES)
    except PartnerUrlRefused as exc:
        logger.warning("OCPI %s %s refused: %s", method, url, exc.reason)
        raise
    except OcpiCallFailed as exc:
        logger.warning("OCPI %s %s failed: %s", method, url, exc.reason)
        raise
    except HTTPError as exc:
        reason = _no_answer_reason(exc, ends, seconds)
        logger.warning("OCPI %s %s failed: %s", method, url, reason)
        raise OcpiCallFailed(reason) from None
    finally:
        current_deadline.reset(bound)
    duration_ms = round((time.monotonic() - started) * 1000)
    result = _parse(response.status, raw, duration_ms=duration_ms, request_id=request_id)
    logger.info("OCPI %s %s -> %s in %d ms", method, url, result.describe(), duration_ms)
    return result


def _read_body(response: urllib3.BaseHTTPResponse, cap: int) -> bytes | bytearray:
    """The whole body, streamed, never more than `cap` bytes (after decoding) in memory."""
    try:
        announced = response.length_remaining
        if announced is not None and announced > cap:
            raise OcpiCallFailed(f"answer larger than {cap} bytes")
        encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
        if announced is not None and not encoded:
            body: bytes | bytearray = response.read()  # the usual case: one read
        else:
            body = bytearray()
            while chunk := response.read(min(_READ_CHUNK, cap + 1 - len(body))):
                body += chunk
                if len(body) > cap:
                    raise OcpiCallFailed(f"answer larger than {cap} bytes")
    except BaseException:
        response.close()  # the rest of the answer is not read: the connection cannot be reused
        response.release_conn()
        raise
    response.release_conn()
    return body


def _no_answer_reason(exc: HTTPError, ends: float, seconds: float) -> str:
    if time.monotonic() >= ends - 0.01:  # poll() may wake a hair before the deadline
        return f"deadline of {round(seconds, 2):g} s exceeded"
    kind = _failure_kind(exc)
    return f"timeout ({kind})" if kind.endswith("Timeout") else f"connection failed ({kind})"


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


def _parse(status: int, raw: bytes | bytearray, *, duration_ms: int, request_id: str) -> OcpiResult:
    excerpt = raw[:2000].decode("utf-8", errors="replace")[:500]
    ocpi_status, data, message = None, None, ""
    try:
        envelope = orjson.loads(raw)
    except orjson.JSONDecodeError:
        envelope = None
    if isinstance(envelope, dict):
        code = envelope.get("status_code")
        ocpi_status = code if isinstance(code, int) and not isinstance(code, bool) else None
        data = envelope.get("data")
        message = str(envelope.get("status_message") or "")[:255]
    return OcpiResult(
        http_status=status,
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
