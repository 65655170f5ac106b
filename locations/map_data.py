"""What the admin's map of all Locations shows (`locations/admin/maps.py`).

The Locations whose coordinates lie in the map's current bounds, each with its EVSE counts
and an availability colour, in two queries (the Locations; their EVSEs counted in the
database, one row per Location), at most `LIMIT` of them, oldest first: at 25,000 Locations a whole
country's view is capped and the page says "zoom in", a city's view has every Location.
The coordinates are JSON texts, cast to numbers in the query; no index serves the bounds:
the database reads the Locations in primary-key order until it has `LIMIT` + 1 in the view
(a view with few Locations reads them all).

Availability (OCPI 2.2.1, Locations module, 8.4.22 Status enum), over the EVSEs that are
not REMOVED:
- "available": at least one EVSE is AVAILABLE (green);
- "occupied": none is AVAILABLE, but some are CHARGING, BLOCKED or RESERVED (red);
- "out_of_service": every EVSE is INOPERATIVE, OUTOFORDER, PLANNED or UNKNOWN, or there
  is none (grey).
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, FloatField, Max, Min, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.urls import reverse

from .enums import Status
from .models import EVSE, Location

LIMIT = 2000
IN_SERVICE = (Status.CHARGING, Status.BLOCKED, Status.RESERVED)


@dataclass(frozen=True)
class Bounds:
    west: float
    south: float
    east: float
    north: float


def parse_bounds(text: str) -> Bounds:
    """`west,south,east,north` in degrees (Leaflet's `getBounds().toBBoxString()`).

    Raises ValueError with the message to show. A view wider than the world (Leaflet's
    longitudes go past ±180 when the map is panned round) is clipped to −180…180.
    """
    parts = text.split(",")
    if len(parts) != 4:
        raise ValueError(f"bbox must be west,south,east,north in degrees, not {text!r}")
    try:
        west, south, east, north = (float(part) for part in parts)
    except ValueError:
        raise ValueError(
            f"bbox must be four numbers (west,south,east,north), not {text!r}"
        ) from None
    if not all(abs(value) < 1000 for value in (west, south, east, north)):
        raise ValueError(f"bbox {text!r} is not a view of the Earth")
    if south > north or west > east:
        raise ValueError(f"bbox {text!r}: south must not exceed north, nor west east")
    return Bounds(max(west, -180.0), max(south, -90.0), min(east, 180.0), min(north, 90.0))


def _with_degrees(queryset: Any) -> Any:
    return queryset.annotate(
        latitude=Cast(KT("coordinates__latitude"), FloatField()),
        longitude=Cast(KT("coordinates__longitude"), FloatField()),
    )


def extent() -> Bounds | None:
    """The box around every Location (one query); None when there is none."""
    box = _with_degrees(Location.objects.order_by()).aggregate(
        south=Min("latitude"), north=Max("latitude"), west=Min("longitude"), east=Max("longitude")
    )
    if box["south"] is None:
        return None
    return Bounds(box["west"], box["south"], box["east"], box["north"])


def availability(available: int, in_service: int) -> str:
    if available:
        return "available"
    if in_service:
        return "occupied"
    return "out_of_service"


def locations_in(bounds: Bounds, limit: int | None = None) -> dict[str, Any]:
    """The map's JSON document for these bounds (two queries, see the module doc)."""
    limit = LIMIT if limit is None else limit
    # The first `limit` + 1 Locations of the view (primary key order: PostgreSQL stops
    # reading at the limit), then the EVSE counts of just those: counting first would
    # group every Location of the view.
    rows = list(
        _with_degrees(Location.objects.all())
        .filter(
            latitude__gte=bounds.south,
            latitude__lte=bounds.north,
            longitude__gte=bounds.west,
            longitude__lte=bounds.east,
        )
        .order_by("row_id")
        .values("row_id", "country_code", "party_id", "id", "name", "latitude", "longitude")[
            : limit + 1
        ]
    )
    shown = rows[:limit]
    counts = {
        row["location_id"]: row
        for row in EVSE.objects.filter(location_id__in=[row["row_id"] for row in shown])
        .exclude(status=Status.REMOVED)
        .order_by()
        .values("location_id")
        .annotate(
            evse_count=Count("pk"),
            available_count=Count("pk", filter=Q(status=Status.AVAILABLE)),
            in_service_count=Count("pk", filter=Q(status__in=IN_SERVICE)),
        )
    }
    nothing = {"evse_count": 0, "available_count": 0, "in_service_count": 0}
    change_url = reverse("admin:locations_location_change", args=[0]).replace("/0/", "/{}/")
    locations = []
    for row in shown:
        evses = counts.get(row["row_id"], nothing)
        locations.append(
            {
                "id": row["id"],
                "party": f"{row['country_code']}*{row['party_id']}",
                "name": row["name"],
                "latitude": row["latitude"],
                "longitude": row["longitude"],
                "evses": evses["evse_count"],
                "available": evses["available_count"],
                "availability": availability(evses["available_count"], evses["in_service_count"]),
                "url": change_url.format(row["row_id"]),
            }
        )
    return {"locations": locations, "limit": limit, "truncated": len(rows) > limit}
