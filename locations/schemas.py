"""The objects of the OCPI 2.2.1 Locations module as JSON Schema, each written once.

OCPI 2.2.1, Locations module: 8.3 Object description (Location, EVSE, Connector) and
8.4 Data types (the classes and enums). Read by:
- locations/openapi.py: the OpenAPI components of /api/schema/;
- locations/validators.py: the validation of the stored sub-objects (JSON columns) at every
  save, through `versions.schema_validation`.

The conventions (omission rules, `additionalProperties: false`) are those of
`versions.schema_types`. Rules between members that JSON Schema cannot say cleanly are the
functions of RULES, run after the schema check of their class; the spec's words are quoted
where they come from.
"""

from versions.datetimes import parse_ocpi_datetime
from versions.schema_types import COMPONENTS as OCPI_TYPES
from versions.schema_types import (
    COUNTRY_CODE_PATTERN,
    ID_PATTERN,
    PARTY_ID_PATTERN,
    cistring,
    enum,
    list_of,
    obj,
    patterned,
    ref,
    string,
    url,
)
from versions.schema_validation import SchemaError

from . import coordinates, enums

LATITUDE_PATTERN = r"^-?[0-9]{1,2}\.[0-9]{5,7}$"
LONGITUDE_PATTERN = r"^-?[0-9]{1,3}\.[0-9]{5,7}$"
HOUR_PATTERN = r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$"

# --- 8.4 Data types: enums ---------------------------------------------------------------------

ENUMS = {
    "Capability": enum(
        enums.Capability,
        "What an EVSE can do (OCPI 2.2.1, Locations module, 8.4.3 Capability enum).",
    ),
    "ConnectorFormat": enum(enums.ConnectorFormat, "Socket, or a cable attached."),
    "ConnectorType": enum(
        enums.ConnectorType,
        "Plug or socket standard. The four IEC_60309_2_* values are mixed case.",
    ),
    "EnergySourceCategory": enum(enums.EnergySourceCategory, "Kind of energy source."),
    "EnvironmentalImpactCategory": enum(
        enums.EnvironmentalImpactCategory, "Kind of environmental impact."
    ),
    "Facility": enum(enums.Facility, "A facility the Location belongs to."),
    "ImageCategory": enum(enums.ImageCategory, "What an Image shows."),
    "ParkingRestriction": enum(enums.ParkingRestriction, "Restriction of a parking spot."),
    "ParkingType": enum(enums.ParkingType, "General kind of parking at the Location."),
    "PowerType": enum(enums.PowerType, "AC phases or DC."),
    "Status": enum(enums.Status, "Status of an EVSE; REMOVED is the 'delete'."),
    "TokenType": enum(enums.TokenType, "Type of a Token (OCPI 2.2.1, Tokens module)."),
}

# --- 8.4 Data types: classes -------------------------------------------------------------------

# OCPI 2.2.1, Locations module, GeoLocation class: the spec's patterns; the ranges, which a
# pattern cannot say, are a rule (`_point_rule`).
_POINT = {
    "latitude": patterned(
        LATITUDE_PATTERN,
        coordinates.MAX_LENGTHS["latitude"],
        "52.089444",
        description="Decimal degrees, -90 to 90.",
    ),
    "longitude": patterned(
        LONGITUDE_PATTERN,
        coordinates.MAX_LENGTHS["longitude"],
        "5.110278",
        description="Decimal degrees, -180 to 180.",
    ),
}

