"""OCPI errors and how each reaches the client (OCPI 2.2.1, Status codes).

Transport-level problems (authentication, bodies that are not JSON, unknown objects) get an
HTTP error status; problems found past the transport layer (bad query parameters or routing
headers of an authenticated request, invalid objects) get HTTP 200 with an OCPI error code. Either
way the body is the envelope.
"""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import Http404
from rest_framework import exceptions as drf_exceptions

from .envelope import OcpiResponse
from .status import OcpiStatus

logger = logging.getLogger(__name__)


class OcpiError(Exception):
    ocpi_status: OcpiStatus = OcpiStatus.CLIENT_ERROR
    http_status: int = 200

    def __init__(self, message: str | None = None, *, data=None) -> None:
        self.message = message or self.ocpi_status.default_message
        self.data = data
        super().__init__(self.message)

    def to_response(self) -> OcpiResponse:
        kwargs = {} if self.data is None else {"data": self.data}
        return OcpiResponse(
            **kwargs,
            status_code=self.ocpi_status,
            status_message=self.message,
            http_status=self.http_status,
        )


class InvalidParameters(OcpiError):
    """A query parameter or routing header of an authenticated request that we cannot accept:
    HTTP 200 + 2001 "Invalid or missing parameters".

    Such a request has reached the OCPI layer, and a request from an authenticated and
    authorised sender that reached it must not get an HTTP error (OCPI 2.2.1, Status codes,
    as corrected on the 2.2.1 bugfix branch); the answer is in `status_code`. The
    authentication and permission checks run first, so an unknown caller still gets 401.
    """

    ocpi_status = OcpiStatus.INVALID_PARAMETERS


class InvalidBody(OcpiError):
    """A body that parsed as JSON but is wrong for the endpoint: HTTP 200 + 2001."""

    ocpi_status = OcpiStatus.INVALID_PARAMETERS


class ObjectNotFound(OcpiError):
    ocpi_status = OcpiStatus.CLIENT_ERROR
    http_status = 404


class UnknownLocation(ObjectNotFound):
    ocpi_status = OcpiStatus.UNKNOWN_LOCATION


class MethodNotAllowed(OcpiError):
    http_status = 405


class UnableToUseClientApi(OcpiError):
    ocpi_status = OcpiStatus.UNABLE_TO_USE_CLIENT_API


class UnsupportedVersion(OcpiError):
    ocpi_status = OcpiStatus.UNSUPPORTED_VERSION


class NoMatchingEndpoints(OcpiError):
    ocpi_status = OcpiStatus.NO_MATCHING_ENDPOINTS


def unauthorized_response(message: str = "Missing or unknown credentials token") -> OcpiResponse:
    response = OcpiResponse(
        status_code=OcpiStatus.CLIENT_ERROR, status_message=message, http_status=401
    )
    response["WWW-Authenticate"] = "Token"
    return response


def _suspicious_request_response(exc: SuspiciousOperation) -> OcpiResponse:
    """HTTP 400 for a request Django refuses to read (body too big, too many parameters)."""
    if isinstance(exc, RequestDataTooBig):
        return OcpiResponse(
            status_code=OcpiStatus.CLIENT_ERROR,
            status_message="Request body too large",
            http_status=400,
        )
    if isinstance(exc, TooManyFieldsSent):
        return InvalidParameters("Too many query parameters").to_response()
    return OcpiResponse(
        status_code=OcpiStatus.CLIENT_ERROR, status_message="Bad request", http_status=400
    )


def ocpi_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error leaves as an OCPI envelope."""
    if isinstance(exc, OcpiError):
        return exc.to_response()
    if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        return unauthorized_response(str(exc.detail))
    if isinstance(exc, drf_exceptions.PermissionDenied):
        # A known token that may not use this module (token A outside versions/credentials,
        # a suspended partner): OCPI wants 401 here, not 403 (OCPI 2.2.1,
        # Transport and format, Authorization header).
        return unauthorized_response(str(exc.detail))
    if isinstance(exc, drf_exceptions.ParseError):
        return OcpiResponse(
            status_code=OcpiStatus.CLIENT_ERROR,
            status_message=f"Request body is not valid JSON: {exc.detail}",
            http_status=400,
        )
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return OcpiResponse(
            status_code=OcpiStatus.CLIENT_ERROR, status_message=str(exc.detail), http_status=415
        )
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return OcpiResponse(
            status_code=OcpiStatus.CLIENT_ERROR, status_message=str(exc.detail), http_status=405
        )
    if isinstance(exc, SuspiciousOperation):
        # Django would answer its own HTML 400 page; we log as it does and answer an envelope.
        logging.getLogger(f"django.security.{type(exc).__name__}").error("%s", exc)
        return _suspicious_request_response(exc)
    if isinstance(exc, Http404 | drf_exceptions.NotFound):
        return ObjectNotFound("Unknown object").to_response()
    if isinstance(exc, drf_exceptions.ValidationError):
        return InvalidBody(data=exc.detail).to_response()
    if isinstance(exc, drf_exceptions.APIException):
        return OcpiResponse(
            status_code=OcpiStatus.CLIENT_ERROR,
            status_message=str(exc.detail),
            http_status=exc.status_code,
        )
    return None  # let Django's handler500 answer (also an envelope under /ocpi/)
