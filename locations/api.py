"""The Locations Sender interface (locations.md §3): GET list and GET object.

Authentication and permission are the project defaults (versions.auth): only token C of a
registered partner gets in; anything else is 401 with an envelope.
"""

import re

from django.conf import settings
from rest_framework.views import APIView

from versions.envelope import OcpiResponse
from versions.errors import UnknownLocation
from versions.filters import LastUpdatedFilterSet, filter_queryset_or_400
from versions.pagination import paginated_response

from . import selectors
from .models import Location
from .serializers import connector_data, evse_data, location_data, locations_data

_COUNTRY_CODE = re.compile(r"^[A-Za-z]{2}$")
_PARTY_ID = re.compile(r"^[A-Za-z0-9]{3}$")
# What a Location id, EVSE uid or Connector id can be: CiString(36) without spaces. A URL
# segment that is anything else names no object, and is answered without a query (a NUL
# byte, for one, is not even a valid PostgreSQL text literal).
_POSSIBLE_ID = re.compile(r"^[\x21-\x7e]{1,36}$")


class LocationFilterSet(LastUpdatedFilterSet):
    """`date_from` inclusive, `date_to` exclusive, on Location.last_updated."""

    class Meta:
        model = Location
        fields: list[str] = []


def _addressee(request) -> tuple[str, str] | None:
    """Who a response goes to (transport.md §9: the requesting party).

    The request's own OCPI-from-* headers when it sends a well-formed pair (a Hub forwards
    the requesting party there); otherwise the calling partner's first CredentialsRole.
    """
    country_code = request.headers.get("OCPI-from-country-code", "")
    party_id = request.headers.get("OCPI-from-party-id", "")
    if _COUNTRY_CODE.match(country_code) and _PARTY_ID.match(party_id):
        return country_code.upper(), party_id.upper()
    role = request.user.roles.order_by("pk").first() if request.user is not None else None
    if role is None:
        return None
    return role.country_code, role.party_id


class FunctionalModuleView(APIView):
    """Adds the message routing headers that functional modules carry (transport.md §9)."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["OCPI-from-country-code"] = settings.OCPI_COUNTRY_CODE
        response["OCPI-from-party-id"] = settings.OCPI_PARTY_ID
        # After a 401 the caller is unknown (or not entitled): no addressee to name.
        if response.status_code != 401:
            addressee = _addressee(request)
            if addressee is not None:
                response["OCPI-to-country-code"], response["OCPI-to-party-id"] = addressee
        return response


class LocationListView(FunctionalModuleView):
    """GET {locations}?date_from=&date_to=&offset=&limit= : a page of whole Locations."""

    def get(self, request):
        queryset = filter_queryset_or_400(LocationFilterSet, request, selectors.location_list())
        return paginated_response(request, queryset, locations_data)


class LocationObjectView(FunctionalModuleView):
    """GET {locations}/{location_id}[/{evse_uid}[/{connector_id}]] : one object.

    Unknown objects are HTTP 404 with OCPI 2003 (Unknown Location) at every depth, the
    message naming what was not found.
    """

    def get(self, request, location_id, evse_uid=None, connector_id=None):
        if not _POSSIBLE_ID.match(location_id):
            raise UnknownLocation(f"Unknown Location {location_id[:40]!r}")
        if evse_uid is not None and not _POSSIBLE_ID.match(evse_uid):
            raise UnknownLocation(f"Unknown EVSE {evse_uid[:40]!r} at Location {location_id!r}")
        if connector_id is not None and not _POSSIBLE_ID.match(connector_id):
            raise UnknownLocation(
                f"Unknown Connector {connector_id[:40]!r} of EVSE {evse_uid!r}"
                f" at Location {location_id!r}"
            )
        if evse_uid is None:
            location = selectors.location_get(location_id)
            if location is None:
                raise UnknownLocation(f"Unknown Location {location_id!r}")
            return OcpiResponse(location_data(location))
        if connector_id is None:
            evse = selectors.evse_get(location_id, evse_uid)
            if evse is None:
                raise self._unknown_evse(location_id, evse_uid)
            return OcpiResponse(evse_data(evse))
        connector = selectors.connector_get(location_id, evse_uid, connector_id)
        if connector is None:
            if not selectors.evse_exists(location_id, evse_uid):
                raise self._unknown_evse(location_id, evse_uid)
            raise UnknownLocation(
                f"Unknown Connector {connector_id!r} of EVSE {evse_uid!r}"
                f" at Location {location_id!r}"
            )
        return OcpiResponse(connector_data(connector))

    @staticmethod
    def _unknown_evse(location_id: str, evse_uid: str) -> UnknownLocation:
        if not selectors.location_exists(location_id):
            return UnknownLocation(f"Unknown Location {location_id!r}")
        return UnknownLocation(f"Unknown EVSE {evse_uid!r} at Location {location_id!r}")
