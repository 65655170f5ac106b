"""Validation of OCPI values and sub-objects (locations.md §6-10, transport.md §11).

Sub-objects are stored as JSON; each is checked against a small declarative schema so that
an operator gets one readable message naming the exact place of the problem, e.g.
"opening_times.regular_hours[0].period_end: must be later than period_begin".
"""

import re
import zoneinfo
from collections.abc import Callable
from functools import cache
from typing import Any

import pycountry
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from versions.datetimes import parse_ocpi_datetime

from . import enums

LATITUDE_RE = re.compile(r"^-?[0-9]{1,2}\.[0-9]{5,7}$")
LONGITUDE_RE = re.compile(r"^-?[0-9]{1,3}\.[0-9]{5,7}$")
HOUR_RE = re.compile(r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")
# eMI3 / ISO 15118 EVSE ID (e.g. NL*ABC*E12345*1), and the older DIN SPEC 91286 form
# (e.g. +49*810*000*438); separators optional in the ISO form. Case-insensitive (CiString).
EVSE_ID_RE = re.compile(
    r"^(?:[A-Z]{2}\*?[A-Z0-9]{3}\*?E[A-Z0-9*]{1,30}|\+?[0-9]{1,3}\*[0-9]{3}\*[0-9*]{1,32})$",
    re.IGNORECASE,
)
_url_validator = URLValidator(schemes=["http", "https"])


class SchemaError(Exception):
    def __init__(self, path: str, message: str) -> None:
        self.path, self.message = path, message
        super().__init__(f"{path}: {message}" if path else message)


Checker = Callable[[Any, str], None]


def _is_printable(value: str) -> bool:
    return value.isprintable()


def string(max_length: int, *, ascii_only: bool = False) -> Checker:
    """string(n) (printable UTF-8) or, with ascii_only, CiString(n) (printable ASCII)."""

    def check(value, path):
        if not isinstance(value, str):
            raise SchemaError(path, "must be a text")
        if len(value) > max_length:
            raise SchemaError(path, f"at most {max_length} characters (it has {len(value)})")
        if not _is_printable(value):
            raise SchemaError(path, "must not contain control characters (line breaks, tabs)")
        if ascii_only and not value.isascii():
            raise SchemaError(path, "only ASCII characters are allowed")

    return check


def non_empty(checker: Checker) -> Checker:
    def check(value, path):
        checker(value, path)
        if isinstance(value, str) and not value.strip():
            raise SchemaError(path, "must not be empty")

    return check


def enum(choices: type) -> Checker:
    def check(value, path):
        if value not in choices.values:
            allowed = ", ".join(choices.values)
            raise SchemaError(path, f"{value!r} is not one of: {allowed}")

    return check


def boolean(value, path):
    if not isinstance(value, bool):
        raise SchemaError(path, "must be true or false")


def integer(max_digits: int | None = None, *, minimum: int = 0) -> Checker:
    def check(value, path):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaError(path, "must be a whole number")
        if value < minimum:
            raise SchemaError(path, f"must be at least {minimum}")
        if max_digits is not None and len(str(abs(value))) > max_digits:
            raise SchemaError(path, f"at most {max_digits} digits")

    return check


def number(*, minimum: float | None = None, maximum: float | None = None) -> Checker:
    def check(value, path):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SchemaError(path, "must be a number")
        if minimum is not None and value < minimum:
            raise SchemaError(path, f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise SchemaError(path, f"must be at most {maximum}")

    return check


def url(value, path):
    string(255)(value, path)
    try:
        _url_validator(value)
    except ValidationError:
        raise SchemaError(path, f"{value!r} is not a valid http(s) URL") from None


def datetime_string(value, path):
    if not isinstance(value, str):
        raise SchemaError(path, "must be a DateTime text such as 2024-03-01T10:00:00Z")
    try:
        parse_ocpi_datetime(value)
    except ValueError:
        raise SchemaError(
            path, f"{value!r} is not a UTC DateTime such as 2024-03-01T10:00:00Z"
        ) from None


def pattern(regex: re.Pattern, max_length: int, example: str) -> Checker:
    def check(value, path):
        string(max_length)(value, path)
        if not regex.match(value):
            raise SchemaError(path, f"{value!r} does not match the required format, e.g. {example}")

    return check


def list_of(item: Checker, *, min_items: int = 0, unique: bool = False) -> Checker:
    def check(value, path):
        if not isinstance(value, list):
            raise SchemaError(path, "must be a list")
        if len(value) < min_items:
            raise SchemaError(
                path, f"needs at least {min_items} entr{'y' if min_items == 1 else 'ies'}"
            )
        for index, element in enumerate(value):
            item(element, f"{path}[{index}]")
        if unique and len({repr(v) for v in value}) != len(value):
            raise SchemaError(path, "contains the same value twice")

    return check


def obj(
    required: dict[str, Checker],
    optional: dict[str, Checker] | None = None,
    rules: Callable[[dict, str], None] | None = None,
) -> Checker:
    optional = optional or {}

    def check(value, path):
        if not isinstance(value, dict):
            raise SchemaError(path, "must be an object")
        prefix = f"{path}." if path else ""
        unknown = set(value) - set(required) - set(optional)
        if unknown:
            raise SchemaError(path, f"unknown field(s): {', '.join(sorted(unknown))}")
        for name, checker in required.items():
            if value.get(name) is None:
                raise SchemaError(f"{prefix}{name}", "is required")
            checker(value[name], f"{prefix}{name}")
        for name, checker in optional.items():
            if value.get(name) is not None:
                checker(value[name], f"{prefix}{name}")
        if rules:
            rules(value, path)

    return check


# --- The classes of locations.md §9 -------------------------------------------------------

display_text = obj({"language": pattern(re.compile(r"^[a-z]{2}$"), 2, "en"), "text": string(512)})

geo_location = obj(
    {
        "latitude": pattern(LATITUDE_RE, 10, "52.089444"),
        "longitude": pattern(LONGITUDE_RE, 11, "5.110278"),
    }
)

additional_geo_location = obj(
    {
        "latitude": pattern(LATITUDE_RE, 10, "52.089444"),
        "longitude": pattern(LONGITUDE_RE, 11, "5.110278"),
    },
    {"name": display_text},
)

image = obj(
    {"url": url, "category": enum(enums.ImageCategory), "type": string(4, ascii_only=True)},
    {"thumbnail": url, "width": integer(5), "height": integer(5)},
)

business_details = obj({"name": non_empty(string(100))}, {"website": url, "logo": image})


def _publish_token_rules(value, path):
    if not any(value.get(k) for k in ("uid", "visual_number", "group_id")):
        raise SchemaError(path, "set at least one of uid, visual_number or group_id")
    if value.get("uid") and not value.get("type"):
        raise SchemaError(f"{path}.type", "is required when uid is set")
    if value.get("visual_number") and not value.get("issuer"):
        raise SchemaError(f"{path}.issuer", "is required when visual_number is set")


publish_token_type = obj(
    {},
    {
        "uid": string(36, ascii_only=True),
        "type": enum(enums.TokenType),
        "visual_number": string(64),
        "issuer": string(64),
        "group_id": string(36, ascii_only=True),
    },
    _publish_token_rules,
)


def _regular_hours_rules(value, path):
    if value["period_end"] <= value["period_begin"]:
        raise SchemaError(f"{path}.period_end", "must be later than period_begin")


regular_hours = obj(
    {
        "weekday": lambda v, p: _weekday(v, p),
        "period_begin": pattern(HOUR_RE, 5, "07:00"),
        "period_end": pattern(HOUR_RE, 5, "23:00"),
    },
    rules=_regular_hours_rules,
)


def _weekday(value, path):
    integer(1)(value, path)
    if not 1 <= value <= 7:
        raise SchemaError(path, "must be 1 (Monday) to 7 (Sunday)")


def _period_rules(value, path):
    if parse_ocpi_datetime(value["period_end"]) <= parse_ocpi_datetime(value["period_begin"]):
        raise SchemaError(f"{path}.period_end", "must be later than period_begin")


exceptional_period = obj(
    {"period_begin": datetime_string, "period_end": datetime_string}, rules=_period_rules
)


def _hours_rules(value, path):
    prefix = f"{path}." if path else ""
    if value["twentyfourseven"] and value.get("regular_hours"):
        raise SchemaError(f"{prefix}regular_hours", "must be empty when twentyfourseven is true")
    if not value["twentyfourseven"] and not value.get("regular_hours"):
        raise SchemaError(
            f"{prefix}regular_hours", "needs at least one entry when twentyfourseven is false"
        )


hours = obj(
    {"twentyfourseven": boolean},
    {
        "regular_hours": list_of(regular_hours),
        "exceptional_openings": list_of(exceptional_period),
        "exceptional_closings": list_of(exceptional_period),
    },
    _hours_rules,
)

energy_source = obj(
    {"source": enum(enums.EnergySourceCategory), "percentage": number(minimum=0, maximum=100)}
)
environmental_impact = obj(
    {"category": enum(enums.EnvironmentalImpactCategory), "amount": number(minimum=0)}
)


def _energy_mix_rules(value, path):
    sources = value.get("energy_sources") or []
    if sources and abs(sum(s["percentage"] for s in sources) - 100) > 0.01:
        raise SchemaError(
            f"{path}.energy_sources" if path else "energy_sources", "percentages must add up to 100"
        )


energy_mix = obj(
    {"is_green_energy": boolean},
    {
        "energy_sources": list_of(energy_source),
        "environ_impact": list_of(environmental_impact),
        "supplier_name": string(64),
        "energy_product_name": string(64),
    },
    _energy_mix_rules,
)


def _status_schedule_rules(value, path):
    if value.get("period_end") and parse_ocpi_datetime(value["period_end"]) <= parse_ocpi_datetime(
        value["period_begin"]
    ):
        raise SchemaError(f"{path}.period_end", "must be later than period_begin")


status_schedule = obj(
    {"period_begin": datetime_string, "status": enum(enums.Status)},
    {"period_end": datetime_string},
    _status_schedule_rules,
)

tariff_id = non_empty(string(36, ascii_only=True))


# --- Django validators built from the schemas ---------------------------------------------


def django_validator(checker: Checker, field_name: str) -> Callable[[Any], None]:
    """A model-field validator; messages start with the field's OCPI name."""

    def validate(value):
        try:
            checker(value, field_name)
        except SchemaError as exc:
            # Not code="invalid": Django would swap the message for the field's generic one.
            raise ValidationError(str(exc), code="ocpi") from None

    validate.__name__ = validate.__qualname__ = f"validate_{field_name}"
    # Django's migration serializer needs validators to be importable by path; these are
    # built at import time and exposed as module attributes below.
    return validate


validate_coordinates = django_validator(geo_location, "coordinates")
validate_related_locations = django_validator(list_of(additional_geo_location), "related_locations")
validate_directions = django_validator(list_of(display_text), "directions")
validate_operator = django_validator(business_details, "operator")
validate_suboperator = django_validator(business_details, "suboperator")
validate_owner = django_validator(business_details, "owner")
validate_facilities = django_validator(list_of(enum(enums.Facility), unique=True), "facilities")
validate_opening_times = django_validator(hours, "opening_times")
validate_images = django_validator(list_of(image), "images")
validate_energy_mix = django_validator(energy_mix, "energy_mix")
validate_publish_allowed_to = django_validator(list_of(publish_token_type), "publish_allowed_to")
validate_status_schedule = django_validator(list_of(status_schedule), "status_schedule")
validate_capabilities = django_validator(
    list_of(enum(enums.Capability), unique=True), "capabilities"
)
validate_parking_restrictions = django_validator(
    list_of(enum(enums.ParkingRestriction), unique=True), "parking_restrictions"
)
validate_tariff_ids = django_validator(list_of(tariff_id, unique=True), "tariff_ids")


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
