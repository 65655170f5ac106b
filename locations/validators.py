"""Validation of OCPI values and stored sub-objects (OCPI 2.2.1, Locations module, 8.3 Object
description and 8.4 Data types; Types, 16.1 CiString type and 16.7 string type).

A sub-object (a JSON column) is checked against the schema of its member in
`locations/schemas.py`, the same JSON Schema the OpenAPI document publishes, so that an
operator gets one readable message naming the exact place of the problem, e.g.
"opening_times.regular_hours[0].period_end: must be later than period_begin"
(`versions.schema_validation`). Plain columns have the small validators below.
"""

import re
import zoneinfo
from collections.abc import Callable
from functools import cache
from typing import Any

import pycountry
from django.core.exceptions import ValidationError

from versions.parties import our_parties_text, our_party
from versions.schema_validation import SchemaError, SchemaSet

from . import schemas

# eMI3 EVSE ID (OCPI 2.2.1, Locations module, 8.3.2 EVSE Object: `evse_id` refers to the
# eMI3 "Part 2: business objects" format, as ISO 15118): <country> [*] <operator> [*] E
# <power outlet id>, e.g. NL*ABC*E12345*1, where the power outlet id starts with a letter or
# digit (the `*` is only a separator; a receiver refuses NL*EXA*E*1). The older DIN SPEC
# 91286 form (+49*810*000*438) likewise: digits, then digits or separators.
# Case-insensitive (CiString). The one pattern: saves refuse what it refuses, and the
# data-quality rule `ocpi.evse_id_format` names rows stored before it was this strict.
EVSE_ID_RE = re.compile(
    r"^(?:[A-Z]{2}\*?[A-Z0-9]{3}\*?E[A-Z0-9][A-Z0-9*]{0,30}"
    r"|\+?[0-9]{1,3}\*[0-9]{3}\*[0-9][0-9*]{0,31})$",
    re.IGNORECASE,
)

LOCATIONS = SchemaSet(schemas.DEFINITIONS, schemas.RULES)


def member_validator(object_name: str, member: str) -> Callable[[Any], None]:
    """A model-field validator: the schema of `member` of the OCPI object `object_name`.

    Messages start with the member's OCPI name. Django runs no validator on an empty value
    (None, "", []), which the serializers leave out.
    """
    check = LOCATIONS.checker(schemas.OBJECTS[object_name]["properties"][member])

    def validate(value):
        try:
            check(value, member)
        except SchemaError as exc:
            # Not code="invalid": Django would swap the message for the field's generic one.
            raise ValidationError(str(exc), code="ocpi") from None

    # Django's migration serializer needs validators importable by path: these are module
    # attributes of this name.
    validate.__name__ = validate.__qualname__ = f"validate_{member}"
    return validate


# The Location's and the EVSE's coordinates, directions and images have the same schema.
validate_coordinates = member_validator("Location", "coordinates")
validate_related_locations = member_validator("Location", "related_locations")
validate_directions = member_validator("Location", "directions")
validate_operator = member_validator("Location", "operator")
validate_suboperator = member_validator("Location", "suboperator")
validate_owner = member_validator("Location", "owner")
validate_facilities = member_validator("Location", "facilities")
validate_opening_times = member_validator("Location", "opening_times")
validate_images = member_validator("Location", "images")
validate_energy_mix = member_validator("Location", "energy_mix")
validate_publish_allowed_to = member_validator("Location", "publish_allowed_to")
validate_status_schedule = member_validator("EVSE", "status_schedule")
validate_capabilities = member_validator("EVSE", "capabilities")
validate_parking_restrictions = member_validator("EVSE", "parking_restrictions")
validate_tariff_ids = member_validator("Connector", "tariff_ids")


def validate_printable(value: str) -> None:
    if not value.isprintable():
        raise ValidationError("must not contain control characters (line breaks, tabs)")


def validate_cistring(value: str) -> None:
    """CiString: printable ASCII only."""
    if not value.isascii() or not value.isprintable():
        raise ValidationError("only printable ASCII characters are allowed")


def validate_no_spaces(value: str) -> None:
    if value != value.strip() or " " in value:
        raise ValidationError("must not contain spaces")


# What an id (Location.id, EVSE.uid, Connector.id) may hold: the characters that stay
# themselves in a URL path segment, where OCPI puts these ids (OCPI 2.2.1, Locations module,
# Interfaces and endpoints: {location_id}/{evse_uid}/{connector_id} URL segments;
# CiString: printable ASCII). That is RFC 3986's unreserved characters and sub-delimiters
# plus ":" and "@", less ";" (servlet containers cut a path segment at ";"). "/" would
# split the segment, "?" and "#" end the path, "%" starts an escape that servers decode
# before routing, spaces and other characters need escapes that receivers undo differently.
URL_SAFE_ID_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@"
)
_CHARACTER_NAMES = {
    " ": "a space",
    "/": "'/'",
    "?": "'?'",
    "#": "'#'",
    "%": "'%'",
    "\\": "a backslash",
}


def validate_url_safe_id(value: str) -> None:
    """An id must survive a URL path segment unchanged (see URL_SAFE_ID_CHARACTERS)."""
    for character in value:
        if character not in URL_SAFE_ID_CHARACTERS:
            name = _CHARACTER_NAMES.get(character)
            if name is None:
                name = repr(character) if character.isprintable() else f"U+{ord(character):04X}"
            raise ValidationError(
                f"{name} is not allowed in an id: ids go into URL paths, so only letters, "
                "digits and - . _ ~ ! $ & ' ( ) * + , = : @ are allowed",
                code="url_unsafe",
            )
    if value in (".", ".."):
        raise ValidationError(
            f"{value!r} is not allowed as an id: URL paths read it as a directory step",
            code="url_unsafe",
        )


def validate_our_party(country_code: str, party_id: str) -> None:
    """A Location belongs to one of our CPO parties (`versions.parties`): a Location of a
    party we never announced in our credentials would reach partners under a country_code/
    party_id they cannot place (OCPI 2.2.1, Transport and format, Client Owned Objects)."""
    if not country_code or not party_id:
        return  # their own field errors say what is missing
    if our_party(country_code, party_id) is None:
        raise ValidationError(
            {
                "party_id": f"{country_code.upper()}*{party_id.upper()} is not one of our "
                f"parties ({our_parties_text()}); see OCPI_PARTIES"
            },
            code="not_our_party",
        )


@cache
def _alpha2_codes() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


@cache
def _alpha3_codes() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.countries)


def validate_country_code(value: str) -> None:
    """ISO 3166-1 alpha-2 (the CPO's country_code)."""
    if value.upper() not in _alpha2_codes():
        raise ValidationError(f"{value!r} is not an ISO 3166-1 alpha-2 country code, e.g. NL")


def validate_country(value: str) -> None:
    """ISO 3166-1 alpha-3 (the Location's country)."""
    if value not in _alpha3_codes():
        raise ValidationError(
            f"{value!r} is not an ISO 3166-1 alpha-3 country code in capitals, e.g. NLD"
        )


def validate_party_id(value: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9]{3}", value):
        raise ValidationError(f"{value!r} is not a party id: 3 letters or digits, e.g. ABC")


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in _time_zones():
        raise ValidationError(f"{value!r} is not an IANA time zone, e.g. Europe/Amsterdam")


def validate_evse_id(value: str) -> None:
    if not EVSE_ID_RE.match(value):
        raise ValidationError(
            f"{value!r} is not an eMI3 EVSE ID such as NL*ABC*E12345*1 (ISO 15118 format; "
            "the power outlet id after E starts with a letter or digit)"
        )