CLASSES = {
    # 8.4.1 AdditionalGeoLocation class
    "AdditionalGeoLocation": obj(
        _POINT,
        {"name": ref("DisplayText")},
        description="Another relevant point of the Location, e.g. an entrance.",
    ),
    # 8.4.2 BusinessDetails class
    "BusinessDetails": obj(
        {"name": string(100, optional=True)},
        {"website": url(), "logo": ref("Image")},
    ),
    # 8.4.6 EnergyMix class
    "EnergyMix": obj(
        {"is_green_energy": {"type": "boolean"}},
        {
            "energy_sources": list_of(ref("EnergySource")),
            "environ_impact": list_of(ref("EnvironmentalImpact")),
            "supplier_name": string(64, optional=True),
            "energy_product_name": string(64, optional=True),
        },
    ),
    # 8.4.7 EnergySource class
    "EnergySource": obj(
        {
            "source": ref("EnergySourceCategory"),
            "percentage": {"type": "number", "minimum": 0, "maximum": 100},
        }
    ),
    # 8.4.9 EnvironmentalImpact class
    "EnvironmentalImpact": obj(
        {
            "category": ref("EnvironmentalImpactCategory"),
            "amount": {"type": "number", "minimum": 0, "description": "g/kWh"},
        }
    ),
    # 8.4.11 ExceptionalPeriod class
    "ExceptionalPeriod": obj(
        {"period_begin": ref("OcpiDateTime"), "period_end": ref("OcpiDateTime")}
    ),
    # 8.4.13 GeoLocation class
    "GeoLocation": obj(
        _POINT, description="WGS 84 point; decimal degrees as strings, 5 to 7 decimals."
    ),
    # 8.4.14 Hours class
    "Hours": obj(
        {"twentyfourseven": {"type": "boolean"}},
        {
            "regular_hours": list_of(ref("RegularHours")),
            "exceptional_openings": list_of(ref("ExceptionalPeriod")),
            "exceptional_closings": list_of(ref("ExceptionalPeriod")),
        },
        description="Opening times; regular_hours only (and then at least one) when "
        "twentyfourseven is false.",
    ),
    # 8.4.15 Image class
    "Image": obj(
        {
            "url": url("Where the full image can be fetched."),
            "category": ref("ImageCategory"),
            "type": cistring(4, description="Image format, e.g. jpeg, png.", min_length=1),
        },
        {
            "thumbnail": url("Where a thumbnail can be fetched."),
            "width": {"type": "integer", "minimum": 0, "maximum": 99999},
            "height": {"type": "integer", "minimum": 0, "maximum": 99999},
        },
    ),
    # 8.4.20 PublishTokenType class
    "PublishTokenType": obj(
        {},
        {
            "uid": cistring(36, min_length=1),
            "type": ref("TokenType"),
            "visual_number": string(64, optional=True),
            "issuer": string(64, optional=True),
            "group_id": cistring(36, min_length=1),
        },
        description="A token whose owner may see a Location with publish=false. At least one "
        "of uid, visual_number, group_id is set; type goes with uid, issuer with visual_number.",
    ),
    # 8.4.21 RegularHours class
    "RegularHours": obj(
        {
            "weekday": {
                "type": "integer",
                "minimum": 1,
                "maximum": 7,
                "description": "1 = Monday, 7 = Sunday",
            },
            "period_begin": patterned(HOUR_PATTERN, 5, "07:00"),
            "period_end": patterned(HOUR_PATTERN, 5, "23:00"),
        },
        description="Weekly opening hours, local time; weekday 1 = Monday.",
    ),
    # 8.4.23 StatusSchedule class
    "StatusSchedule": obj(
        {"period_begin": ref("OcpiDateTime"), "status": ref("Status")},
        {"period_end": ref("OcpiDateTime")},
    ),
}


# --- Rules between members ---------------------------------------------------------------------


def _publish_token_rule(value: dict, path: str) -> None:
    # 8.4.20: "At least one of the following fields SHALL be set: uid, visual_number, or
    # group_id. When uid is set, type SHALL also be set. When visual_number is set, issuer
    # SHALL also be set."
    if not any(value.get(k) for k in ("uid", "visual_number", "group_id")):
        raise SchemaError(path, "set at least one of uid, visual_number or group_id")
    if value.get("uid") and not value.get("type"):
        raise SchemaError(f"{path}.type", "is required when uid is set")
    if value.get("visual_number") and not value.get("issuer"):
        raise SchemaError(f"{path}.issuer", "is required when visual_number is set")


def _regular_hours_rule(value: dict, path: str) -> None:
    # 8.4.21: period_end "Must be later than period_begin" (HH:MM texts compare as times).
    if value["period_end"] <= value["period_begin"]:
        raise SchemaError(f"{path}.period_end", "must be later than period_begin")


def _period_rule(value: dict, path: str) -> None:
    """ExceptionalPeriod and StatusSchedule: an end, when given, after the begin."""
    end = value.get("period_end")
    if end and parse_ocpi_datetime(end) <= parse_ocpi_datetime(value["period_begin"]):
        raise SchemaError(f"{path}.period_end", "must be later than period_begin")


def _hours_rule(value: dict, path: str) -> None:
    # 8.4.14: regular_hours "Only to be used if twentyfourseven=false, then this field needs
    # to contain at least one RegularHours object."
    prefix = f"{path}." if path else ""
    if value["twentyfourseven"] and value.get("regular_hours"):
        raise SchemaError(f"{prefix}regular_hours", "must be left out when twentyfourseven is true")
    if not value["twentyfourseven"] and not value.get("regular_hours"):
        raise SchemaError(
            f"{prefix}regular_hours", "needs at least one entry when twentyfourseven is false"
        )


def _point_rule(value: dict, path: str) -> None:
    # GeoLocation and AdditionalGeoLocation: the patterns allow latitude 95 and longitude
    # 200; a point on Earth is within -90..90 and -180..180 (`locations.coordinates`).
    prefix = f"{path}." if path else ""
    for name in ("latitude", "longitude"):
        problem = coordinates.range_problem(name, value[name])
        if problem:
            raise SchemaError(f"{prefix}{name}", problem)


