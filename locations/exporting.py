"""Export of the current Locations (`manage.py ocpi_export`): as OCPI JSON or as CSV.

JSON is what the Sender serves (OCPI 2.2.1, Locations module, 8.2.1 Sender Interface, GET
List): a list of whole Locations with their EVSEs (REMOVED ones included) and Connectors,
rendered by the same code as the API (`serializers.location_dicts_from_rows`), one Location
per line. `ocpi_import` reads it back.

CSV has one row per Connector (a Location without EVSEs gets one row with the EVSE and
Connector columns empty), for spreadsheets; list columns are joined with ";".

Both are written as they are read: Locations in chunks by primary key (keyset, no OFFSET),
three queries per chunk (the Locations, their EVSEs, their Connectors), so memory and
queries per chunk do not grow with the number of Locations.
"""

import csv
from collections.abc import Iterator
from typing import IO, Any

from versions.envelope import dumps

from . import selectors
from .serializers import location_dicts_from_rows

CHUNK = 500

CSV_COLUMNS = (
    "country_code", "party_id", "location_id", "publish", "name", "address", "city",
    "postal_code", "state", "country", "latitude", "longitude", "time_zone", "parking_type",
    "evse_uid", "evse_id", "status", "capabilities", "floor_level", "physical_reference",
    "connector_id", "standard", "format", "power_type", "max_voltage", "max_amperage",
    "max_electric_power", "tariff_ids", "terms_and_conditions",
)  # fmt: skip


def location_documents(chunk: int = CHUNK) -> Iterator[dict[str, Any]]:
    """Every Location as its OCPI JSON object (DateTimes already as OCPI text), oldest
    first, read `chunk` Locations at a time."""
    last = 0
    while True:
        rows = list(selectors.location_rows().filter(row_id__gt=last)[:chunk])
        if not rows:
            return
        evse_rows, connector_rows = selectors.location_page_children(rows)
        yield from location_dicts_from_rows(rows, evse_rows, connector_rows)
        if len(rows) < chunk:
            return
        last = rows[-1][0]


def write_json(out: IO[bytes], chunk: int = CHUNK) -> int:
    """The Locations as one JSON list, one Location per line; returns how many."""
    count = 0
    out.write(b"[")
    for document in location_documents(chunk):
        out.write(b"\n" if count == 0 else b",\n")
        out.write(dumps(document))
        count += 1
    out.write(b"\n]\n")
    return count


def _joined(values: list[str] | None) -> str:
    return ";".join(values or [])


def csv_rows(document: dict[str, Any]) -> Iterator[list[Any]]:
    """The CSV rows (in CSV_COLUMNS order) of one Location document."""
    location = [
        document["country_code"],
        document["party_id"],
        document["id"],
        "true" if document["publish"] else "false",
        document.get("name", ""),
        document["address"],
        document["city"],
        document.get("postal_code", ""),
        document.get("state", ""),
        document["country"],
        document["coordinates"]["latitude"],
        document["coordinates"]["longitude"],
        document["time_zone"],
        document.get("parking_type", ""),
    ]
    if not document["evses"]:
        yield location + [""] * (len(CSV_COLUMNS) - len(location))
    for evse in document["evses"]:
        evse_part = [
            evse["uid"],
            evse.get("evse_id", ""),
            evse["status"],
            _joined(evse.get("capabilities")),
            evse.get("floor_level", ""),
            evse.get("physical_reference", ""),
        ]
        for connector in evse["connectors"]:
            yield (
                location
                + evse_part
                + [
                    connector["id"],
                    connector["standard"],
                    connector["format"],
                    connector["power_type"],
                    connector["max_voltage"],
                    connector["max_amperage"],
                    connector.get("max_electric_power", ""),
                    _joined(connector.get("tariff_ids")),
                    connector.get("terms_and_conditions", ""),
                ]
            )


def write_csv(out: IO[str], chunk: int = CHUNK) -> int:
    """The Locations as CSV, one row per Connector; returns the number of Locations."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for document in location_documents(chunk):
        writer.writerows(csv_rows(document))
        count += 1
    return count
