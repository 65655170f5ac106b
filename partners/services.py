from django.db import transaction
from django.utils import timezone

from .models import IssuedToken, Partner, PartnerRole, Role
from .tokens import generate_token, hash_token


def issued_token_create(*, partner: Partner, kind: str, token: str | None = None) -> str:
    """Issue a token for `partner` and return it in plain text; only its hash is kept."""
    token = token or generate_token()
    IssuedToken.objects.create(
        partner=partner, kind=kind, token_hash=hash_token(token), hint=token[:4]
    )
    return token


@transaction.atomic
def partner_create(
    *,
    name: str,
    country_code: str,
    party_id: str,
    role: str = Role.EMSP,
    token: str | None = None,
) -> tuple[Partner, str]:
    """A partner allowed to call our API right away (offline provisioning of token C)."""
    partner = Partner.objects.create(
        name=name, state=Partner.State.REGISTERED, registered_at=timezone.now()
    )
    PartnerRole.objects.create(
        partner=partner,
        role=role,
        country_code=country_code.upper(),
        party_id=party_id.upper(),
        business_details={"name": name},
    )
    return partner, issued_token_create(partner=partner, kind=IssuedToken.Kind.C, token=token)


@transaction.atomic
def partner_issue_token(*, partner: Partner, kind: str, token: str | None = None) -> str:
    """A fresh token of `kind` for `partner`; earlier live tokens of that kind are revoked."""
    partner.issued_tokens.filter(kind=kind, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return issued_token_create(partner=partner, kind=kind, token=token)
