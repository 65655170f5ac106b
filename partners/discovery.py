"""Discovery of a partner's API: GET their versions, pick the version we share, GET its
details (OCPI 2.2.1, Version information endpoint), and store what was found.

Used by both directions of the credentials handshake (`services`, `registration`); the
errors carry the OCPI status code of our answer when they call us.
"""

import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Upper

from versions.client import OcpiCallFailed, PartnerUrlRefused, ocpi_request
from versions.partner_urls import scheme_problem, url_problem
from versions.registry import SUPPORTED_VERSIONS, InterfaceRole, ModuleID

from .models import Partner, PartnerEndpoint, PartnerRole

logger = logging.getLogger(__name__)


class HandshakeError(Exception):
    """A credentials handshake step failed. `ocpi_status` is the code for our answer,
    `message` what the partner is told, `detail` what our operator is told (the same unless
    it would tell the partner about our network)."""

    ocpi_status = 3001

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message


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


@dataclass(frozen=True)
class _Deadline:
    """The handshake's calls share one deadline (OCPI_HANDSHAKE_DEADLINE): a failed handshake
    is answered within it, and a web thread is never held longer."""

    seconds: float
    ends: float

    @classmethod
    def starting_now(cls, seconds: float) -> "_Deadline":
        return cls(seconds, time.monotonic() + seconds)

    def left(self) -> float:
        return self.ends - time.monotonic()

    def exceeded(self) -> str:
        return f"handshake deadline of {self.seconds:g} s exceeded"


def _get(url: str, *, token: str, base64_token: bool, what: str, deadline: _Deadline):
    left = deadline.left()
    if left <= 0:
        raise PartnerApiUnusable(f"{what} {url} could not be fetched: {deadline.exceeded()}")
    try:
        result = ocpi_request("GET", url, token=token, base64_token=base64_token, deadline=left)
    except PartnerUrlRefused as exc:  # logged with the address by the client
        raise _url_unusable(what, url, exc.reason) from None
    except OcpiCallFailed as exc:
        reason = exc.reason if deadline.left() > 0.01 else deadline.exceeded()
        raise PartnerApiUnusable(f"{what} {url} could not be fetched: {reason}") from None
    if not result.ok:
        raise PartnerApiUnusable(f"{what} {url} answered {result.describe()}")
    return result.data


def _url_unusable(what: str, url: str, reason: str) -> PartnerApiUnusable:
    # The partner learns only that we do not call this URL: which address its host resolves
    # to, and why that is refused, are for our log and operator (server-side request forgery).
    return PartnerApiUnusable(
        f"{what} URL {url} could not be used", detail=f"{what} URL {url} refused: {reason}"
    )


def check_url(url: str, *, what: str) -> None:
    """Refuse a partner URL we would not call: its scheme (the partner is told why) or an IP
    literal of a forbidden address (only our log and operator are told why)."""
    problem = scheme_problem(url)
    if problem is not None:
        raise PartnerApiUnusable(f"{what} URL {url}: {problem}")
    problem = url_problem(url)
    if problem is not None:
        logger.warning("%s URL %s refused: %s", what, url, problem)
        raise _url_unusable(what, url, problem)


def valid_url(value) -> bool:
    if not isinstance(value, str) or len(value) > 255:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def discover(
    versions_url: str, *, token: str, base64_token: bool = True, deadline: float | None = None
) -> Discovery:
    """GET their versions, pick the highest version we share, GET its details, all within
    `deadline` seconds (OCPI_HANDSHAKE_DEADLINE). Every URL found must be one we would call
    (`check_url`)."""
    clock = _Deadline.starting_now(
        settings.OCPI_HANDSHAKE_DEADLINE if deadline is None else deadline
    )
    check_url(versions_url, what="Versions")
    versions = _get(
        versions_url, token=token, base64_token=base64_token, what="Versions", deadline=clock
    )
    if not isinstance(versions, list) or not all(
        isinstance(v, dict) and isinstance(v.get("version"), str) and valid_url(v.get("url"))
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
    check_url(version_url, what="Version details")
    details = _get(
        version_url,
        token=token,
        base64_token=base64_token,
        what="Version details",
        deadline=clock,
    )
    endpoints = details.get("endpoints") if isinstance(details, dict) else None
    if not isinstance(endpoints, list):
        raise PartnerApiUnusable(f"Version details {version_url} have no endpoint list")
    cleaned: dict[tuple[str, str], dict] = {}
    for endpoint in endpoints:
        if not (
            isinstance(endpoint, dict)
            and isinstance(endpoint.get("identifier"), str)
            and 0 < len(endpoint["identifier"]) <= 32
            and valid_url(endpoint.get("url"))
        ):
            raise PartnerApiUnusable(
                f"Version details {version_url} contain an invalid endpoint: {endpoint!r:.200}"
            )
        check_url(endpoint["url"], what=f"Endpoint {endpoint['identifier']}")
        role = endpoint.get("role")
        if endpoint["identifier"] == ModuleID.CREDENTIALS:
            # Its role means nothing: the spec advises SENDER, its own example shows RECEIVER.
            role = InterfaceRole.SENDER
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
    if discovery.url(ModuleID.CREDENTIALS) is None:
        raise MissingEndpoints(
            f"Version details {version_url} publish no credentials endpoint, "
            "which every OCPI platform must have"
        )
    return discovery


def store_discovery(partner: Partner, discovery: Discovery, roles: list[dict]) -> None:
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


def locations_receiver_url(discovery: Discovery) -> str | None:
    return discovery.url(ModuleID.LOCATIONS, InterfaceRole.RECEIVER)
