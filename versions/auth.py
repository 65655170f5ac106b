"""OCPI token authentication for DRF (transport.md §2)."""

from rest_framework import authentication, exceptions, permissions

from partners.models import IssuedToken, Partner
from partners.selectors import issued_token_for_header

from .errors import InvalidParameters, OcpiError


class OcpiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <base64(token)>` → (Partner, IssuedToken)."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        token = issued_token_for_header(header)
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown credentials token")
        return token.partner, token

    def authenticate_header(self, request):
        return "Token"


class IsRegisteredPartner(permissions.BasePermission):
    """Functional modules: only token C of a registered (not suspended) partner."""

    message = "This token is not valid for this module"

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, IssuedToken):
            raise exceptions.NotAuthenticated("Missing credentials token")
        return token.kind == IssuedToken.Kind.C and token.partner.state == Partner.State.REGISTERED


class IsRegisteredOrRegisteringPartner(permissions.BasePermission):
    """Versions and credentials: tokens of a pending partner are accepted too.

    A pending partner holds either our token A (they will register with us) or our token B
    (we are registering with them, and they call our versions with it meanwhile).
    """

    message = "This token is not valid for this module"

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, IssuedToken):
            raise exceptions.NotAuthenticated("Missing credentials token")
        if token.kind == IssuedToken.Kind.A:
            return token.partner.state == Partner.State.PENDING
        return token.partner.state in (Partner.State.REGISTERED, Partner.State.PENDING)


class ForeignParty(OcpiError):
    """OCPI-from-* names a party that is not one of the caller's roles: HTTP 403 + 2000."""

    http_status = 403


ROUTING_FROM_HEADERS = ("HTTP_OCPI_FROM_COUNTRY_CODE", "HTTP_OCPI_FROM_PARTY_ID")


def check_routing_headers(request) -> None:
    """Functional modules: OCPI-from-country-code/party-id, when sent, must be the caller's.

    No headers: fine (a direct peer-to-peer link needs none, transport.md §14.3). Only one of
    the pair: HTTP 400 + 2001. A party that is not one of the calling partner's
    CredentialsRoles: HTTP 403 + 2000 — the token is valid, but it does not speak for that
    party (OCPI names no code for this; 401 would wrongly suggest a bad token).
    """
    country, party = (request.META.get(key, "").strip() for key in ROUTING_FROM_HEADERS)
    if not country and not party:
        return
    if not country or not party:
        raise InvalidParameters(
            "OCPI-from-country-code and OCPI-from-party-id must be sent together"
        )
    partner = request.auth.partner
    roles = {(r.country_code.upper(), r.party_id.upper()) for r in partner.roles.all()}
    if (country.upper(), party.upper()) not in roles:
        mine = ", ".join(f"{c}*{p}" for c, p in sorted(roles)) or "none"
        raise ForeignParty(
            f"OCPI-from {country.upper()}*{party.upper()} is not one of your roles ({mine})"
        )


class IsRegisteredPartnerWithMatchingRouting(IsRegisteredPartner):
    """IsRegisteredPartner plus check_routing_headers: the permission for functional modules."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        check_routing_headers(request)
        return True
