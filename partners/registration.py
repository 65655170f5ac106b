"""Our side of the credentials handshake: we register with a partner that gave us its
versions URL and a token A (OCPI 2.2.1, Credentials module, "Registration").
"""

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from versions.client import OcpiCallFailed, ocpi_request
from versions.partner_urls import url_problem
from versions.registry import ModuleID

from .credentials import our_credentials, parse_credentials
from .discovery import HandshakeError, discover, locations_receiver_url, store_discovery, valid_url
from .handshake_slots import HandshakesBusy, handshake_slot
from .models import IssuedToken, Partner
from .services import issued_token_create
from .signals import send_partner_registered_after_commit
from .tokens import hash_token

logger = logging.getLogger(__name__)


class RegistrationFailed(Exception):
    def __init__(self, message: str, steps: list[str]) -> None:
        super().__init__(message)
        self.message = message
        self.steps = steps


@dataclass
class RegistrationReport:
    partner: Partner
    version: str
    locations_receiver_url: str | None
    steps: list[str]


def _default_name(versions_url: str) -> str:
    return urlsplit(versions_url).netloc or versions_url[:100]


def partner_register(
    *, versions_url: str, token_a: str, name: str | None = None, base64_token: bool = True
) -> RegistrationReport:
    """Register with a partner that gave us its versions URL and a token A (steps S1-S5).

    Our token B is saved (hashed, as a live token) before the POST, because the partner
    calls our versions endpoints with it while handling the POST. On any failure the
    partner record and token B are removed again (or, for a known partner, left as they
    were), and RegistrationFailed lists the steps done and what went wrong, in full (it is
    for our operator: which address a refused URL resolved to, and why).

    Runs in one of the process's handshake slots (the admin calls it in a web request); the
    discovery and the POST each have the handshake deadline (OCPI_HANDSHAKE_DEADLINE).
    """
    try:
        with handshake_slot():
            return _register(
                versions_url=versions_url, token_a=token_a, name=name, base64_token=base64_token
            )
    except HandshakesBusy as exc:
        raise RegistrationFailed(exc.detail, []) from None


def _register(
    *, versions_url: str, token_a: str, name: str | None, base64_token: bool
) -> RegistrationReport:
    steps: list[str] = []
    name = (name or _default_name(versions_url))[:100]

    existing = Partner.objects.filter(name=name).first()
    if existing is not None and existing.state in (
        Partner.State.REGISTERED,
        Partner.State.SUSPENDED,
    ):
        raise RegistrationFailed(
            f"Partner {name!r} is {existing.get_state_display().lower()} already; "
            "unregister it first or choose another name",
            steps,
        )
    try:
        discovery = discover(versions_url, token=token_a, base64_token=base64_token)
    except HandshakeError as exc:
        raise RegistrationFailed(exc.detail, steps) from None
    steps.append(f"Fetched their versions at {versions_url} with token A")
    steps.append(f"Chose OCPI {discovery.version} and fetched its details")
    credentials_url = discovery.url(ModuleID.CREDENTIALS)
    assert credentials_url is not None  # discover() refuses details without one
    receiver = locations_receiver_url(discovery)
    steps.append(
        f"Found their Locations Receiver at {receiver}"
        if receiver
        else "No Locations Receiver: partner will only pull"
    )

    with transaction.atomic():
        if existing is None:
            partner = Partner.objects.create(name=name, state=Partner.State.PENDING)
        else:
            partner = existing
        partner.outgoing_token_base64 = base64_token
        partner.save()
        previous_token_ids = list(
            partner.issued_tokens.filter(revoked_at__isnull=True).values_list("pk", flat=True)
        )
        token_b = issued_token_create(partner=partner, kind=IssuedToken.Kind.C)
    steps.append("Issued our token B (only its hash is stored)")

    def undo() -> None:
        with transaction.atomic():
            IssuedToken.objects.filter(token_hash=hash_token(token_b)).delete()
            if existing is None:
                partner.delete()

    try:
        result = ocpi_request(
            "POST",
            credentials_url,
            token=token_a,
            base64_token=base64_token,
            body=our_credentials(token_b),
            deadline=settings.OCPI_HANDSHAKE_DEADLINE,
        )
    except OcpiCallFailed as exc:
        undo()
        raise RegistrationFailed(
            f"POST credentials to {credentials_url} failed: {exc.reason}", steps
        ) from None
    if not result.ok:
        undo()
        raise RegistrationFailed(
            f"POST credentials to {credentials_url} answered {result.describe()}", steps
        )
    theirs, errors = parse_credentials(result.data)
    if theirs is None:
        undo()
        raise RegistrationFailed(
            f"POST credentials to {credentials_url} answered an invalid credentials object: "
            f"{errors}",
            steps,
        )
    steps.append(f"Posted our credentials to {credentials_url} and received their token C")

    try:
        with transaction.atomic():
            partner = Partner.objects.select_for_update().get(pk=partner.pk)
            store_discovery(partner, discovery, theirs["roles"])
            if valid_url(theirs["url"]) and url_problem(theirs["url"]) is None:
                partner.versions_url = theirs["url"]
            IssuedToken.objects.filter(pk__in=previous_token_ids).update(revoked_at=timezone.now())
            now = timezone.now()
            partner.outgoing_token = theirs["token"]
            partner.state = Partner.State.REGISTERED
            partner.registered_at = partner.credentials_updated_at = now
            partner.unregistered_at = None
            partner.registered_by = "us"
            partner.save()
            send_partner_registered_after_commit(partner)
    except (HandshakeError, IntegrityError) as exc:
        undo()
        message = exc.detail if isinstance(exc, HandshakeError) else str(exc)
        raise RegistrationFailed(f"Could not store their credentials: {message}", steps) from None
    steps.append(f"Stored their token C, roles and endpoints; {partner.name} is registered")
    logger.info(
        "Registered with partner %s (OCPI %s, locations receiver: %s)",
        partner.name,
        discovery.version,
        receiver or "none, partner will only pull",
    )
    return RegistrationReport(
        partner=partner, version=discovery.version, locations_receiver_url=receiver, steps=steps
    )
