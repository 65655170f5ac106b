"""The OpenAPI description of the Locations Sender interface (OCPI 2.2.1, Locations module,
8.2.1 Sender Interface): GET list and GET object.

`location_list_schema` and `location_object_schema` decorate the views of locations/api.py.
COMPONENTS, added to the document by `ocpi_site.openapi.add_ocpi_components`, are the
Locations objects of locations/schemas.py (the JSON Schema the validation of stored objects
reads too) and their response envelopes.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from versions.openapi import (
    FUNCTIONAL_MODULE_ERRORS,
    ID_HEADERS,
    ROUTING_HEADERS,
    envelope,
    error,
    pagination_parameters,
)
from versions.schema_types import list_of, ref

from . import schemas

COMPONENTS = {
    **schemas.COMPONENTS,
    "LocationListResponse": envelope(
        list_of(ref("Location"), min_items=0), "One page of Locations."
    ),
    "LocationResponse": envelope(ref("Location"), "One Location."),
    "EVSEResponse": envelope(ref("EVSE"), "One EVSE."),
    "ConnectorResponse": envelope(ref("Connector"), "One Connector."),
}

# HTTP 200 with 2001: an invalid query parameter or half a routing-header pair.
_INVALID_PARAMETERS = {
    "allOf": [ref("OcpiError"), {"properties": {"status_code": {"enum": [2001]}}}]
}

location_list_schema = extend_schema_view(
    get=extend_schema(
        operation_id="locations_list",
        summary="A page of Locations",
        description="Whole Locations (with their EVSEs and Connectors), oldest first, "
        "filtered on last_updated (OCPI 2.2.1, Locations module, 8.2.1.1 GET Method). Only the "
        "Locations shared with the calling partner (roaming agreements); X-Total-Count counts "
        "those.",
        tags=["locations"],
        parameters=ID_HEADERS + ROUTING_HEADERS + pagination_parameters("Locations"),
        responses={
            200: OpenApiResponse(
                {"oneOf": [ref("LocationListResponse"), _INVALID_PARAMETERS]},
                "One page of Locations (1000); or, the request having reached the OCPI layer "
                "(OCPI 2.2.1, Status codes), 2001 for a query parameter that is not valid "
                "(date_from/date_to not an OCPI DateTime or with a UTC offset, offset/limit "
                "not a non-negative integer, limit 0) or only one of OCPI-from-country-code / "
                "OCPI-from-party-id.",
            ),
            **FUNCTIONAL_MODULE_ERRORS,
        },
    )
)


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

    # drf-spectacular's AutoSchema.get_description takes no path and method, unlike the DRF
    # inspector it subclasses (whose signature the stubs give).
    def get_description(self):  # type: ignore[override]
        return (
            "An unknown object, at any depth, is 404 with OCPI 2003 (Unknown Location), the "
            "message naming what was not found. A Location not shared with the calling partner "
            "(roaming agreements), its EVSEs and Connectors are unknown to it."
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
        return path_parameters + ID_HEADERS + ROUTING_HEADERS

    def get_response_serializers(self):
        _, _, component, description = _OBJECT_KINDS[self._depth()]
        return {
            200: OpenApiResponse(
                {"oneOf": [ref(component), _INVALID_PARAMETERS]},
                f"{description} Or 2001: only one of OCPI-from-country-code / OCPI-from-party-id.",
            ),
            **FUNCTIONAL_MODULE_ERRORS,
            404: error([2003], "No such Location, EVSE or Connector."),
        }


def location_object_schema(view_class):
    """Class decorator: the GET object view is described by LocationObjectSchema."""
    view_class.schema = LocationObjectSchema()
    return view_class
