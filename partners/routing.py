"""Who our messages to a partner are addressed to: the OCPI-to-* / OCPI-from-* headers of
functional modules (OCPI 2.2.1, Transport and format, "Message Routing").

One rule for every message we send or answer to a partner — a pull answer that names no
requesting party and every push use `addressee` — so a partner with several roles sees the
same addressee both ways.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from versions.parties import primary_party

from .models import Partner, PartnerRole, Role


@dataclass(frozen=True)
class Party:
    country_code: str
    party_id: str


def addressee(roles: Iterable[PartnerRole]) -> Party | None:
    """The party of a partner that our messages go to: its HUB role when it has one, else
    its eMSP role, else its first role (the oldest); None for a partner without roles.

    Why a hub first: a push to a hub is a broadcast push, addressed to the hub itself
    (OCPI 2.2.1, Transport and format, Message Routing, "Broadcast Push": request
    requester→hub, OCPI-to = the hub), which passes it on to every connected party that may
    receive Locations — also to the eMSP role of a platform that is both. Why eMSP next: we
    are a CPO, and the counterpart of our functional modules (Locations and the other
    CPO-owned data) is the eMSP; a platform that is also a CPO receives our Locations as eMSP.
    """
    rank: dict[str, int] = {Role.HUB: 0, Role.EMSP: 1}
    ordered = sorted(roles, key=lambda r: (rank.get(r.role, 2), r.pk))
    if not ordered:
        return None
    return Party(ordered[0].country_code.upper(), ordered[0].party_id.upper())


def partner_addressee(partner: Partner) -> Party | None:
    return addressee(partner.roles.all())


def routing_headers(to: Party | None, sender: Party | None = None) -> dict[str, str]:
    """OCPI-from-* (`sender`: one of our parties, by default the primary one) and, when
    known, OCPI-to-* (`to`) for a functional-module message.

    Configuration modules (versions, credentials, hubclientinfo) must not carry them.
    """
    if sender is None:
        primary = primary_party()
        sender = Party(primary.country_code, primary.party_id)
    headers = {
        "OCPI-from-country-code": sender.country_code.upper(),
        "OCPI-from-party-id": sender.party_id.upper(),
    }
    if to is not None:
        headers["OCPI-to-country-code"] = to.country_code
        headers["OCPI-to-party-id"] = to.party_id
    return headers


def sent_by(routing: dict[str, str], sender: Party) -> dict[str, str]:
    """`routing` with OCPI-from-* naming `sender`: a push of a Location comes from the party
    that owns it (OCPI 2.2.1, Transport and format, Message Routing: FROM is the requesting
    party; the URL segments of a Client Owned Object carry the same owner)."""
    return {
        **routing,
        "OCPI-from-country-code": sender.country_code.upper(),
        "OCPI-from-party-id": sender.party_id.upper(),
    }
