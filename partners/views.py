"""Our credentials endpoint: /ocpi/2.2.1/credentials (OCPI 2.2.1, Credentials module:
Interfaces and endpoints, and Use cases, Registration)."""

from rest_framework.views import APIView

from versions.auth import IsRegisteredOrRegisteringPartner
from versions.authorization import tokens_in_header
from versions.envelope import OcpiResponse
from versions.errors import (
    InvalidBody,
    MethodNotAllowed,
    NoMatchingEndpoints,
    OcpiError,
    UnableToUseClientApi,
    UnsupportedVersion,
)
from versions.parsers import OcpiJSONParser
from versions.status import OcpiStatus

from . import discovery, services
from .credentials import our_credentials, parse_credentials
from .handshake_slots import HandshakesBusy
from .openapi import credentials_schema
from .tokens import hash_token


class HandshakesBusyError(OcpiError):
    """All handshake slots of this process are taken: 3000, "Generic server error" (OCPI
    2.2.1, Status codes, 3xxx Server errors), HTTP 200 like every error past the transport
    layer; the partner tries again later."""

    ocpi_status = OcpiStatus.SERVER_ERROR


_ERRORS: dict[type[discovery.HandshakeError], type[OcpiError]] = {
    discovery.PartnerApiUnusable: UnableToUseClientApi,
    discovery.NoCommonVersion: UnsupportedVersion,
    discovery.MissingEndpoints: NoMatchingEndpoints,
    discovery.PartnerConflict: InvalidBody,
    HandshakesBusy: HandshakesBusyError,
}


def _as_ocpi_error(exc: services.NotAllowedInThisState | discovery.HandshakeError) -> OcpiError:
    if isinstance(exc, services.NotAllowedInThisState):
        return MethodNotAllowed(str(exc))
    return _ERRORS[type(exc)](exc.message)


@credentials_schema
class CredentialsView(APIView):
    """Token A (pending partner) or token C (registered partner); 405 rules per method."""

    permission_classes = [IsRegisteredOrRegisteringPartner]
    parser_classes = [OcpiJSONParser]

    def get(self, request):
        return OcpiResponse(our_credentials(self._token_in_header(request)))

    def post(self, request):
        return self._exchange(request, services.credentials_register)

    def put(self, request):
        return self._exchange(request, services.credentials_update)

    def delete(self, request):
        try:
            services.partner_unregister(partner=request.auth.partner)
        except services.NotAllowedInThisState as exc:
            raise _as_ocpi_error(exc) from None
        return OcpiResponse()

    def _exchange(self, request, service):
        credentials, errors = parse_credentials(request.data)
        if credentials is None:
            raise InvalidBody("Invalid credentials object", data=errors)
        try:
            ours = service(token=request.auth, credentials=credentials)
        except (discovery.HandshakeError, services.NotAllowedInThisState) as exc:
            raise _as_ocpi_error(exc) from None
        return OcpiResponse(ours)

    @staticmethod
    def _token_in_header(request) -> str:
        # Only hashes are stored, so the token we echo is the one the caller just used.
        decoded, raw = tokens_in_header(request.META.get("HTTP_AUTHORIZATION", ""))
        for candidate in (decoded, raw):
            if candidate is not None and hash_token(candidate) == request.auth.token_hash:
                return candidate
        raise AssertionError("authenticated request without a matching token")  # unreachable
