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

from versions.schema_validation import SchemaError, SchemaSet

from . import schemas

# eMI3 / ISO 15118 EVSE ID (e.g. NL*ABC*E12345*1), and the older DIN SPEC 91286 form
# (e.g. +49*810*000*438); separators optional in the ISO form. Case-insensitive (CiString).
EVSE_ID_RE = re.compile(
    r"^(?:[A-Z]{2}\*?[A-Z0-9]{3}\*?E[A-Z0-9*]{1,30}|\+?[0-9]{1,3}\*[0-9]{3}\*[0-9*]{1,32})$",
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
            f"{value!r} is not an eMI3 EVSE ID such as NL*ABC*E12345*1 (ISO 15118 format)"
        )
