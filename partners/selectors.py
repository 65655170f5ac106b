from versions.authorization import tokens_in_header

from .models import IssuedToken, Partner
from .tokens import hash_token


def issued_token_for_header(header: str) -> IssuedToken | None:
    """The live token matching an Authorization header, or None.

    The Base64 form (OCPI 2.2.1) always works; the raw form only for partners that have
    the per-partner switch on (OCPI 2.2.1, Transport and format, Authorization header; the
    2.2.1-d2 note on partners that send the token unencoded).
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
