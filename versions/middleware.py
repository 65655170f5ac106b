"""X-Request-ID / X-Correlation-ID on every response (OCPI 2.2.1, Transport and format,
Unique message IDs)."""

import re
import uuid
from contextvars import ContextVar

# The ids of the request being handled, so that outbound calls made while handling it
# (e.g. the credentials handshake) reuse its correlation id.
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)
current_correlation_id: ContextVar[str | None] = ContextVar("current_correlation_id", default=None)

# Echo what the client sent as long as it is a sane header value; replace anything else
# (overlong, control characters) with a fresh UUID rather than reflecting it.
_SAFE_ID = re.compile(r"^[\x21-\x7e]{1,255}$")


def _id_from(request, meta_key: str) -> str:
    value = request.META.get(meta_key, "")
    return value if _SAFE_ID.match(value) else str(uuid.uuid4())


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.ocpi_request_id = _id_from(request, "HTTP_X_REQUEST_ID")
        request.ocpi_correlation_id = _id_from(request, "HTTP_X_CORRELATION_ID")
        request_token = current_request_id.set(request.ocpi_request_id)
        correlation_token = current_correlation_id.set(request.ocpi_correlation_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(request_token)
            current_correlation_id.reset(correlation_token)
        response["X-Request-ID"] = request.ocpi_request_id
        response["X-Correlation-ID"] = request.ocpi_correlation_id
        return response
