"""Partner lifecycle: provisioning, the credentials handshake in both directions, unregistering.

Network calls are made outside database transactions; every change to our records happens
in one transaction afterwards, so a failed handshake leaves nothing half-saved. Tokens are
never logged.
"""

import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from pushers.client import OcpiCallFailed, ocpi_request
from versions.registry import SUPPORTED_VERSIONS

from .credentials import our_credentials, parse_credentials
from .models import InterfaceRole, IssuedToken, Partner, PartnerEndpoint, PartnerRole, Role
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


# --- Discovery: their versions and version details ------------------------------------------


class HandshakeError(Exception):
    """A credentials handshake step failed. `ocpi_status` is the code for our answer."""

    ocpi_status = 3001

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PartnerApiUnusable(HandshakeError):
    """Their versions or version details could not be fetched or made no sense (3001)."""


class NoCommonVersion(HandshakeError):
    ocpi_status = 3002


class MissingEndpoints(HandshakeError):
    ocpi_status = 3003


class PartnerConflict(HandshakeError):
    """Their roles clash with another partner's (2001: we cannot accept the object)."""

    ocpi_status = 2001


@dataclass
class Discovery:
    versions_url: str
    version: str
    version_url: str
    endpoints: list[dict] = field(default_factory=list)  # {identifier, role, url}

    def url(self, identifier: str, role: str | None = None) -> str | None:
        for endpoint in self.endpoints:
            if endpoint["identifier"] == identifier and role in (None, endpoint["role"]):
                return endpoint["url"]
        return None


def _get(url: str, *, token: str, base64_token: bool, what: str):
    try:
        result = ocpi_request("GET", url, token=token, base64_token=base64_token)
    except OcpiCallFailed as exc:
        raise PartnerApiUnusable(f"{what} {url} could not be fetched: {exc.reason}") from None
    if not result.ok:
        raise PartnerApiUnusable(f"{what} {url} answered {result.describe()}")
    return result.data


def _valid_url(value) -> bool:
    if not isinstance(value, str) or len(value) > 255:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def discover(versions_url: str, *, token: str, base64_token: bool = True) -> Discovery:
    """GET their versions, pick the highest version we share, GET its details."""
    versions = _get(versions_url, token=token, base64_token=base64_token, what="Versions")
    if not isinstance(versions, list) or not all(
        isinstance(v, dict) and isinstance(v.get("version"), str) and _valid_url(v.get("url"))
        for v in versions
    ):
        raise PartnerApiUnusable(
            f"Versions {versions_url} did not answer a list of {{version, url}} objects"
        )
    theirs = {v["version"]: v["url"] for v in versions}
    common = [v for v in SUPPORTED_VERSIONS if v in theirs]
    if not common:
        offered = ", ".join(sorted(theirs)) or "none"
        raise NoCommonVersion(
            f"No common OCPI version: they offer {offered}, we support "
            + ", ".join(SUPPORTED_VERSIONS)
        )
    version = max(common, key=lambda v: tuple(int(p) for p in v.split(".")))
    version_url = theirs[version]
    details = _get(version_url, token=token, base64_token=base64_token, what="Version details")
    endpoints = details.get("endpoints") if isinstance(details, dict) else None
    if not isinstance(endpoints, list):
        raise PartnerApiUnusable(f"Version details {version_url} have no endpoint list")
    cleaned: dict[tuple[str, str], dict] = {}
    for endpoint in endpoints:
        if not (
            isinstance(endpoint, dict)
            and isinstance(endpoint.get("identifier"), str)
            and 0 < len(endpoint["identifier"]) <= 32
            and _valid_url(endpoint.get("url"))
        ):
            raise PartnerApiUnusable(
                f"Version details {version_url} contain an invalid endpoint: {endpoint!r:.200}"
            )
        role = endpoint.get("role")
        if endpoint["identifier"] == "credentials":
            role = InterfaceRole.SENDER  # its role means nothing (versions-and-credentials §1.2)
        if role not in InterfaceRole.values:
            raise PartnerApiUnusable(
                f"Version details {version_url}: endpoint {endpoint['identifier']} has role "
                f"{role!r}, expected SENDER or RECEIVER"
            )
        cleaned[(endpoint["identifier"], role)] = {
            "identifier": endpoint["identifier"],
            "role": role,
            "url": endpoint["url"],
        }
    discovery = Discovery(versions_url, version, version_url, list(cleaned.values()))
    if discovery.url("credentials") is None:
        raise MissingEndpoints(
            f"Version details {version_url} publish no credentials endpoint, "
            "which every OCPI platform must have"
        )
    return discovery


