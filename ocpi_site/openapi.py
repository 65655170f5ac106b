"""The OpenAPI 3 description of the OCPI endpoints (drf-spectacular), served at /api/schema/.

The OCPI views answer with `versions.envelope.OcpiResponse`, not with DRF serializers, so
drf-spectacular can infer nothing about them. Everything is declared here instead, and
attached to the view classes when this module is imported (ocpi_site/urls.py imports it):

- the OCPI objects (Location, EVSE, Connector, their classes and enums, Version, Endpoint,
  Credentials) as raw JSON Schema components, added by the postprocessing hook
  `add_ocpi_components` (SPECTACULAR_SETTINGS);
- per operation: the envelope for the success and for every error status the view can
  answer, request and response headers, query and path parameters.

The object schemas follow the omission rules of locations/serializers.py: required fields
(card. `1`/`+`) are `required`; an optional field is absent rather than empty or `null`, so a
present optional text has `minLength: 1` and a present optional list has `minItems: 1`;
`evses` is always present on a Location. tests/test_openapi.py validates the schema and
tests/test_fuzz.py checks real responses against it.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from locations import enums
from locations.api import LocationListView, LocationObjectView
from partners.models import Role
from partners.views import CredentialsView
from versions.registry import OCPI_VERSION
from versions.views import VersionDetailsView, VersionListView

# --- Building blocks -----------------------------------------------------------------------


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


# The DateTime we accept (versions.datetimes.parse_ocpi_datetime): UTC only, `Z` optional,
# up to 6 fraction digits. The field ranges are spelled out so that a value matching the
# pattern is (nearly) always a real moment; 2024-02-30 still matches and gets 400/2001.
DATETIME_PATTERN = (
    r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?Z?$"
)
# A Location id, EVSE uid or Connector id: CiString(36) without spaces (locations.api).
ID_PATTERN = r"^[\x21-\x7e]{1,36}$"
# Printable text: no control characters (string(n) of transport.md §11).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
# CiString: printable ASCII.
PRINTABLE_ASCII = r"^[\x20-\x7e]*$"
LATITUDE_PATTERN = r"^-?[0-9]{1,2}\.[0-9]{5,7}$"
LONGITUDE_PATTERN = r"^-?[0-9]{1,3}\.[0-9]{5,7}$"
HOUR_PATTERN = r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$"
COUNTRY_CODE_PATTERN = r"^[A-Za-z]{2}$"
PARTY_ID_PATTERN = r"^[A-Za-z0-9]{3}$"
# pagination.py: at most 18 digits.
MAX_PAGINATION_INT = 999_999_999_999_999_999


def _string(max_length: int, *, description: str = "", optional: bool = False) -> dict:
    """string(n): printable UTF-8; an optional one is left out rather than sent empty."""
    schema = {"type": "string", "maxLength": max_length, "pattern": PRINTABLE}
    if optional:
        schema["minLength"] = 1
    if description:
        schema["description"] = description
    return schema


def _cistring(max_length: int, *, description: str = "", min_length: int = 0) -> dict:
    schema = {"type": "string", "maxLength": max_length, "pattern": PRINTABLE_ASCII}
    if min_length:
        schema["minLength"] = min_length
    if description:
        schema["description"] = description
    return schema


def _url(description: str = "") -> dict:
    schema = {"type": "string", "format": "uri", "maxLength": 255}
    if description:
        schema["description"] = description
    return schema


def _list(items: dict, *, description: str = "", min_items: int = 1, unique: bool = False):
    schema = {"type": "array", "items": items, "minItems": min_items}
    if unique:
        schema["uniqueItems"] = True
    if description:
        schema["description"] = description
    return schema


def _object(required: dict, optional: dict | None = None, *, description: str = "") -> dict:
    schema = {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
        "additionalProperties": False,
    }
    if not required:
        del schema["required"]
    if description:
        schema["description"] = description
    return schema


def _enum(choices, description: str) -> dict:
    return {"type": "string", "enum": list(choices.values), "description": description}


# --- Components: the OCPI objects ------------------------------------------------------------

ENUMS = {
    "Capability": _enum(enums.Capability, "What an EVSE can do (locations.md §10)."),
    "ConnectorFormat": _enum(enums.ConnectorFormat, "Socket, or a cable attached."),
    "ConnectorType": _enum(
        enums.ConnectorType,
        "Plug or socket standard. The four IEC_60309_2_* values are mixed case.",
    ),
    "EnergySourceCategory": _enum(enums.EnergySourceCategory, "Kind of energy source."),
    "EnvironmentalImpactCategory": _enum(
        enums.EnvironmentalImpactCategory, "Kind of environmental impact."
    ),
    "Facility": _enum(enums.Facility, "A facility the Location belongs to."),
    "ImageCategory": _enum(enums.ImageCategory, "What an Image shows."),
    "ParkingRestriction": _enum(enums.ParkingRestriction, "Restriction of a parking spot."),
    "ParkingType": _enum(enums.ParkingType, "General kind of parking at the Location."),
    "PowerType": _enum(enums.PowerType, "AC phases or DC."),
    "Status": _enum(enums.Status, "Status of an EVSE; REMOVED is the 'delete'."),
    "TokenType": _enum(enums.TokenType, "Type of a Token (Tokens module)."),
    "Role": _enum(Role, "Role of a party (CredentialsRole)."),
    "InterfaceRole": {
        "type": "string",
        "enum": ["SENDER", "RECEIVER"],
        "description": "Which interface of a module an endpoint implements.",
    },
    "ModuleID": {
        "type": "string",
        "enum": [
            "cdrs",
            "chargingprofiles",
            "commands",
            "credentials",
            "hubclientinfo",
            "locations",
            "sessions",
            "tariffs",
            "tokens",
        ],
        "description": "OCPI module identifier.",
    },
    "VersionNumber": {
        "type": "string",
        "enum": [OCPI_VERSION],
        "description": "An OCPI version this server speaks.",
    },
}

DATETIME = {
    "type": "string",
    "maxLength": 25,
    "pattern": DATETIME_PATTERN,
    "description": "OCPI DateTime: RFC 3339, always UTC; this server sends it with `Z`, e.g. "
    "2024-03-01T10:00:00Z, or with milliseconds 2024-03-01T10:00:00.123Z.",
    "example": "2024-03-01T10:00:00Z",
}

OBJECTS = {
    "OcpiDateTime": DATETIME,
    "DisplayText": _object(
        {
            "language": {"type": "string", "pattern": "^[a-z]{2}$", "maxLength": 2},
            "text": _string(512),
        },
        description="Text in one language (ISO 639-1 code), no markup.",
    ),
    "GeoLocation": _object(
        {
            "latitude": {"type": "string", "maxLength": 10, "pattern": LATITUDE_PATTERN},
            "longitude": {"type": "string", "maxLength": 11, "pattern": LONGITUDE_PATTERN},
        },
        description="WGS 84 point; decimal degrees as strings, 5 to 7 decimals.",
    ),
    "AdditionalGeoLocation": _object(
        {
            "latitude": {"type": "string", "maxLength": 10, "pattern": LATITUDE_PATTERN},
            "longitude": {"type": "string", "maxLength": 11, "pattern": LONGITUDE_PATTERN},
        },
        {"name": _ref("DisplayText")},
        description="Another relevant point of the Location, e.g. an entrance.",
    ),
    "Image": _object(
        {
            "url": _url("Where the full image can be fetched."),
            "category": _ref("ImageCategory"),
            "type": _cistring(4, description="Image format, e.g. jpeg, png.", min_length=1),
        },
        {
            "thumbnail": _url("Where a thumbnail can be fetched."),
            "width": {"type": "integer", "minimum": 0, "maximum": 99999},
            "height": {"type": "integer", "minimum": 0, "maximum": 99999},
        },
    ),
    "BusinessDetails": _object(
        {"name": _string(100, optional=True)},
        {"website": _url(), "logo": _ref("Image")},
    ),
    "PublishTokenType": _object(
        {},
        {
            "uid": _cistring(36, min_length=1),
            "type": _ref("TokenType"),
            "visual_number": _string(64, optional=True),
            "issuer": _string(64, optional=True),
            "group_id": _cistring(36, min_length=1),
        },
        description="A token whose owner may see a Location with publish=false. At least one "
        "of uid, visual_number, group_id is set; type goes with uid, issuer with visual_number.",
    ),
    "RegularHours": _object(
        {
            "weekday": {"type": "integer", "minimum": 1, "maximum": 7},
            "period_begin": {"type": "string", "maxLength": 5, "pattern": HOUR_PATTERN},
            "period_end": {"type": "string", "maxLength": 5, "pattern": HOUR_PATTERN},
        },
        description="Weekly opening hours, local time; weekday 1 = Monday.",
    ),
    "ExceptionalPeriod": _object(
        {"period_begin": _ref("OcpiDateTime"), "period_end": _ref("OcpiDateTime")}
    ),
    "Hours": _object(
        {"twentyfourseven": {"type": "boolean"}},
        {
            "regular_hours": _list(_ref("RegularHours")),
            "exceptional_openings": _list(_ref("ExceptionalPeriod")),
            "exceptional_closings": _list(_ref("ExceptionalPeriod")),
        },
        description="Opening times; regular_hours only (and then at least one) when "
        "twentyfourseven is false.",
    ),
    "EnergySource": _object(
        {
            "source": _ref("EnergySourceCategory"),
            "percentage": {"type": "number", "minimum": 0, "maximum": 100},
        }
    ),
    "EnvironmentalImpact": _object(
        {
            "category": _ref("EnvironmentalImpactCategory"),
            "amount": {"type": "number", "minimum": 0, "description": "g/kWh"},
        }
    ),
    "EnergyMix": _object(
        {"is_green_energy": {"type": "boolean"}},
        {
            "energy_sources": _list(_ref("EnergySource")),
            "environ_impact": _list(_ref("EnvironmentalImpact")),
            "supplier_name": _string(64, optional=True),
            "energy_product_name": _string(64, optional=True),
        },
    ),
    "StatusSchedule": _object(
        {"period_begin": _ref("OcpiDateTime"), "status": _ref("Status")},
        {"period_end": _ref("OcpiDateTime")},
    ),
    "Connector": _object(
        {
            "id": {"type": "string", "maxLength": 36, "pattern": ID_PATTERN},
            "standard": _ref("ConnectorType"),
            "format": _ref("ConnectorFormat"),
            "power_type": _ref("PowerType"),
            "max_voltage": {"type": "integer", "minimum": 0, "description": "Volts."},
            "max_amperage": {"type": "integer", "minimum": 0, "description": "Amperes."},
            "last_updated": _ref("OcpiDateTime"),
        },
        {
            "max_electric_power": {"type": "integer", "minimum": 0, "description": "Watts."},
            "tariff_ids": _list(_cistring(36, min_length=1), unique=True),
            "terms_and_conditions": _url(),
        },
        description="A Connector of an EVSE (locations.md §8).",
    ),
    "EVSE": _object(
        {
            "uid": {"type": "string", "maxLength": 36, "pattern": ID_PATTERN},
            "status": _ref("Status"),
            "connectors": _list(_ref("Connector")),
            "last_updated": _ref("OcpiDateTime"),
        },
        {
            "evse_id": _cistring(
                48, description="eMI3 EVSE ID, e.g. NL*ABC*E12345*1.", min_length=1
            ),
            "status_schedule": _list(_ref("StatusSchedule")),
            "capabilities": _list(_ref("Capability"), unique=True),
            "floor_level": _string(4, optional=True),
            "coordinates": _ref("GeoLocation"),
            "physical_reference": _string(16, optional=True),
            "directions": _list(_ref("DisplayText")),
            "parking_restrictions": _list(_ref("ParkingRestriction"), unique=True),
            "images": _list(_ref("Image")),
        },
        description="An EVSE with its Connectors (locations.md §7).",
    ),
    "Location": _object(
        {
            "country_code": {"type": "string", "pattern": COUNTRY_CODE_PATTERN, "maxLength": 2},
            "party_id": {"type": "string", "pattern": PARTY_ID_PATTERN, "maxLength": 3},
            "id": {"type": "string", "maxLength": 36, "pattern": ID_PATTERN},
            "publish": {"type": "boolean"},
            "address": _string(255),
            "city": _string(45),
            "country": {
                "type": "string",
                "pattern": "^[A-Z]{3}$",
                "maxLength": 3,
                "description": "ISO 3166-1 alpha-3.",
            },
            "coordinates": _ref("GeoLocation"),
            "evses": _list(
                _ref("EVSE"),
                min_items=0,
                description="Always present; [] when the Location has no EVSEs.",
            ),
            "time_zone": _string(255, description="IANA time zone, e.g. Europe/Amsterdam."),
            "last_updated": _ref("OcpiDateTime"),
        },
        {
            "publish_allowed_to": _list(_ref("PublishTokenType")),
            "name": _string(255, optional=True),
            "postal_code": _string(10, optional=True),
            "state": _string(45, optional=True),
            "related_locations": _list(_ref("AdditionalGeoLocation")),
            "parking_type": _ref("ParkingType"),
            "directions": _list(_ref("DisplayText")),
            "operator": _ref("BusinessDetails"),
            "suboperator": _ref("BusinessDetails"),
            "owner": _ref("BusinessDetails"),
            "facilities": _list(_ref("Facility"), unique=True),
            "opening_times": _ref("Hours"),
            "charging_when_closed": {"type": "boolean"},
            "images": _list(_ref("Image")),
            "energy_mix": _ref("EnergyMix"),
        },
        description="A Location with all its EVSEs and Connectors (locations.md §6). Optional "
        "fields without a value are left out, never sent empty or null.",
    ),
    "Version": _object(
        {"version": _ref("VersionNumber"), "url": _url("The version details endpoint.")}
    ),
    "Endpoint": _object(
        {"identifier": _ref("ModuleID"), "role": _ref("InterfaceRole"), "url": _url()}
    ),
    "VersionDetails": _object(
        {"version": _ref("VersionNumber"), "endpoints": _list(_ref("Endpoint"))}
    ),
    "CredentialsRole": _object(
        {
            "role": _ref("Role"),
            "business_details": _ref("BusinessDetails"),
            "party_id": {"type": "string", "pattern": r"^[A-Za-z0-9]{1,3}$", "maxLength": 3},
            "country_code": {"type": "string", "pattern": COUNTRY_CODE_PATTERN, "maxLength": 2},
        }
    ),
    "Credentials": _object(
        {
            "token": {
                "type": "string",
                "pattern": r"^[\x21-\x7e]{1,64}$",
                "maxLength": 64,
                "description": "The plain credentials token the other party uses to call "
                "the party that sends this object (not Base64 here).",
            },
            "url": _url("The versions endpoint of the party that sends this object."),
            "roles": _list(_ref("CredentialsRole")),
        },
        description="versions-and-credentials.md §2.2. The roles of one object are unique by "
        "(role, country_code, party_id).",
    ),
}


def _envelope(data: dict | None, description: str) -> dict:
    properties = {}
    required = []
    if data is not None:
        properties["data"] = data
        required.append("data")
    properties.update(
        {
            "status_code": {"type": "integer", "enum": [1000]},
            "status_message": {"type": "string"},
            "timestamp": _ref("OcpiDateTime"),
        }
    )
    required += ["status_code", "status_message", "timestamp"]
    return {
        "type": "object",
        "description": description,
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


ENVELOPES = {
    "OcpiError": {
        "type": "object",
        "description": "The envelope of an error (transport.md §3-5): no data, or debugging "
        "data such as the fields that are wrong.",
        "required": ["status_code", "status_message", "timestamp"],
        "properties": {
            "data": {"description": "Debugging information, e.g. the invalid fields."},
            "status_code": {
                "type": "integer",
                "minimum": 2000,
                "maximum": 4999,
                "description": "OCPI status code: 2xxx client error, 3xxx server error.",
            },
            "status_message": {"type": "string"},
            "timestamp": _ref("OcpiDateTime"),
        },
        "additionalProperties": False,
    },
    "VersionListResponse": _envelope(_list(_ref("Version")), "The versions we speak."),
    "VersionDetailsResponse": _envelope(_ref("VersionDetails"), "Our endpoints of 2.2.1."),
    "CredentialsResponse": _envelope(_ref("Credentials"), "Our credentials object."),
    "EmptyResponse": _envelope(None, "Success without data."),
    "LocationListResponse": _envelope(
        _list(_ref("Location"), min_items=0), "One page of Locations."
    ),
    "LocationResponse": _envelope(_ref("Location"), "One Location."),
    "EVSEResponse": _envelope(_ref("EVSE"), "One EVSE."),
    "ConnectorResponse": _envelope(_ref("Connector"), "One Connector."),
}

COMPONENTS = {**ENUMS, **OBJECTS, **ENVELOPES}


def add_ocpi_components(result, generator, request, public):
    """drf-spectacular postprocessing hook: the raw components referenced by the operations.

    It also writes each path as we publish it (versions details, `public_reverse`): without
    the trailing slash, which the URL patterns accept but do not need.
    """
    result["paths"] = {
        (path.rstrip("/") if path.startswith("/ocpi/") else path): item
        for path, item in result.get("paths", {}).items()
    }
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(COMPONENTS)
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result


# --- Responses -------------------------------------------------------------------------------


def _error(codes: list[int], description: str) -> OpenApiResponse:
    schema = {"allOf": [_ref("OcpiError"), {"properties": {"status_code": {"enum": codes}}}]}
    return OpenApiResponse(response=schema, description=description)


UNAUTHORIZED = _error(
    [2000],
    "No Authorization header, an unknown token, or a token that is not valid for this "
    "module (token A outside versions and credentials, a suspended partner). Carries "
    "`WWW-Authenticate: Token`.",
)
BAD_JSON = _error([2000], "The request body is not valid JSON.")
UNSUPPORTED_MEDIA_TYPE = _error([2000], "The request body is not application/json.")

_ID_HEADERS = [
    # Any value is accepted (none is refused): one that is not 1-255 printable ASCII
    # characters is replaced by a new UUID rather than echoed.
    OpenApiParameter(
        "X-Request-ID",
        {"type": "string"},
        OpenApiParameter.HEADER,
        description="Unique id of this request (transport.md §10). Echoed in the response; "
        "a missing or unusable value (not 1-255 printable ASCII characters, e.g. a UUID) is "
        "replaced by a new UUID.",
    ),
    OpenApiParameter(
        "X-Correlation-ID",
        {"type": "string"},
        OpenApiParameter.HEADER,
        description="Correlation id of the exchange; echoed like X-Request-ID.",
    ),
    OpenApiParameter(
        "X-Request-ID",
        {"type": "string", "minLength": 1, "maxLength": 255},
        OpenApiParameter.HEADER,
        response=True,
        required=True,
        description="The request's X-Request-ID, or a new UUID when it sent none.",
    ),
    OpenApiParameter(
        "X-Correlation-ID",
        {"type": "string", "minLength": 1, "maxLength": 255},
        OpenApiParameter.HEADER,
        response=True,
        required=True,
        description="The request's X-Correlation-ID, or a new UUID when it sent none.",
    ),
    OpenApiParameter(
        "WWW-Authenticate",
        {"type": "string", "enum": ["Token"]},
        OpenApiParameter.HEADER,
        response=[401],
        required=True,
        description="The authentication scheme: Token.",
    ),
]

# An empty OCPI-from-* value counts as absent (versions.auth.check_routing_headers).
_ROUTING_HEADERS = [
    OpenApiParameter(
        "OCPI-from-country-code",
        {"type": "string", "pattern": r"^([A-Za-z]{2})?$", "maxLength": 2},
        OpenApiParameter.HEADER,
        description="Routing header (transport.md §9): the requesting party's country code. "
        "Optional; sent with OCPI-from-party-id or not at all (one alone is 400/2001), and "
        "must name one of the caller's CredentialsRoles (else 403/2000). An empty value "
        "counts as absent.",
    ),
    OpenApiParameter(
        "OCPI-from-party-id",
        {"type": "string", "pattern": r"^([A-Za-z0-9]{3})?$", "maxLength": 3},
        OpenApiParameter.HEADER,
        description="Routing header: the requesting party's party id (with "
        "OCPI-from-country-code).",
    ),
    OpenApiParameter(
        "OCPI-from-country-code",
        {"type": "string", "pattern": COUNTRY_CODE_PATTERN, "maxLength": 2},
        OpenApiParameter.HEADER,
        response=True,
        required=True,
        description="Our country code (the CPO).",
    ),
    OpenApiParameter(
        "OCPI-from-party-id",
        {"type": "string", "pattern": PARTY_ID_PATTERN, "maxLength": 3},
        OpenApiParameter.HEADER,
        response=True,
        required=True,
        description="Our party id (the CPO).",
    ),
    OpenApiParameter(
        "OCPI-to-country-code",
        {"type": "string", "pattern": COUNTRY_CODE_PATTERN, "maxLength": 2},
        OpenApiParameter.HEADER,
        response=[200, 400, 404],
        description="The requesting party: the request's OCPI-from pair, else the partner's "
        "first role. Absent on 401/403 (no entitled caller) and when the partner has no role.",
    ),
    OpenApiParameter(
        "OCPI-to-party-id",
        {"type": "string", "pattern": PARTY_ID_PATTERN, "maxLength": 3},
        OpenApiParameter.HEADER,
        response=[200, 400, 404],
        description="The requesting party's party id (with OCPI-to-country-code).",
    ),
]

_FUNCTIONAL_MODULE_ERRORS = {
    401: UNAUTHORIZED,
    403: _error(
        [2000],
        "OCPI-from-country-code/party-id name a party that is not one of the caller's "
        "CredentialsRoles.",
    ),
}

# An empty date_from/date_to/offset/limit counts as absent (versions.filters, pagination).
# Up to 6 fraction digits are accepted: 27 characters, a little over OCPI's string(25).
_QUERY_DATETIME = {**DATETIME, "pattern": f"^({DATETIME_PATTERN[1:-1]})?$", "maxLength": 27}
_PAGINATION_PARAMETERS = [
    OpenApiParameter(
        "date_from",
        {**_QUERY_DATETIME, "example": "2024-03-01T00:00:00Z"},
        OpenApiParameter.QUERY,
        description="Only Locations with last_updated >= date_from (inclusive). OCPI DateTime, "
        "UTC, `Z` optional. Anything else is 400/2001; an empty value counts as absent.",
    ),
    OpenApiParameter(
        "date_to",
        {**_QUERY_DATETIME, "example": "2024-04-01T00:00:00Z"},
        OpenApiParameter.QUERY,
        description="Only Locations with last_updated < date_to (exclusive).",
    ),
    OpenApiParameter(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": MAX_PAGINATION_INT, "default": 0},
        OpenApiParameter.QUERY,
        description="Index of the first Location of the page (decimal digits only).",
    ),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGINATION_INT},
        OpenApiParameter.QUERY,
        description="Most Locations wanted; more than the server's page size (X-Limit) is "
        "capped to it without an error. Default: the page size. 0 is 400/2001.",
    ),
    OpenApiParameter(
        "X-Total-Count",
        {"type": "integer", "minimum": 0},
        OpenApiParameter.HEADER,
        response=[200],
        required=True,
        description="How many Locations match the query (date filters, not offset/limit).",
    ),
    OpenApiParameter(
        "X-Limit",
        {"type": "integer", "minimum": 1},
        OpenApiParameter.HEADER,
        response=[200],
        required=True,
        description="The server's page size: the most Locations one page holds.",
    ),
    OpenApiParameter(
        "Link",
        {"type": "string", "pattern": r'^<[^>]+>; rel="next"$'},
        OpenApiParameter.HEADER,
        response=[200],
        description='`<URL of the next page>; rel="next"`, only when this is not the last page; '
        "the URL keeps the filters and has the next offset and the (capped) limit.",
    ),
]


# --- Authentication ------------------------------------------------------------------------


class OcpiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "versions.auth.OcpiTokenAuthentication"
    name = "OcpiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <base64(token)>`: the literal word Token, one space, then "
            "the credentials token encoded as UTF-8 and Base64 (RFC 4648, with padding), e.g. "
            "`Token ZXhhbXBsZS10b2tlbg==` for the token `example-token` (transport.md §2). "
            "Versions and credentials accept token A of a partner that is registering; the "
            "Locations module wants the token C of a registered partner. The plain token "
            "(OCPI 2.1.1 style) is accepted too.",
        }


# --- Versions --------------------------------------------------------------------------------

extend_schema_view(
    get=extend_schema(
        operation_id="versions_list",
        summary="The OCPI versions this server speaks",
        tags=["versions"],
        parameters=_ID_HEADERS,
        responses={
            200: OpenApiResponse(_ref("VersionListResponse"), "The list of versions."),
            401: UNAUTHORIZED,
        },
    )
)(VersionListView)

extend_schema_view(
    get=extend_schema(
        operation_id="version_details",
        summary="Our endpoints for OCPI 2.2.1",
        tags=["versions"],
        parameters=_ID_HEADERS,
        responses={
            200: OpenApiResponse(_ref("VersionDetailsResponse"), "The 2.2.1 endpoints."),
            401: UNAUTHORIZED,
        },
    )
)(VersionDetailsView)


# --- Credentials -----------------------------------------------------------------------------

_CREDENTIALS_EXCHANGE_FAILED = {
    "allOf": [
        _ref("OcpiError"),
        {"properties": {"status_code": {"enum": [2001, 3001, 3002, 3003]}}},
    ]
}


def _credentials_exchange(method: str, summary: str, description: str, not_allowed: str):
    return extend_schema(
        operation_id=f"credentials_{method}",
        summary=summary,
        description=description,
        tags=["credentials"],
        parameters=_ID_HEADERS
        + [
            OpenApiParameter(
                "Allow",
                {"type": "string"},
                OpenApiParameter.HEADER,
                response=[405],
                required=True,
                description="The methods of the credentials endpoint.",
            )
        ],
        request={"application/json": _ref("Credentials")},
        responses={
            200: OpenApiResponse(
                {"oneOf": [_ref("CredentialsResponse"), _CREDENTIALS_EXCHANGE_FAILED]},
                "The request reached the OCPI layer: our credentials object with the new "
                "token for the caller (1000), or an OCPI error: 2001 invalid credentials "
                "object (data names the wrong fields), 3001 the caller's versions or details "
                "could not be fetched, 3002 no common version, 3003 required endpoints missing.",
            ),
            400: BAD_JSON,
            401: UNAUTHORIZED,
            405: _error([2000], not_allowed),
            415: UNSUPPORTED_MEDIA_TYPE,
        },
    )


extend_schema_view(
    get=extend_schema(
        operation_id="credentials_get",
        summary="Our credentials object for the caller",
        description="The token in it is the one the caller used (token A or C).",
        tags=["credentials"],
        parameters=_ID_HEADERS,
        responses={
            200: OpenApiResponse(_ref("CredentialsResponse"), "Our credentials object."),
            401: UNAUTHORIZED,
        },
    ),
    post=_credentials_exchange(
        "register",
        "Register (with token A)",
        "The caller sends its credentials (its token B, versions URL, roles). We fetch its "
        "versions and 2.2.1 details with token B, then answer with token C. Token A is void "
        "afterwards.",
        "Already registered (the caller's token is not a token A): use PUT.",
    ),
    put=_credentials_exchange(
        "update",
        "Update the credentials (with token C)",
        "The caller sends new credentials; we fetch its versions and details again and answer "
        "with a new token C. The old token C is void afterwards.",
        "Not registered (the caller's token is not a token C of a registered partner).",
    ),
    delete=extend_schema(
        operation_id="credentials_delete",
        summary="Unregister (with token C)",
        description="Our tokens for the caller are revoked; we stop pushing to it.",
        tags=["credentials"],
        parameters=_ID_HEADERS,
        responses={
            200: OpenApiResponse(_ref("EmptyResponse"), "Unregistered."),
            401: UNAUTHORIZED,
            405: _error([2000], "Not registered."),
        },
    ),
)(CredentialsView)


# --- Locations -------------------------------------------------------------------------------

extend_schema_view(
    get=extend_schema(
        operation_id="locations_list",
        summary="A page of Locations",
        description="Whole Locations (with their EVSEs and Connectors), oldest first, "
        "filtered on last_updated (transport.md §6).",
        tags=["locations"],
        parameters=_ID_HEADERS + _ROUTING_HEADERS + _PAGINATION_PARAMETERS,
        responses={
            200: OpenApiResponse(_ref("LocationListResponse"), "One page of Locations."),
            400: _error(
                [2001],
                "A query parameter that is not valid (date_from/date_to not an OCPI DateTime, "
                "offset/limit not a non-negative integer, limit 0), or only one of "
                "OCPI-from-country-code / OCPI-from-party-id.",
            ),
            **_FUNCTIONAL_MODULE_ERRORS,
        },
    )
)(LocationListView)


_OBJECT_PATH_PARAMETERS = {
    "location_id": "Location.id (CiString(36)).",
    "evse_uid": "EVSE.uid (CiString(36)).",
    "connector_id": "Connector.id (CiString(36)), unique within its EVSE.",
}
_OBJECT_KINDS = {
    # depth: (operation id, summary, response component, description of 200)
    1: ("location_get", "One Location", "LocationResponse", "The Location with its EVSEs."),
    2: ("evse_get", "One EVSE of a Location", "EVSEResponse", "The EVSE with its Connectors."),
    3: ("connector_get", "One Connector of an EVSE", "ConnectorResponse", "The Connector."),
}


class LocationObjectSchema(AutoSchema):
    """One view answers three URLs (Location, EVSE, Connector): the depth picks the schema."""

    def _depth(self) -> int:
        return sum(f"{{{name}}}" in self.path for name in _OBJECT_PATH_PARAMETERS)

    def get_operation_id(self):
        return _OBJECT_KINDS[self._depth()][0]

    def get_summary(self):
        return _OBJECT_KINDS[self._depth()][1]

    def get_description(self):
        return (
            "An unknown object, at any depth, is 404 with OCPI 2003 (Unknown Location), the "
            "message naming what was not found."
        )

    def get_tags(self):
        return ["locations"]

    def get_override_parameters(self):
        names = list(_OBJECT_PATH_PARAMETERS)[: self._depth()]
        path_parameters = [
            OpenApiParameter(
                name,
                {"type": "string", "minLength": 1, "maxLength": 36},
                OpenApiParameter.PATH,
                description=_OBJECT_PATH_PARAMETERS[name]
                + " A segment that cannot be an id (not 1-36 printable ASCII characters "
                "without spaces) names no object: 404/2003.",
            )
            for name in names
        ]
        return path_parameters + _ID_HEADERS + _ROUTING_HEADERS

    def get_response_serializers(self):
        _, _, component, description = _OBJECT_KINDS[self._depth()]
        return {
            200: OpenApiResponse(_ref(component), description),
            400: _error([2001], "Only one of OCPI-from-country-code / OCPI-from-party-id."),
            **_FUNCTIONAL_MODULE_ERRORS,
            404: _error([2003], "No such Location, EVSE or Connector."),
        }


LocationObjectView.schema = LocationObjectSchema()
