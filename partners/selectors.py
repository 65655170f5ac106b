from .models import IssuedToken, Partner
from .tokens import hash_token, tokens_in_header


def issued_token_for_header(header: str) -> IssuedToken | None:
    """The live token matching an Authorization header, or None.

    The Base64 form (OCPI 2.2.1) always works; the raw form only for partners that have
    the per-partner switch on (transport.md §2, compatibility note).
    """
    decoded, raw = tokens_in_header(header)
    hashes = {}
    if decoded is not None:
        hashes[hash_token(decoded)] = "base64"
    if raw is not None:
        hashes.setdefault(hash_token(raw), "raw")
    if not hashes:
        return None
    candidates = IssuedToken.objects.select_related("partner").filter(
        token_hash__in=list(hashes), revoked_at__isnull=True
    )
    for token in candidates:
        form = hashes[token.token_hash]
        if form == "base64" or token.partner.incoming_raw_token_allowed:
            return token
    return None


def partner_endpoint_url(partner: Partner, *, identifier: str, role: str) -> str | None:
    """The URL of their `identifier` module for interface `role` (e.g. locations RECEIVER)."""
    endpoint = partner.endpoints.filter(identifier=identifier, role=role).first()
    return endpoint.url if endpoint else None


def routing_headers(partner: Partner) -> dict[str, str]:
    """OCPI-from (us) / OCPI-to (the partner's first role) for functional-module requests.

    Configuration modules (versions, credentials) must not carry them (transport.md §9).
    """
    from django.conf import settings

    headers = {
        "OCPI-from-country-code": settings.OCPI_COUNTRY_CODE,
        "OCPI-from-party-id": settings.OCPI_PARTY_ID,
    }
    role = partner.roles.order_by("pk").first()
    if role is not None:
        headers["OCPI-to-country-code"] = role.country_code.upper()
        headers["OCPI-to-party-id"] = role.party_id.upper()
    return headers
