"""Reads of Locations, EVSEs and Connectors for the Sender API (locations.md §3).

Every query here is shaped so that rendering a page costs a constant number of SQL queries,
whatever the page size and however many EVSEs a Location has: the Location page, then one
query for all their EVSEs and one for all those EVSEs' Connectors (prefetch_related).

Ids are CiStrings (locations.md §2): they are compared as `UPPER(column) = UPPER(value)`,
the same expression as the unique constraints and `location_upper_id_idx`, so the lookups
use those indexes on PostgreSQL.
"""

from django.db.models import Prefetch, QuerySet
from django.db.models.functions import Upper

from .models import EVSE, Connector, Location


def _ordered_connectors() -> QuerySet[Connector]:
    return Connector.objects.order_by("row_id")


def _evses_with_connectors() -> QuerySet[EVSE]:
    return EVSE.objects.order_by("row_id").prefetch_related(
        Prefetch("connectors", queryset=_ordered_connectors())
    )


def location_list() -> QuerySet[Location]:
    """Every Location in a stable page order (oldest first), with EVSEs and Connectors.

    REMOVED EVSEs are included, with their status: a pulling receiver learns of a removal
    that way (locations.md §3.1, §5).
    """
    return Location.objects.order_by("row_id").prefetch_related(
        Prefetch("evses", queryset=_evses_with_connectors())
    )


def location_get(location_id: str) -> Location | None:
    """The Location with this id (any case), with its EVSEs and Connectors, or None.

    Location.id is unique per (country_code, party_id), so a platform that hosts several
    parties could hold the same id twice. The URL has no party segments, so the oldest such
    Location (lowest row_id) is the one served: deterministic, and stable over time because
    row ids never change.
    """
    return location_list().alias(upper_id=Upper("id")).filter(upper_id=location_id.upper()).first()


def evse_get(location_id: str, evse_uid: str) -> EVSE | None:
    """The EVSE with this uid whose Location has this id (both any case), or None.

    EVSE.uid is unique on the whole platform, so the uid alone picks the EVSE even where two
    parties share a Location id; the Location id must still match (no EVSE of another
    Location is served under this one).
    """
    return (
        _evses_with_connectors()
        .alias(upper_uid=Upper("uid"), upper_location_id=Upper("location__id"))
        .filter(upper_uid=evse_uid.upper(), upper_location_id=location_id.upper())
        .first()
    )


def connector_get(location_id: str, evse_uid: str, connector_id: str) -> Connector | None:
    """The Connector with this id of that EVSE of that Location (all any case), or None."""
    return (
        Connector.objects.alias(
            upper_id=Upper("id"),
            upper_evse_uid=Upper("evse__uid"),
            upper_location_id=Upper("evse__location__id"),
        )
        .filter(
            upper_id=connector_id.upper(),
            upper_evse_uid=evse_uid.upper(),
            upper_location_id=location_id.upper(),
        )
        .order_by("row_id")
        .first()
    )


def location_exists(location_id: str) -> bool:
    return (
        Location.objects.alias(upper_id=Upper("id")).filter(upper_id=location_id.upper()).exists()
    )


def evse_exists(location_id: str, evse_uid: str) -> bool:
    return (
        EVSE.objects.alias(upper_uid=Upper("uid"), upper_location_id=Upper("location__id"))
        .filter(upper_uid=evse_uid.upper(), upper_location_id=location_id.upper())
        .exists()
    )
