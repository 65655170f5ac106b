"""Partner lifecycle: provisioning, their side of the credentials handshake (they call our
credentials endpoint), unregistering. Discovery of their API is `discovery`, our side of the
handshake (we register with them) is `registration`.

Network calls are made outside database transactions; every change to our records happens
in one transaction afterwards, so a failed handshake leaves nothing half-saved. They run
within the handshake's deadline and in one of the process's handshake slots
(`handshake_slots`), so a slow or hostile partner holds a web thread for a bounded time and
never all of them. Tokens are never logged.
"""

import logging

from django.db import transaction
from django.utils import timezone

from .credentials import our_credentials
from .discovery import discover, locations_receiver_url, store_discovery
from .handshake_slots import handshake_slot
from .models import IssuedToken, Partner, PartnerRole, Role
from .signals import partner_resumed, send_partner_registered_after_commit
from .tokens import generate_token, hash_token

logger = logging.getLogger(__name__)


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


@transaction.atomic
def partner_create_pending(*, name: str) -> tuple[Partner, str]:
    """Offline step 0: a pending partner and its one-time token A (returned in plain text)."""
    partner = Partner.objects.create(name=name, state=Partner.State.PENDING)
    return partner, issued_token_create(partner=partner, kind=IssuedToken.Kind.A)


# --- Server side: they call our credentials endpoint ----------------------------------------


class NotAllowedInThisState(Exception):
    """POST while registered, PUT/DELETE while not registered: HTTP 405."""


def _revoke_live_tokens(partner: Partner, *, kind: str | None = None) -> None:
    tokens = partner.issued_tokens.filter(revoked_at__isnull=True)
    if kind is not None:
        tokens = tokens.filter(kind=kind)
    tokens.update(revoked_at=timezone.now())


def credentials_register(*, token: IssuedToken, credentials: dict) -> dict:
    """POST credentials with token A: fetch their API with their token B, answer token C."""
    partner = token.partner
    if token.kind != IssuedToken.Kind.A or partner.state != Partner.State.PENDING:
        raise NotAllowedInThisState("Already registered: use PUT to update the credentials")
    with handshake_slot():
        discovery = discover(
            credentials["url"],
            token=credentials["token"],
            base64_token=partner.outgoing_token_base64,
        )
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        token_a = IssuedToken.objects.select_for_update().get(pk=token.pk)
        if token_a.revoked_at is not None or partner.state != Partner.State.PENDING:
            raise NotAllowedInThisState("Already registered: use PUT to update the credentials")
        store_discovery(partner, discovery, credentials["roles"])
        _revoke_live_tokens(partner)  # token A, and anything issued before
        token_c = issued_token_create(partner=partner, kind=IssuedToken.Kind.C)
        now = timezone.now()
        partner.outgoing_token = credentials["token"]
        partner.state = Partner.State.REGISTERED
        partner.registered_at = partner.credentials_updated_at = now
        partner.unregistered_at = None
        partner.registered_by = "them"
        partner.save()
        send_partner_registered_after_commit(partner)
    logger.info(
        "Partner %s registered with us (OCPI %s, locations receiver: %s)",
        partner.name,
        discovery.version,
        locations_receiver_url(discovery) or "none, partner will only pull",
    )
    return our_credentials(token_c)


def credentials_update(*, token: IssuedToken, credentials: dict) -> dict:
    """PUT credentials: re-fetch their API with the new token, rotate our token for them."""
    partner = token.partner
    if token.kind != IssuedToken.Kind.C or partner.state != Partner.State.REGISTERED:
        raise NotAllowedInThisState("Not registered: use POST with token A to register")
    with handshake_slot():
        discovery = discover(
            credentials["url"],
            token=credentials["token"],
            base64_token=partner.outgoing_token_base64,
        )
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        if partner.state != Partner.State.REGISTERED:
            raise NotAllowedInThisState("Not registered: use POST with token A to register")
        store_discovery(partner, discovery, credentials["roles"])
        _revoke_live_tokens(partner)
        new_token = issued_token_create(partner=partner, kind=IssuedToken.Kind.C)
        partner.outgoing_token = credentials["token"]
        partner.credentials_updated_at = timezone.now()
        partner.save()
    logger.info("Partner %s updated its credentials (OCPI %s)", partner.name, discovery.version)
    return our_credentials(new_token)


@transaction.atomic
def partner_unregister(*, partner: Partner) -> None:
    """DELETE credentials (or an operator's decision): tokens revoked, pushes stop."""
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if partner.state not in (Partner.State.REGISTERED, Partner.State.SUSPENDED):
        raise NotAllowedInThisState("Not registered")
    _revoke_live_tokens(partner)
    partner.state = Partner.State.UNREGISTERED
    partner.unregistered_at = timezone.now()
    partner.outgoing_token = ""  # their token for us is void too: no more automated traffic
    partner.save()
    logger.info("Partner %s is unregistered", partner.name)


# --- Operator decisions (the admin) ------------------------------------------------------------
# Suspension is ours, not an OCPI state: the partner stays registered with its tokens, but
# while suspended its token opens nothing but versions (versions.auth) and nothing is pushed
# to it (pushers.targets). Unregistering is the OCPI end of the relation (Credentials module,
# "DELETE"); `unregistration` tells the partner first.


@transaction.atomic
def partner_suspend(*, partner: Partner) -> Partner:
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if partner.state != Partner.State.REGISTERED:
        raise NotAllowedInThisState("Only a registered partner can be suspended")
    partner.state = Partner.State.SUSPENDED
    partner.suspended_at = timezone.now()
    partner.save(update_fields=["state", "suspended_at", "updated_at"])
    logger.info("Partner %s is suspended", partner.name)
    return partner


@transaction.atomic
def partner_resume(*, partner: Partner) -> Partner:
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if partner.state != Partner.State.SUSPENDED:
        raise NotAllowedInThisState("Only a suspended partner can be resumed")
    partner.state = Partner.State.REGISTERED
    partner.suspended_at = None
    partner.save(update_fields=["state", "suspended_at", "updated_at"])
    partner_resumed.send(sender=Partner, partner=partner)
    logger.info("Partner %s is resumed", partner.name)
    return partner


@transaction.atomic
def partner_reinvite(*, partner: Partner) -> str:
    """A new token A for a partner that is pending or unregistered: it becomes pending and
    may register with us again (OCPI 2.2.1, Credentials module, "Registration"); every
    earlier token is revoked. Returns the token A in plain text (shown once)."""
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if partner.state not in (Partner.State.PENDING, Partner.State.UNREGISTERED):
        raise NotAllowedInThisState("Only a pending or unregistered partner can be invited")
    _revoke_live_tokens(partner)
    partner.state = Partner.State.PENDING
    partner.save(update_fields=["state", "updated_at"])
    return issued_token_create(partner=partner, kind=IssuedToken.Kind.A)


@transaction.atomic
def partner_set_outgoing_token(*, partner: Partner, token: str) -> None:
    """Store the token the partner gave us for calling it (typed by an operator)."""
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    partner.outgoing_token = token
    partner.save(update_fields=["outgoing_token", "updated_at"])


@transaction.atomic
def issued_token_revoke(*, token: IssuedToken) -> None:
    """Revoke one token we issued; revocation is final (`IssuedToken.save` refuses undoing)."""
    IssuedToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
