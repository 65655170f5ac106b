"""The OpenAPI description of the credentials endpoint (OCPI 2.2.1, Credentials module).

`credentials_schema` decorates partners.views.CredentialsView; COMPONENTS are added to the
document by `ocpi_site.openapi.add_ocpi_components`. BusinessDetails (OCPI 2.2.1, Locations
module, 8.4.2 BusinessDetails class) is one of the Locations classes (locations/schemas.py);
it is referred to here by name.
"""

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from versions.openapi import (
    BAD_JSON,
    ID_HEADERS,
    UNAUTHORIZED,
    UNSUPPORTED_MEDIA_TYPE,
    envelope,
    error,
)
from versions.schema_types import COUNTRY_CODE_PATTERN, enum, list_of, obj, ref, url

from .models import Role

COMPONENTS = {
    # OCPI 2.2.1, Types, 16.6 Role enum
    "Role": enum(Role, "Role of a party (CredentialsRole)."),
    # 7.4.1 CredentialsRole class
    "CredentialsRole": obj(
        {
            "role": ref("Role"),
            "business_details": ref("BusinessDetails"),
            "party_id": {"type": "string", "pattern": r"^[A-Za-z0-9]{1,3}$", "maxLength": 3},
            "country_code": {"type": "string", "pattern": COUNTRY_CODE_PATTERN, "maxLength": 2},
        }
    ),
    # 7.3.1 Credentials object
    "Credentials": obj(
        {
            "token": {
                "type": "string",
                "pattern": r"^[\x21-\x7e]{1,64}$",
                "maxLength": 64,
                "description": "The plain credentials token the other party uses to call "
                "the party that sends this object (not Base64 here).",
            },
            "url": url("The versions endpoint of the party that sends this object."),
            "roles": list_of(ref("CredentialsRole")),
        },
        description="OCPI 2.2.1, Credentials module, 7.3.1 Credentials object. The roles of "
        "one object are unique by (role, country_code, party_id).",
    ),
    "CredentialsResponse": envelope(ref("Credentials"), "Our credentials object."),
}

_EXCHANGE_FAILED = {
    "allOf": [
        ref("OcpiError"),
        {"properties": {"status_code": {"enum": [2001, 3000, 3001, 3002, 3003]}}},
    ]
}


def _exchange(method: str, summary: str, description: str, not_allowed: str):
    """POST (7.2.2) and PUT (7.2.3): the caller's credentials in, ours with a new token out."""
    return extend_schema(
        operation_id=f"credentials_{method}",
        summary=summary,
        description=description,
        tags=["credentials"],
        parameters=ID_HEADERS
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
        request={"application/json": ref("Credentials")},
        responses={
            200: OpenApiResponse(
                {"oneOf": [ref("CredentialsResponse"), _EXCHANGE_FAILED]},
                "The request reached the OCPI layer: our credentials object with the new "
                "token for the caller (1000), or an OCPI error: 2001 invalid credentials "
                "object (data names the wrong fields), 3000 too many registrations in "
                "progress (try again later), 3001 the caller's versions or details could not "
                "be fetched or a URL could not be used, 3002 no common version, 3003 required "
                "endpoints missing.",
            ),
            400: BAD_JSON,
            401: UNAUTHORIZED,
            405: error([2000], not_allowed),
            415: UNSUPPORTED_MEDIA_TYPE,
        },
    )


credentials_schema = extend_schema_view(
    get=extend_schema(
        operation_id="credentials_get",
        summary="Our credentials object for the caller",
        description="The token in it is the one the caller used (token A or C).",
        tags=["credentials"],
        parameters=ID_HEADERS,
        responses={
            200: OpenApiResponse(ref("CredentialsResponse"), "Our credentials object."),
            401: UNAUTHORIZED,
        },
    ),
    post=_exchange(
        "register",
        "Register (with token A)",
        "The caller sends its credentials (its token B, versions URL, roles). We fetch its "
        "versions and 2.2.1 details with token B, then answer with token C. Token A is void "
        "afterwards.",
        "Already registered (the caller's token is not a token A): use PUT.",
    ),
    put=_exchange(
        "update",
        "Update the credentials (with token C)",
        "The caller sends new credentials; we fetch its versions and details again and answer "
        "with a new token C. The old token C is void afterwards.",
        "Not registered (the caller's token is not a token C of a registered partner).",
    ),
    # 7.2.4 DELETE Method
    delete=extend_schema(
        operation_id="credentials_delete",
        summary="Unregister (with token C)",
        description="Our tokens for the caller are revoked; we stop pushing to it.",
        tags=["credentials"],
        parameters=ID_HEADERS,
        responses={
            200: OpenApiResponse(ref("EmptyResponse"), "Unregistered."),
            401: UNAUTHORIZED,
            405: error([2000], "Not registered."),
        },
    ),
)
