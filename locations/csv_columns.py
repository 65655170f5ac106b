"""The CSV form of Locations, for spreadsheets: one row per Connector (`ocpi_export --format
csv`, `ocpi_import --format csv`, the admin's Import… and Export… pages).

Every OCPI field of a Location, its EVSEs and their Connectors has a column, so an export
read back in gives the same Locations:

- plain values as they are (`publish`, `charging_when_closed`: `true`/`false`; numbers as
  digits); coordinates as two columns (`latitude`, `longitude`; `evse_latitude`,
  `evse_longitude`);
- lists of plain values joined with `;` (`capabilities`, `facilities`, `tariff_ids`,
  `evse_parking_restrictions`);
- sub-objects and lists of them as a JSON cell (`opening_times`, `operator`, `images`,
  `evse_status_schedule`, ...), exactly the OCPI JSON of the field.

The Location's columns repeat on each of its rows and the EVSE's on each row of that EVSE
(on reading, a later row may also leave them empty). A Location without EVSEs is one row with
the EVSE and Connector columns empty.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

TEXT, BOOL, INT, LIST, JSON, LATITUDE, LONGITUDE = (
    "text", "bool", "int", "list", "json", "latitude", "longitude",
)  # fmt: skip


@dataclass(frozen=True)
class Column:
    name: str  # the CSV header
    level: str  # location / evse / connector
    field: str  # the OCPI member
    kind: str


def _columns(level: str, *spec: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(name, level, member, kind) for name, member, kind in spec)


LOCATION_KEY = ("country_code", "party_id", "location_id")

COLUMNS: tuple[Column, ...] = (
    _columns(
        "location",
        ("country_code", "country_code", TEXT),
        ("party_id", "party_id", TEXT),
        ("location_id", "id", TEXT),
        ("publish", "publish", BOOL),
        ("name", "name", TEXT),
        ("address", "address", TEXT),
        ("city", "city", TEXT),
        ("postal_code", "postal_code", TEXT),
        ("state", "state", TEXT),
        ("country", "country", TEXT),
        ("latitude", "coordinates", LATITUDE),
        ("longitude", "coordinates", LONGITUDE),
        ("time_zone", "time_zone", TEXT),
        ("parking_type", "parking_type", TEXT),
    )
    + _columns(
        "evse",
        ("evse_uid", "uid", TEXT),
        ("evse_id", "evse_id", TEXT),
        ("status", "status", TEXT),
        ("capabilities", "capabilities", LIST),
        ("floor_level", "floor_level", TEXT),
        ("physical_reference", "physical_reference", TEXT),
    )
    + _columns(
        "connector",
        ("connector_id", "id", TEXT),
        ("standard", "standard", TEXT),
        ("format", "format", TEXT),
        ("power_type", "power_type", TEXT),
        ("max_voltage", "max_voltage", INT),
        ("max_amperage", "max_amperage", INT),
        ("max_electric_power", "max_electric_power", INT),
        ("tariff_ids", "tariff_ids", LIST),
        ("terms_and_conditions", "terms_and_conditions", TEXT),
    )
    # The less common fields after the everyday ones.
    + _columns(
        "location",
        ("facilities", "facilities", LIST),
        ("charging_when_closed", "charging_when_closed", BOOL),
        ("publish_allowed_to", "publish_allowed_to", JSON),
        ("related_locations", "related_locations", JSON),
        ("opening_times", "opening_times", JSON),
        ("directions", "directions", JSON),
        ("operator", "operator", JSON),
        ("suboperator", "suboperator", JSON),
        ("owner", "owner", JSON),
        ("images", "images", JSON),
        ("energy_mix", "energy_mix", JSON),
    )
    + _columns(
        "evse",
        ("evse_latitude", "coordinates", LATITUDE),
        ("evse_longitude", "coordinates", LONGITUDE),
        ("evse_status_schedule", "status_schedule", JSON),
        ("evse_directions", "directions", JSON),
        ("evse_parking_restrictions", "parking_restrictions", LIST),
        ("evse_images", "images", JSON),
    )
)
CSV_COLUMNS = tuple(column.name for column in COLUMNS)
BY_NAME = {column.name: column for column in COLUMNS}


# --- Writing ---------------------------------------------------------------------------------


def _cell(column: Column, data: dict[str, Any]) -> Any:
    if column.kind in (LATITUDE, LONGITUDE):
        return (data.get("coordinates") or {}).get(column.kind, "")
    value = data.get(column.field)
    if value is None:
        return ""
    if column.kind == BOOL:
        return "true" if value else "false"
    if column.kind == LIST:
        return ";".join(value)
    if column.kind == JSON:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else ""
    return value


def csv_rows(document: dict[str, Any]) -> Iterator[list[Any]]:
    """The CSV rows (in CSV_COLUMNS order) of one Location document (OCPI JSON)."""
    by_level: dict[str, Any] = {"location": document}
    evses = document.get("evses") or []
    if not evses:
        yield [_cell(c, document) if c.level == "location" else "" for c in COLUMNS]
    for evse in evses:
        by_level["evse"] = evse
        for connector in evse.get("connectors") or [{}]:
            by_level["connector"] = connector
            yield [_cell(c, by_level[c.level]) for c in COLUMNS]


# --- Reading ---------------------------------------------------------------------------------


class CellError(ValueError):
    """A cell that cannot be read as its column's kind (the message names the column)."""


_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def read_cell(column: Column, text: str) -> Any:
    """The OCPI value of a non-empty cell (coordinates: the text; see `put_cell`)."""
    if column.kind == BOOL:
        word = text.strip().lower()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise CellError(f"column {column.name}: {text!r} is not true or false")
    if column.kind == INT:
        try:
            number = float(text)
        except ValueError:
            raise CellError(f"column {column.name}: {text!r} is not a whole number") from None
        if not number.is_integer():
            raise CellError(f"column {column.name}: {text!r} is not a whole number")
        return int(number)
    if column.kind == LIST:
        return [part.strip() for part in text.split(";") if part.strip()]
    if column.kind == JSON:
        try:
            return json.loads(text)
        except ValueError as exc:
            raise CellError(f"column {column.name}: not valid JSON ({exc})") from None
    return text


def put_cell(target: dict[str, Any], column: Column, text: str) -> None:
    """Set the member of `column` in `target` from a non-empty cell."""
    value = read_cell(column, text)
    if column.kind in (LATITUDE, LONGITUDE):
        target.setdefault("coordinates", {})[column.kind] = value
    else:
        target[column.field] = value
