"""Our own parties: the CPO country_code/party_id pairs this platform runs (OCPI 2.2.1,
Credentials module, CredentialsRole class: "the same role may appear multiple times with
different country_code/party_id", e.g. a CPO platform hosting white-label CPOs).

Configured by `OCPI_PARTIES` (a JSON list), or by the one-party shorthand
`OCPI_COUNTRY_CODE`/`OCPI_PARTY_ID`/`OCPI_BUSINESS_NAME`/`OCPI_BUSINESS_WEBSITE`. The first
party is the primary one: it speaks for the platform where no Location names a party (an
answer to a request that addressed none of ours).
"""

import json
import re
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_COUNTRY_CODE = re.compile(r"^[A-Za-z]{2}$")
_PARTY_ID = re.compile(r"^[A-Za-z0-9]{3}$")


@dataclass(frozen=True)
class OurParty:
    country_code: str
    party_id: str
    name: str
    website: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.country_code, self.party_id)

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id}"


@lru_cache(maxsize=8)
def _parse(raw: str) -> tuple[OurParty, ...]:
    try:
        items = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"OCPI_PARTIES must be a JSON list: {exc}") from None
    if not isinstance(items, list) or not items:
        raise ImproperlyConfigured("OCPI_PARTIES must be a non-empty JSON list of parties")
    parties: list[OurParty] = []
    for n, item in enumerate(items):
        where = f"OCPI_PARTIES[{n}]"
        if not isinstance(item, dict):
            raise ImproperlyConfigured(f"{where} must be an object")
        country, party = str(item.get("country_code", "")), str(item.get("party_id", ""))
        name, website = item.get("name"), item.get("website") or ""
        if not _COUNTRY_CODE.match(country):
            raise ImproperlyConfigured(f"{where}.country_code must be 2 letters, got {country!r}")
        if not _PARTY_ID.match(party):
            raise ImproperlyConfigured(
                f"{where}.party_id must be 3 letters or digits, got {party!r}"
            )
        if not isinstance(name, str) or not 0 < len(name) <= 100:
            raise ImproperlyConfigured(f"{where}.name (business name, 1-100 characters) is needed")
        if not isinstance(website, str):
            raise ImproperlyConfigured(f"{where}.website must be a URL")
        parsed = OurParty(country.upper(), party.upper(), name, website)
        if parsed.key in {p.key for p in parties}:
            raise ImproperlyConfigured(f"{where}: {parsed} is listed twice")
        parties.append(parsed)
    return tuple(parties)


def our_parties() -> tuple[OurParty, ...]:
    """Every CPO party of this platform, the primary one first."""
    raw = getattr(settings, "OCPI_PARTIES", "").strip()
    if raw:
        return _parse(raw)
    return (
        OurParty(
            settings.OCPI_COUNTRY_CODE.upper(),
            settings.OCPI_PARTY_ID.upper(),
            settings.OCPI_BUSINESS_NAME,
            getattr(settings, "OCPI_BUSINESS_WEBSITE", ""),
        ),
    )


def primary_party() -> OurParty:
    return our_parties()[0]


def our_party(country_code: str, party_id: str) -> OurParty | None:
    """The party of ours with this country_code/party_id (case-blind: CiStrings), or None."""
    key = (country_code.upper(), party_id.upper())
    return next((p for p in our_parties() if p.key == key), None)


def our_parties_text() -> str:
    return ", ".join(str(p) for p in our_parties())
