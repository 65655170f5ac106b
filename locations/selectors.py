"""Reads of Locations, EVSEs and Connectors for the Sender API (OCPI 2.2.1, Locations module,
8.2.1 Sender Interface).

Every query here is shaped so that rendering a page costs a constant number of SQL queries,
whatever the page size and however many EVSEs a Location has: the Location page, then one
query for all their EVSEs and one for all those EVSEs' Connectors.

Two shapes of the same reads:
- model instances with ordered prefetches (`location_list`, `location_get`, `evse_get`,
  `connector_get`), for single objects and for callers that want models (the push engine);
- plain rows (`location_rows`, `location_page_children`) for the GET list: tuples of column
  values in a fixed order (`LOCATION_ROW`, `EVSE_ROW`, `CONNECTOR_ROW`), no model
  instances, and JSON columns fetched as their JSON text (`_json_text`) so that the
  serializer decodes them with orjson instead of Django's `json.loads`. Building ~1,300
  model instances and decoding ~4,000 JSON values with the standard library was most of
  the cost of a page (docs/benchmarks.md, "Locations API").

Ids are CiStrings (OCPI 2.2.1, Types, CiString type): they are compared as
`UPPER(column) = UPPER(value)`, the same expression as the unique constraints and
`location_upper_id_idx`, so the lookups use those indexes on PostgreSQL.
"""

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import ExpressionWrapper, F, Func, Prefetch, QuerySet, TextField
from django.db.models.functions import Upper