def _energy_mix_rule(value: dict, path: str) -> None:
    # 8.4.7: "All given values of all categories should add up to 100 percent."
    sources = value.get("energy_sources") or []
    if sources and abs(sum(s["percentage"] for s in sources) - 100) > 0.01:
        prefix = f"{path}." if path else ""
        raise SchemaError(f"{prefix}energy_sources", "percentages must add up to 100")


RULES = {
    "AdditionalGeoLocation": _point_rule,
    "EnergyMix": _energy_mix_rule,
    "ExceptionalPeriod": _period_rule,
    "GeoLocation": _point_rule,
    "Hours": _hours_rule,
    "PublishTokenType": _publish_token_rule,
    "RegularHours": _regular_hours_rule,
    "StatusSchedule": _period_rule,
}

# --- 8.3 Object description: Location, EVSE, Connector -----------------------------------------

_ID = {"type": "string", "maxLength": 36, "pattern": ID_PATTERN}

OBJECTS = {
    "Connector": obj(
        {
            "id": _ID,
            "standard": ref("ConnectorType"),
            "format": ref("ConnectorFormat"),
            "power_type": ref("PowerType"),
            "max_voltage": {"type": "integer", "minimum": 0, "description": "Volts."},
            "max_amperage": {"type": "integer", "minimum": 0, "description": "Amperes."},
            "last_updated": ref("OcpiDateTime"),
        },
        {
            "max_electric_power": {"type": "integer", "minimum": 0, "description": "Watts."},
            "tariff_ids": list_of(cistring(36, min_length=1), unique=True),
            "terms_and_conditions": url(),
        },
        description="A Connector of an EVSE (OCPI 2.2.1, Locations module, "
        "8.3.3 Connector Object).",
    ),
    "EVSE": obj(
        {
            "uid": _ID,
            "status": ref("Status"),
            "connectors": list_of(ref("Connector")),
            "last_updated": ref("OcpiDateTime"),
        },
        {
            "evse_id": cistring(
                48, description="eMI3 EVSE ID, e.g. NL*ABC*E12345*1.", min_length=1
            ),
            "status_schedule": list_of(ref("StatusSchedule")),
            "capabilities": list_of(ref("Capability"), unique=True),
            "floor_level": string(4, optional=True),
            "coordinates": ref("GeoLocation"),
            "physical_reference": string(16, optional=True),
            "directions": list_of(ref("DisplayText")),
            "parking_restrictions": list_of(ref("ParkingRestriction"), unique=True),
            "images": list_of(ref("Image")),
        },
        description="An EVSE with its Connectors (OCPI 2.2.1, Locations module, "
        "8.3.2 EVSE Object).",
    ),
    "Location": obj(
        {
            "country_code": {"type": "string", "pattern": COUNTRY_CODE_PATTERN, "maxLength": 2},
            "party_id": {"type": "string", "pattern": PARTY_ID_PATTERN, "maxLength": 3},
            "id": _ID,
            "publish": {"type": "boolean"},
            "address": string(255),
            "city": string(45),
            "country": {
                "type": "string",
                "pattern": "^[A-Z]{3}$",
                "maxLength": 3,
                "description": "ISO 3166-1 alpha-3.",
            },
            "coordinates": ref("GeoLocation"),
            "evses": list_of(
                ref("EVSE"),
                min_items=0,
                description="Always present; [] when the Location has no EVSEs.",
            ),
            "time_zone": string(255, description="IANA time zone, e.g. Europe/Amsterdam."),
            "last_updated": ref("OcpiDateTime"),
        },
        {
            "publish_allowed_to": list_of(ref("PublishTokenType")),
            "name": string(255, optional=True),
            "postal_code": string(10, optional=True),
            "state": string(45, optional=True),
            "related_locations": list_of(ref("AdditionalGeoLocation")),
            "parking_type": ref("ParkingType"),
            "directions": list_of(ref("DisplayText")),
            "operator": ref("BusinessDetails"),
            "suboperator": ref("BusinessDetails"),
            "owner": ref("BusinessDetails"),
            "facilities": list_of(ref("Facility"), unique=True),
            "opening_times": ref("Hours"),
            "charging_when_closed": {"type": "boolean"},
            "images": list_of(ref("Image")),
            "energy_mix": ref("EnergyMix"),
        },
        description="A Location with all its EVSEs and Connectors (OCPI 2.2.1, Locations "
        "module, 8.3.1 Location Object). Optional fields without a value are left out, never "
        "sent empty or null.",
    ),
}

COMPONENTS = {**ENUMS, **CLASSES, **OBJECTS}
# Everything a `$ref` of this module can name: its own classes and the OCPI types.
DEFINITIONS = {**OCPI_TYPES, **COMPONENTS}
