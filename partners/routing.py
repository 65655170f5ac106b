"""Who our messages to a partner are addressed to: the OCPI-to-* / OCPI-from-* headers of
functional modules (OCPI 2.2.1, Transport and format, "Message Routing").

One rule for every message we send or answer to a partner — a pull answer that names no
requesting party and every push use `addressee` — so a partner with several roles sees the
same addressee both ways.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from .models import Partner, PartnerRole, Role


@dataclass(frozen=True)
class Party:
    country_code: str
    party_id: str


def addressee(roles: Iterable[PartnerRole]) -> Party | None:
    """The party of a partner that our messages go to: its eMSP role when it has one, else
    its first role (the oldest); None for a partner without roles.

    Why eMSP first: we are a CPO, and the counterpart of our functional modules (Locations
    and the other CPO-owned data) is the eMSP. A platform that is also a CPO or a hub still
    receives our Locations as eMSP.
    """
    ordered = sorted(roles, key=lambda r: (r.role != Role.EMSP, r.pk))
    if not ordered:
        return None
    return Party(ordered[0].country_code.upper(), ordered[0].party_id.upper())


def partner_addressee(partner: Partner) -> Party | None:
    return addressee(partner.roles.all())


def routing_headers(to: Party | None) -> dict[str, str]:
    """OCPI-from-* (us) and, when known, OCPI-to-* (`to`) for a functional-module message.

    Configuration modules (versions, credentials) must not carry them.
    """
    headers = {
        "OCPI-from-country-code": settings.OCPI_COUNTRY_CODE,
        "OCPI-from-party-id": settings.OCPI_PARTY_ID,
    }
    if to is not None:
        headers["OCPI-to-country-code"] = to.country_code
        headers["OCPI-to-party-id"] = to.party_id
    return headers