from . import sharing
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
    that way (OCPI 2.2.1, Locations module, 8.1 Flow and Lifecycle and 8.2.1 Sender Interface,
    GET List Response Data).
    """
    return Location.objects.order_by("row_id").prefetch_related(
        Prefetch("evses", queryset=_evses_with_connectors())
    )


def _json_text(name: str) -> ExpressionWrapper:
    """A JSON column read as its JSON text: the column itself, but typed as text so that
    Django does not decode it (JSONField.from_db_value, the standard `json` module).

    No cast in SQL: with LIMIT/OFFSET, PostgreSQL evaluates the select list of the skipped
    rows too, and a `::text` per JSON column made deep pages several times slower. The
    drivers give the text anyway: Django makes psycopg load `jsonb` as text (JSONField
    decodes it itself), and SQLite stores JSON as text.
    """
    return ExpressionWrapper(F(name), output_field=TextField())


class _UtcText(Func):
    """A DateTime column as naive UTC ISO text (`2024-03-01T10:00:00.123000`), which the
    serializer formats once per distinct value: loading ~1,200 `timestamptz` values per
    page through Django's Python-level psycopg loader cost more than the rest of the fetch.

    PostgreSQL: `to_char` of the UTC time (independent of DateStyle and TimeZone). SQLite:
    the stored text, which is naive UTC (`_datetime_column` checks the connection's zone).
    Used for EVSEs and Connectors only: the Location page has an OFFSET, and PostgreSQL
    evaluates the select list of the skipped rows too.
    """

    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
        return self.as_sql(compiler, connection, template=template, **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="%(expressions)s", **extra_context)


def _datetime_column(name: str) -> Any:
    """`_UtcText(name)` where the database gives UTC text reliably, else the column."""
    if connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and settings.USE_TZ and connection.timezone_name == "UTC"
    ):
        return _UtcText(name)
    return name


# Row layouts of the GET list: (name, kind) in the order of the tuples; kind "json" is a
# JSON column read as its text (`_json_text`), "time" a DateTime column that may come as UTC
# text (`_datetime_column`), "" a column as Django loads it.
LOCATION_ROW = (
    ("row_id", ""), ("country_code", ""), ("party_id", ""), ("id", ""), ("publish", ""),
    ("publish_allowed_to", "json"), ("name", ""), ("address", ""), ("city", ""),
    ("postal_code", ""), ("state", ""), ("country", ""), ("coordinates", "json"),
    ("related_locations", "json"), ("parking_type", ""), ("directions", "json"),
    ("operator", "json"), ("suboperator", "json"), ("owner", "json"),
    ("facilities", "json"), ("time_zone", ""), ("opening_times", "json"),
    ("charging_when_closed", ""), ("images", "json"), ("energy_mix", "json"),
    ("last_updated", ""),
)  # fmt: skip
EVSE_ROW = (
    ("row_id", ""), ("location_id", ""), ("uid", ""), ("evse_id", ""), ("status", ""),
    ("status_schedule", "json"), ("capabilities", "json"), ("floor_level", ""),
    ("coordinates", "json"), ("physical_reference", ""), ("directions", "json"),
    ("parking_restrictions", "json"), ("images", "json"), ("last_updated", "time"),
)  # fmt: skip
CONNECTOR_ROW = (
    ("evse_id", ""), ("id", ""), ("standard", ""), ("format", ""), ("power_type", ""),
    ("max_voltage", ""), ("max_amperage", ""), ("max_electric_power", ""),
    ("tariff_ids", "json"), ("terms_and_conditions", ""), ("last_updated", "time"),
)  # fmt: skip


def _row_columns(layout) -> list[Any]:
    columns: list[Any] = []
    for name, kind in layout:
        if kind == "json":
            columns.append(_json_text(name))
        elif kind == "time":
            columns.append(_datetime_column(name))
        else:
            columns.append(name)
    return columns


def location_rows(*, visible_to: int | None = None) -> QuerySet:
    """Every Location (that partner `visible_to` may see: `locations.sharing`) as a
    `LOCATION_ROW` tuple, in page order (oldest first).

    A values_list queryset: it can be filtered on Location fields, counted and sliced like
    `location_list()`; `location_page_children` fetches the EVSEs and Connectors of a page.
    """
    rows = Location.objects.order_by("row_id")
    if visible_to is not None:
        rows = rows.filter(sharing.visible_to(visible_to))
    return rows.values_list(*_row_columns(LOCATION_ROW))


def location_page_children(
    location_rows: Sequence[tuple],
) -> tuple[list[tuple], list[tuple]]:
    """(`EVSE_ROW` tuples, `CONNECTOR_ROW` tuples) of these Locations, each in row_id order.

    Two queries (none for an empty page, one when the page has no EVSEs), both filtered on
    the page's Location row ids. REMOVED EVSEs are included, as in `location_list()`.
    """
    if not location_rows:
        return [], []
    location_ids = [row[0] for row in location_rows]
    evses = list(
        EVSE.objects.filter(location_id__in=location_ids)
        .order_by("row_id")
        .values_list(*_row_columns(EVSE_ROW))
    )
    if not evses:
        return [], []
    # On the Location ids (a join) rather than on the ~4× more EVSE ids: fewer parameters
    # to build and send, and a faster plan on PostgreSQL.
    connectors = list(
        Connector.objects.filter(evse__location_id__in=location_ids)
        .order_by("row_id")
        .values_list(*_row_columns(CONNECTOR_ROW))
    )
    return evses, connectors


def location_get(location_id: str, *, visible_to: int | None = None) -> Location | None:
    """The Location with this id (any case), with its EVSEs and Connectors, or None.

    Location.id is unique per (country_code, party_id), so a platform that hosts several
    parties could hold the same id twice. The URL has no party segments, so the oldest such
    Location (lowest row_id) is the one served: deterministic, and stable over time because
    row ids never change. With `visible_to`, only a Location that partner may see.
    """
    found = location_list().alias(upper_id=Upper("id")).filter(upper_id=location_id.upper())
    return _visible(found, visible_to, "").first()


def evse_get(location_id: str, evse_uid: str, *, visible_to: int | None = None) -> EVSE | None:
    """The EVSE with this uid whose Location has this id (both any case), or None.

    EVSE.uid is unique on the whole platform, so the uid alone picks the EVSE even where two
    parties share a Location id; the Location id must still match (no EVSE of another
    Location is served under this one).
    """
    found = (
        _evses_with_connectors()
        .alias(upper_uid=Upper("uid"), upper_location_id=Upper("location__id"))
        .filter(upper_uid=evse_uid.upper(), upper_location_id=location_id.upper())
    )
    return _visible(found, visible_to, "location__").first()


def connector_get(
    location_id: str, evse_uid: str, connector_id: str, *, visible_to: int | None = None
) -> Connector | None:
    """The Connector with this id of that EVSE of that Location (all any case), or None."""
    found = (
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
    )
    return _visible(found, visible_to, "evse__location__").first()


def location_exists(location_id: str, *, visible_to: int | None = None) -> bool:
    found = Location.objects.alias(upper_id=Upper("id")).filter(upper_id=location_id.upper())
    return _visible(found, visible_to, "").exists()


def evse_exists(location_id: str, evse_uid: str, *, visible_to: int | None = None) -> bool:
    found = EVSE.objects.alias(
        upper_uid=Upper("uid"), upper_location_id=Upper("location__id")
    ).filter(upper_uid=evse_uid.upper(), upper_location_id=location_id.upper())
    return _visible(found, visible_to, "location__").exists()


def _visible(queryset: QuerySet, partner_id: int | None, path: str) -> QuerySet:
    """Only what partner `partner_id` may see (roaming agreements), when one is given."""
    return queryset if partner_id is None else queryset.filter(sharing.visible_to(partner_id, path))
