"""The Locations Sender interface: GET list and GET object (OCPI 2.2.1, Locations module,
8.2.1 Sender Interface).

Authentication is the project default (versions.auth): only token C of a registered partner
gets in; anything else is 401 with an envelope. The permission adds the routing-header
check of functional modules (FunctionalModuleView).
"""

import re
from collections.abc import Sequence
from typing import Any

from rest_framework.views import APIView

from partners.routing import Party, partner_addressee
from versions.auth import IsRegisteredPartnerWithMatchingRouting
from versions.envelope import OcpiResponse
from versions.errors import UnknownLocation
from versions.filters import LastUpdatedFilterSet, valid_filterset_or_2001
from versions.pagination import page_response, pagination_params
from versions.parties import OurParty, our_party, primary_party

from . import paging, selectors, sharing
from .models import Location
from .openapi import location_list_schema, location_object_schema
from .serializers import connector_data, evse_data, location_data, location_dicts_from_rows

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


def _requesting_party(request) -> Party | None:
    """The request's own OCPI-from-* pair, when it sends a well-formed one."""
    country_code = request.headers.get("OCPI-from-country-code", "").strip()
    party_id = request.headers.get("OCPI-from-party-id", "").strip()
    if _COUNTRY_CODE.match(country_code) and _PARTY_ID.match(party_id):
        return Party(country_code.upper(), party_id.upper())
    return None


def _addressed_party_of_ours(request) -> OurParty:
    """Who answers: the party of ours the request's OCPI-to-* names, else our primary party
    (OCPI 2.2.1, Transport and format, Message Routing: a response comes FROM the receiving
    party)."""
    country_code = request.headers.get("OCPI-to-country-code", "").strip()
    party_id = request.headers.get("OCPI-to-party-id", "").strip()
    return our_party(country_code, party_id) or primary_party()


class FunctionalModuleView(APIView):
    """Permission and message routing headers of a functional module (OCPI 2.2.1,
    Transport and format, Message Routing).

    A request's OCPI-from-* pair, when sent, must name a party the caller speaks for: one of
    its CredentialsRoles or, for a hub, a party it announced through HubClientInfo
    (versions.auth.check_routing_headers: 200/2001 for half a pair, 401/2000 for a party it
    does not speak for). Every response carries OCPI-from-* (the party of ours the request
    addressed, else our primary party) and, when the caller is known and entitled, OCPI-to-*
    (the requesting party): the request's own OCPI-from-* pair — for a hub, the party it
    forwards for — else the partner's addressee (`partners.routing.addressee`, the rule
    pushes use).
    """

    permission_classes = [IsRegisteredPartnerWithMatchingRouting]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        sender = _addressed_party_of_ours(request)
        response["OCPI-from-country-code"] = sender.country_code
        response["OCPI-from-party-id"] = sender.party_id
        if response.status_code in (401, 403) or request.user is None:
            return response  # unknown caller, or not entitled: no addressee to name
        to = _requesting_party(request) or partner_addressee(request.user)
        if to is not None:
            response["OCPI-to-country-code"] = to.country_code
            response["OCPI-to-party-id"] = to.party_id
        return response


def _render_page(location_rows: Sequence[tuple]) -> list[dict[str, Any]]:
    """A page of Location rows as whole Locations: their EVSEs and Connectors in two queries."""
    evse_rows, connector_rows = selectors.location_page_children(location_rows)
    return location_dicts_from_rows(location_rows, evse_rows, connector_rows)


@location_list_schema
class LocationListView(FunctionalModuleView):
    """GET {locations}?date_from=&date_to=&offset=&limit= : a page of whole Locations.

    Built from plain rows (selectors.location_rows), not model instances: the list is what
    a partner's full pull hammers (docs/benchmarks.md, "Locations API"). Paged by
    `locations.paging`: a cached count and keyset pages behind `offset`, so that a page
    costs the same at any depth and table size (docs/benchmarks.md, "Scale: Sender paging").
    """

    def get(self, request):
        # Only the Locations shared with the caller (roaming agreements, locations.sharing):
        # the count, the pages and the date filters all work on that set.
        me = request.user.pk
        visible = Location.objects.filter(sharing.visible_to(me))
        filters = valid_filterset_or_2001(LocationFilterSet, request, visible)
        offset, limit = pagination_params(request)
        query = paging.ListQuery(
            partner_id=me,
            date_from=filters.form.cleaned_data.get("date_from"),
            date_to=filters.form.cleaned_data.get("date_to"),
        )
        page = paging.list_page(query, filters.qs, offset=offset, limit=limit)
        return page_response(
            request,
            offset=offset,
            limit=limit,
            total=page.total,
            data=_render_page(page.rows),
            more=page.more,
        )


@location_object_schema
class LocationObjectView(FunctionalModuleView):
    """GET {locations}/{location_id}[/{evse_uid}[/{connector_id}]] : one object.

    Unknown objects are HTTP 404 with OCPI 2003 (Unknown Location) at every depth, the
    message naming what was not found. A Location not shared with the caller (roaming
    agreements, locations.sharing), its EVSEs and Connectors are unknown to it, with the same
    answer: it learns nothing of objects it may not see.
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
        me = request.user.pk
        if evse_uid is None:
            location = selectors.location_get(location_id, visible_to=me)
            if location is None:
                raise UnknownLocation(f"Unknown Location {location_id!r}")
            return OcpiResponse(location_data(location))
        if connector_id is None:
            evse = selectors.evse_get(location_id, evse_uid, visible_to=me)
            if evse is None:
                raise self._unknown_evse(location_id, evse_uid, me)
            return OcpiResponse(evse_data(evse))
        connector = selectors.connector_get(location_id, evse_uid, connector_id, visible_to=me)
        if connector is None:
            if not selectors.evse_exists(location_id, evse_uid, visible_to=me):
                raise self._unknown_evse(location_id, evse_uid, me)
            raise UnknownLocation(
                f"Unknown Connector {connector_id!r} of EVSE {evse_uid!r}"
                f" at Location {location_id!r}"
            )
        return OcpiResponse(connector_data(connector))

    @staticmethod
    def _unknown_evse(location_id: str, evse_uid: str, partner_id: int) -> UnknownLocation:
        if not selectors.location_exists(location_id, visible_to=partner_id):
            return UnknownLocation(f"Unknown Location {location_id!r}")
        return UnknownLocation(f"Unknown EVSE {evse_uid!r} at Location {location_id!r}")
