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

from .models import ConnectionStatus, Role

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
    # OCPI 2.2.1, HubClientInfo module: ConnectionStatus enum and ClientInfo object
    "ConnectionStatus": enum(ConnectionStatus, "Status of the hub's connection to a party."),
    "ClientInfo": obj(
        {
            "party_id": {"type": "string", "pattern": r"^[A-Za-z0-9]{3}$", "maxLength": 3},
            "country_code": {"type": "string", "pattern": COUNTRY_CODE_PATTERN, "maxLength": 2},
            "role": ref("Role"),
            "status": ref("ConnectionStatus"),
            "last_updated": ref("OcpiDateTime"),
        },
        description="OCPI 2.2.1, HubClientInfo module, ClientInfo object: a party reachable "
        "through the hub.",
    ),
    "ClientInfoResponse": envelope(ref("ClientInfo"), "The ClientInfo we hold."),
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


_CLIENT_INFO_PARAMETERS = [
    OpenApiParameter(
        "country_code",
        {"type": "string", "minLength": 1},
        OpenApiParameter.PATH,
        description="Country code of the party of the ClientInfo (CiString(2)).",
    ),
    OpenApiParameter(
        "party_id",
        {"type": "string", "minLength": 1},
        OpenApiParameter.PATH,
        description="Party id of the party of the ClientInfo (CiString(3)).",
    ),
    *ID_HEADERS,
]
_ONLY_A_HUB = (
    "Only a registered partner with role HUB may use this module (else 401, as for any token "
    "not valid here)."
)

hub_client_info_schema = extend_schema_view(
    get=extend_schema(
        operation_id="hubclientinfo_get",
        summary="A ClientInfo as we hold it",
        description="OCPI 2.2.1, HubClientInfo module, Receiver Interface, GET: the hub checks "
        f"what we hold. A Configuration Module: no routing headers. {_ONLY_A_HUB}",
        tags=["hubclientinfo"],
        parameters=_CLIENT_INFO_PARAMETERS,
        responses={
            200: OpenApiResponse(ref("ClientInfoResponse"), "The ClientInfo."),
            401: UNAUTHORIZED,
            404: error([2000], "We hold no ClientInfo for this party."),
        },
    ),
    put=extend_schema(
        operation_id="hubclientinfo_put",
        summary="Push a new or updated ClientInfo",
        description="OCPI 2.2.1, HubClientInfo module, Receiver Interface, PUT. 201 when new, "
        "200 when updated; a ClientInfo older than the one we hold (by last_updated) is "
        f"ignored and the stored one answered. {_ONLY_A_HUB}",
        tags=["hubclientinfo"],
        parameters=_CLIENT_INFO_PARAMETERS,
        request={"application/json": ref("ClientInfo")},
        responses={
            200: OpenApiResponse(
                {
                    "oneOf": [
                        ref("ClientInfoResponse"),
                        {
                            "allOf": [
                                ref("OcpiError"),
                                {"properties": {"status_code": {"enum": [2001]}}},
                            ]
                        },
                    ]
                },
                "Updated (1000, the ClientInfo we hold now), or 2001: an invalid ClientInfo "
                "(data names the wrong fields) or one for another party than the URL names.",
            ),
            201: OpenApiResponse(ref("ClientInfoResponse"), "Stored as new."),
            400: BAD_JSON,
            401: UNAUTHORIZED,
            415: UNSUPPORTED_MEDIA_TYPE,
        },
    ),
)
