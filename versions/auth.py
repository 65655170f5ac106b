"""OCPI token authentication for DRF (OCPI 2.2.1, Transport and format, "Authorization
header"; Credentials module, for which token opens what).

This module knows the rules, not where tokens are kept: the app that issues tokens
(`partners`) registers its look-up with `register_token_lookup` when it is ready, so the
shared plumbing does not import the partner app.
"""

from collections.abc import Callable, Collection
from typing import Any, Protocol, runtime_checkable

from rest_framework import authentication, exceptions, permissions

from .errors import InvalidParameters, OcpiError


@runtime_checkable
class CallerToken(Protocol):
    """What the permissions need to know about the token a request came with."""

    @property
    def partner(self) -> Any: ...

    def opens_functional_modules(self) -> bool:
        """Token C of a registered partner."""
        ...

    def opens_configuration_modules(self) -> bool:
        """Versions and credentials: also the tokens of a partner in registration."""
        ...

    def parties(self) -> Collection[tuple[str, str]]:
        """(country code, party id) of every role of the caller, upper case."""
        ...

    def refusal_as(self, country_code: str, party_id: str) -> str | None:
        """None when the caller may send requests as this party (its own role, or a party
        a hub forwards for); else why not, for the caller."""
        ...


TokenLookup = Callable[[str], CallerToken | None]
_lookup: TokenLookup | None = None


def register_token_lookup(lookup: TokenLookup) -> None:
    """Set the function that finds the live token of an Authorization header value."""
    global _lookup
    _lookup = lookup


class OcpiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <base64(token)>` → (the caller's partner, its token)."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        if _lookup is None:
            raise exceptions.AuthenticationFailed("No token store is installed")
        token = _lookup(header)
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown credentials token")
        return token.partner, token

    def authenticate_header(self, request):
        return "Token"


def _caller_token(request) -> CallerToken:
    token = request.auth
    if not isinstance(token, CallerToken):
        raise exceptions.NotAuthenticated("Missing credentials token")
    return token


class IsRegisteredPartner(permissions.BasePermission):
    """Functional modules: only token C of a registered (not suspended) partner."""

    message = "This token is not valid for this module"

    def has_permission(self, request, view):
        return _caller_token(request).opens_functional_modules()


class IsRegisteredOrRegisteringPartner(permissions.BasePermission):
    """Versions and credentials: tokens of a pending partner are accepted too.

    A pending partner holds either our token A (they will register with us) or our token B
    (we are registering with them, and they call our versions with it meanwhile).
    """

    message = "This token is not valid for this module"

    def has_permission(self, request, view):
        return _caller_token(request).opens_configuration_modules()


class ForeignParty(OcpiError):
    """OCPI-from-* names a party the caller does not speak for: HTTP 401 + 2000.

    The token is known but not authorised for that party. OCPI 2.2.1 answers a request that
    is not authorised with HTTP 401 (Transport and format, Authorization header: a token
    used where it gives no access), and keeps "no HTTP error, the result in status_code"
    for requests from "authenticated and authorised" senders only (Status codes, as
    corrected on the 2.2.1 bugfix branch). The hub error codes (4001 "unknown receiver")
    are for a hub's answers, not ours, and no 2xxx code names an unknown sender.
    """

    http_status = 401

    def to_response(self):
        response = super().to_response()
        response["WWW-Authenticate"] = "Token"
        return response


ROUTING_FROM_HEADERS = ("HTTP_OCPI_FROM_COUNTRY_CODE", "HTTP_OCPI_FROM_PARTY_ID")


def check_routing_headers(request) -> None:
    """Functional modules: OCPI-from-country-code/party-id, when sent, must be a party the
    caller speaks for.

    No headers: fine (a direct peer-to-peer link needs none; OCPI 2.2.1, Transport and
    format, "Message Routing"). Only one of the pair: HTTP 200 + 2001 (the pair always goes
    together, ibid., and the request of an authenticated caller reached the OCPI layer). A
    party the caller does not speak for — not one of its CredentialsRoles and, for a hub,
    not a party it announced through HubClientInfo — is HTTP 401 + 2000 (`ForeignParty`).
    """
    country, party = (request.META.get(key, "").strip() for key in ROUTING_FROM_HEADERS)
    if not country and not party:
        return
    if not country or not party:
        raise InvalidParameters(
            "OCPI-from-country-code and OCPI-from-party-id must be sent together"
        )
    refusal = _caller_token(request).refusal_as(country, party)
    if refusal is not None:
        raise ForeignParty(refusal)


class IsRegisteredPartnerWithMatchingRouting(IsRegisteredPartner):
    """IsRegisteredPartner plus check_routing_headers: the permission for functional modules."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        check_routing_headers(request)
        return True
