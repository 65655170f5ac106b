"""The OpenAPI description shared by every OCPI module, and that of the Versions module.

The OCPI views answer with `versions.envelope.OcpiResponse`, not with DRF serializers, so
drf-spectacular can infer nothing about them: each app declares its operations next to its
views (`<app>/openapi.py`, applied as decorators on the view classes) from the parts here:
- `envelope()` and `error()`: the response format (OCPI 2.2.1, Transport and format,
  4.1.7 Response format) for a success and for the error statuses a view can answer;
- the OcpiToken security scheme (4.1.2 Authorization header);
- request and response headers: X-Request-ID / X-Correlation-ID (4.2 Unique message IDs),
  the routing headers of functional modules (4.1.8.2 Message Routing Headers), and the
  pagination parameters and headers of list GETs (4.1.4.1 GET, Pagination).

The components (`COMPONENTS` of each app's `openapi.py`) are added to the document by the
postprocessing hook `ocpi_site.openapi.add_ocpi_components`.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from .registry import OCPI_VERSION, InterfaceRole, ModuleID
from .schema_types import COMPONENTS as OCPI_TYPES
from .schema_types import (
    COUNTRY_CODE_PATTERN,
    DATETIME,
    DATETIME_PATTERN,
    PARTY_ID_PATTERN,
    Schema,
    list_of,
    obj,
    ref,
    url,
)

# pagination.py: at most 18 digits.
MAX_PAGINATION_INT = 999_999_999_999_999_999

# --- Response format ---------------------------------------------------------------------------


def envelope(data: Schema | None, description: str) -> Schema:
    """The response format of a success, with `data` of this schema (or none)."""
    properties = {"data": data} if data is not None else {}
    properties.update(
        {
            "status_code": {"type": "integer", "enum": [1000]},
            "status_message": {"type": "string"},
            "timestamp": ref("OcpiDateTime"),
        }
    )
    required = (["data"] if data is not None else []) + [
        "status_code",
        "status_message",
        "timestamp",
    ]
    return {
        "type": "object",
        "description": description,
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


def error(codes: list[int], description: str) -> OpenApiResponse:
    """An error response: the OcpiError envelope with one of these OCPI status codes."""
    schema = {"allOf": [ref("OcpiError"), {"properties": {"status_code": {"enum": codes}}}]}
    return OpenApiResponse(response=schema, description=description)


OCPI_ERROR = {
    "type": "object",
    "description": "The envelope of an error (OCPI 2.2.1, Transport and format, 4.1.7 "
    "Response format; Status codes): no data, or debugging data such as the fields that are "
    "wrong.",
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
        "timestamp": ref("OcpiDateTime"),
    },
    "additionalProperties": False,
}

UNAUTHORIZED = error(
    [2000],
    "No Authorization header, an unknown token, or a token that is not valid for this "
    "module (token A outside versions and credentials, a suspended partner). Carries "
    "`WWW-Authenticate: Token`.",
)
# A functional module also answers 401 when OCPI-from-* names a party the caller does not
# speak for (versions.auth.ForeignParty).
FUNCTIONAL_UNAUTHORIZED = error(
    [2000],
    "No Authorization header, an unknown token, a token that is not valid for this module "
    "(token A, a suspended partner), or OCPI-from-country-code/party-id naming a party the "
    "caller does not speak for: not one of its CredentialsRoles and, for a hub, not a party "
    "it announced in a ClientInfo (HubClientInfo module). Carries `WWW-Authenticate: Token`.",
)
BAD_JSON = error([2000], "The request body is not valid JSON.")
UNSUPPORTED_MEDIA_TYPE = error([2000], "The request body is not application/json.")
FUNCTIONAL_MODULE_ERRORS = {401: FUNCTIONAL_UNAUTHORIZED}

# --- Headers and parameters --------------------------------------------------------------------

ID_HEADERS = [
    # Any value is accepted (none is refused): one that is not 1-255 printable ASCII
    # characters is replaced by a new UUID rather than echoed.
    OpenApiParameter(
        "X-Request-ID",
        {"type": "string"},
        OpenApiParameter.HEADER,
        description="Unique id of this request (OCPI 2.2.1, Transport and format, 4.2 Unique "
        "message IDs). Echoed in the response; a missing or unusable value (not 1-255 "
        "printable ASCII characters, e.g. a UUID) is replaced by a new UUID.",
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
ROUTING_HEADERS = [
    OpenApiParameter(
        "OCPI-from-country-code",
        {"type": "string", "pattern": r"^([A-Za-z]{2})?$", "maxLength": 2},
        OpenApiParameter.HEADER,
        description="Routing header (OCPI 2.2.1, Transport and format, 4.1.8.2 Message "
        "Routing Headers): the requesting party's country code. Optional; sent with "
        "OCPI-from-party-id or not at all (one alone is 200/2001), and must name a party the "
        "caller speaks for: one of its CredentialsRoles or, for a hub, a party it announced in "
        "a ClientInfo (else 401/2000). An empty value counts as absent.",
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
        description="Our country code: the party of ours the request's OCPI-to-* named, "
        "else our primary party.",
    ),
    OpenApiParameter(
        "OCPI-from-party-id",
        {"type": "string", "pattern": PARTY_ID_PATTERN, "maxLength": 3},
        OpenApiParameter.HEADER,
        response=True,
        required=True,
        description="Our party id (with OCPI-from-country-code).",
    ),
    OpenApiParameter(
        "OCPI-to-country-code",
        {"type": "string", "pattern": COUNTRY_CODE_PATTERN, "maxLength": 2},
        OpenApiParameter.HEADER,
        response=[200, 404],
        description="The requesting party: the request's OCPI-from pair (for a hub, the party "
        "it forwards for), else the partner's addressee: its HUB role, else its eMSP role, "
        "else its oldest role. Absent on 401 (no entitled caller) and when the partner has no "
        "role.",
    ),
    OpenApiParameter(
        "OCPI-to-party-id",
        {"type": "string", "pattern": PARTY_ID_PATTERN, "maxLength": 3},
        OpenApiParameter.HEADER,
        response=[200, 404],
        description="The requesting party's party id (with OCPI-to-country-code).",
    ),
]


def pagination_parameters(objects: str) -> list[OpenApiParameter]:
    """The query parameters and response headers of a paginated list GET of `objects`.

    An empty date_from/date_to/offset/limit counts as absent (versions.filters, pagination).
    Up to 6 fraction digits are accepted: 27 characters, a little over OCPI's string(25).
    """
    query_datetime = {**DATETIME, "pattern": f"^({DATETIME_PATTERN[1:-1]})?$", "maxLength": 27}
    return [
        OpenApiParameter(
            "date_from",
            {**query_datetime, "example": "2024-03-01T00:00:00Z"},
            OpenApiParameter.QUERY,
            description=f"Only {objects} with last_updated >= date_from (inclusive). OCPI "
            "DateTime, UTC, `Z` optional. Anything else (also a UTC offset) is HTTP 200 with "
            "2001; an empty value counts as "
            "absent.",
        ),
        OpenApiParameter(
            "date_to",
            {**query_datetime, "example": "2024-04-01T00:00:00Z"},
            OpenApiParameter.QUERY,
            description=f"Only {objects} with last_updated < date_to (exclusive).",
        ),
        OpenApiParameter(
            "offset",
            {"type": "integer", "minimum": 0, "maximum": MAX_PAGINATION_INT, "default": 0},
            OpenApiParameter.QUERY,
            description=f"Index of the first {objects[:-1]} of the page (decimal digits only).",
        ),
        OpenApiParameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_PAGINATION_INT},
            OpenApiParameter.QUERY,
            description=f"Most {objects} wanted; more than the server's page size (X-Limit) "
            "is capped to it without an error. Default: the page size. 0 or a negative value is "
            "HTTP 200 with 2001.",
        ),
        OpenApiParameter(
            "X-Total-Count",
            {"type": "integer", "minimum": 0},
            OpenApiParameter.HEADER,
            response=[200],
            # Not on a 200 that refuses the query with 2001: only a page has a count.
            description=f"How many {objects} match the query (date filters, not offset/limit). "
            "On every page (1000); absent when the query is refused (2001).",
        ),
        OpenApiParameter(
            "X-Limit",
            {"type": "integer", "minimum": 1},
            OpenApiParameter.HEADER,
            response=[200],
            description=f"The server's page size: the most {objects} one page holds. On every "
            "page (1000); absent when the query is refused (2001).",
        ),
        OpenApiParameter(
            "Link",
            {"type": "string", "pattern": r'^<[^>]+>; rel="next"$'},
            OpenApiParameter.HEADER,
            response=[200],
            description='`<URL of the next page>; rel="next"`, only when this is not the last '
            "page; the URL keeps the filters and has the next offset and the (capped) limit.",
        ),
    ]


# --- Authentication ----------------------------------------------------------------------------


class OcpiTokenScheme(OpenApiAuthenticationExtension):
    """The security scheme of versions.auth.OcpiTokenAuthentication (registered with
    drf-spectacular when this module is imported, which versions/views.py does)."""

    target_class = "versions.auth.OcpiTokenAuthentication"
    name = "OcpiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <base64(token)>`: the literal word Token, one space, then "
            "the credentials token encoded as UTF-8 and Base64 (RFC 4648, with padding), e.g. "
            "`Token ZXhhbXBsZS10b2tlbg==` for the token `example-token` (OCPI 2.2.1, "
            "Transport and format, 4.1.2 Authorization header). Versions and credentials "
            "accept token A of a partner that is registering; the Locations module wants the "
            "token C of a registered partner. The plain token (OCPI 2.1.1 style) is accepted "
            "too.",
        }


# --- The Versions module (OCPI 2.2.1, Versions module, 6.1 and 6.2) ----------------------------

COMPONENTS = {
    **OCPI_TYPES,
    "OcpiError": OCPI_ERROR,
    "EmptyResponse": envelope(None, "Success without data."),
    # 6.2.3 InterfaceRole enum, 6.2.4 ModuleID enum, 6.2.5 VersionNumber enum
    "InterfaceRole": {
        "type": "string",
        "enum": list(InterfaceRole.values),
        "description": "Which interface of a module an endpoint implements.",
    },
    "ModuleID": {
        "type": "string",
        "enum": list(ModuleID.values),
        "description": "OCPI module identifier.",
    },
    "VersionNumber": {
        "type": "string",
        "enum": [OCPI_VERSION],
        "description": "An OCPI version this server speaks.",
    },
    # 6.1.2 Version class, 6.2.2 Endpoint class, 6.2.1 Data (of the version details)
    "Version": obj({"version": ref("VersionNumber"), "url": url("The version details endpoint.")}),
    "Endpoint": obj({"identifier": ref("ModuleID"), "role": ref("InterfaceRole"), "url": url()}),
    "VersionDetails": obj({"version": ref("VersionNumber"), "endpoints": list_of(ref("Endpoint"))}),
    "VersionListResponse": envelope(list_of(ref("Version")), "The versions we speak."),
    "VersionDetailsResponse": envelope(ref("VersionDetails"), "Our endpoints of 2.2.1."),
}

version_list_schema = extend_schema_view(
    get=extend_schema(
        operation_id="versions_list",
        summary="The OCPI versions this server speaks",
        tags=["versions"],
        parameters=ID_HEADERS,
        responses={
            200: OpenApiResponse(ref("VersionListResponse"), "The list of versions."),
            401: UNAUTHORIZED,
        },
    )
)

version_details_schema = extend_schema_view(
    get=extend_schema(
        operation_id="version_details",
        summary="Our endpoints for OCPI 2.2.1",
        tags=["versions"],
        parameters=ID_HEADERS,
        responses={
            200: OpenApiResponse(ref("VersionDetailsResponse"), "The 2.2.1 endpoints."),
            401: UNAUTHORIZED,
        },
    )
)