def _store_discovery(partner: Partner, discovery: Discovery, roles: list[dict]) -> None:
    partner.versions_url = discovery.versions_url
    partner.version = discovery.version
    partner.endpoints.all().delete()
    PartnerEndpoint.objects.bulk_create(
        PartnerEndpoint(partner=partner, **endpoint) for endpoint in discovery.endpoints
    )
    _check_roles_are_free(partner, roles)
    partner.roles.all().delete()
    PartnerRole.objects.bulk_create(
        PartnerRole(
            partner=partner,
            role=role["role"],
            country_code=role["country_code"].upper(),
            party_id=role["party_id"].upper(),
            business_details={k: v for k, v in role["business_details"].items() if v is not None},
        )
        for role in roles
    )


def _check_roles_are_free(partner: Partner, roles: list[dict]) -> None:
    clash = Q(pk__in=[])
    for role in roles:
        clash |= Q(
            role=role["role"],
            cc=role["country_code"].upper(),
            pid=role["party_id"].upper(),
        )
    taken = (
        PartnerRole.objects.exclude(partner=partner)
        .annotate(cc=Upper("country_code"), pid=Upper("party_id"))
        .filter(clash)
        .select_related("partner")
        .first()
    )
    if taken is not None:
        raise PartnerConflict(
            f"Role {taken.role} {taken.country_code}*{taken.party_id} belongs to another "
            "partner already"
        )


def locations_receiver_url(discovery_or_partner) -> str | None:
    if isinstance(discovery_or_partner, Discovery):
        return discovery_or_partner.url("locations", InterfaceRole.RECEIVER)
    from .selectors import partner_endpoint_url

    return partner_endpoint_url(
        discovery_or_partner, identifier="locations", role=InterfaceRole.RECEIVER
    )


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
    discovery = discover(
        credentials["url"], token=credentials["token"], base64_token=partner.outgoing_token_base64
    )
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        token_a = IssuedToken.objects.select_for_update().get(pk=token.pk)
        if token_a.revoked_at is not None or partner.state != Partner.State.PENDING:
            raise NotAllowedInThisState("Already registered: use PUT to update the credentials")
        _store_discovery(partner, discovery, credentials["roles"])
        _revoke_live_tokens(partner)  # token A, and anything issued before
        token_c = issued_token_create(partner=partner, kind=IssuedToken.Kind.C)
        now = timezone.now()
        partner.outgoing_token = credentials["token"]
        partner.state = Partner.State.REGISTERED
        partner.registered_at = partner.credentials_updated_at = now
        partner.unregistered_at = None
        partner.registered_by = "them"
        partner.save()
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
    discovery = discover(
        credentials["url"], token=credentials["token"], base64_token=partner.outgoing_token_base64
    )
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        if partner.state != Partner.State.REGISTERED:
            raise NotAllowedInThisState("Not registered: use POST with token A to register")
        _store_discovery(partner, discovery, credentials["roles"])
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
    if partner.state != Partner.State.REGISTERED:
        raise NotAllowedInThisState("Not registered")
    _revoke_live_tokens(partner)
    partner.state = Partner.State.UNREGISTERED
    partner.unregistered_at = timezone.now()
    partner.outgoing_token = ""  # their token for us is void too: no more automated traffic
    partner.save()
    logger.info("Partner %s is unregistered", partner.name)


# --- Initiator side: we register with them --------------------------------------------------


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
    were), and RegistrationFailed lists the steps done and what went wrong.
    """
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
        raise RegistrationFailed(exc.message, steps) from None
    steps.append(f"Fetched their versions at {versions_url} with token A")
    steps.append(f"Chose OCPI {discovery.version} and fetched its details")
    credentials_url = discovery.url("credentials")
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
            _store_discovery(partner, discovery, theirs["roles"])
            if _valid_url(theirs["url"]):
                partner.versions_url = theirs["url"]
            IssuedToken.objects.filter(pk__in=previous_token_ids).update(revoked_at=timezone.now())
            now = timezone.now()
            partner.outgoing_token = theirs["token"]
            partner.state = Partner.State.REGISTERED
            partner.registered_at = partner.credentials_updated_at = now
            partner.unregistered_at = None
            partner.registered_by = "us"
            partner.save()
    except (HandshakeError, IntegrityError) as exc:
        undo()
        message = exc.message if isinstance(exc, HandshakeError) else str(exc)
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
