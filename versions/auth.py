"""OCPI token authentication for DRF (transport.md §2)."""

from rest_framework import authentication, exceptions, permissions

from partners.models import IssuedToken, Partner
from partners.selectors import issued_token_for_header


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
    """Versions and credentials: token A of a pending partner is accepted too."""

    message = "This token is not valid for this module"

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, IssuedToken):
            raise exceptions.NotAuthenticated("Missing credentials token")
        if token.kind == IssuedToken.Kind.A:
            return token.partner.state == Partner.State.PENDING
        return token.partner.state == Partner.State.REGISTERED
