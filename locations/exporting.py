"""Export of the current Locations (`manage.py ocpi_export`): as OCPI JSON or as CSV.

JSON is what the Sender serves (OCPI 2.2.1, Locations module, 8.2.1 Sender Interface, GET
List): a list of whole Locations with their EVSEs (REMOVED ones included) and Connectors,
rendered by the same code as the API (`serializers.location_dicts_from_rows`), one Location
per line. `ocpi_import` reads it back.

CSV has one row per Connector, every field in a column (`locations.csv_columns`), for
spreadsheets; `ocpi_import --format csv` reads it back.

Either the whole set or some Locations (a queryset of them, e.g. the admin's filtered list).

Both are written as they are read: Locations in chunks by primary key (keyset, no OFFSET),
three queries per chunk (the Locations, their EVSEs, their Connectors), so memory and
queries per chunk do not grow with the number of Locations.
"""

import csv
from collections.abc import Iterator
from typing import IO, Any

from django.db.models import QuerySet

from versions.envelope import dumps

from . import selectors
from .csv_columns import CSV_COLUMNS, csv_rows
from .models import Location
from .serializers import location_dicts_from_rows

__all__ = [
    "CSV_COLUMNS",
    "csv_pieces",
    "json_pieces",
    "location_documents",
    "write_csv",
    "write_json",
]

CHUNK = 500


def location_documents(
    chunk: int = CHUNK, *, only: "QuerySet[Location] | None" = None
) -> Iterator[dict[str, Any]]:
    """Every Location (or those of `only`) as its OCPI JSON object (DateTimes already as
    OCPI text), oldest first, read `chunk` Locations at a time."""
    rows_query = selectors.location_rows()
    if only is not None:
        rows_query = rows_query.filter(row_id__in=only.order_by().values("row_id"))
    last = 0
    while True:
        rows = list(rows_query.filter(row_id__gt=last)[:chunk])
        if not rows:
            return
        evse_rows, connector_rows = selectors.location_page_children(rows)
        yield from location_dicts_from_rows(rows, evse_rows, connector_rows)
        if len(rows) < chunk:
            return
        last = rows[-1][0]


def json_pieces(chunk: int = CHUNK, *, only: "QuerySet[Location] | None" = None):
    """The JSON export in pieces (bytes), one Location per piece, for a streamed answer."""
    yield b"["
    for count, document in enumerate(location_documents(chunk, only=only)):
        yield (b"\n" if count == 0 else b",\n") + dumps(document)
    yield b"\n]\n"


class _Line:
    """A csv.writer target that hands back what one writerow(s) call wrote."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        text, self.parts = "".join(self.parts), []
        return text


def csv_pieces(chunk: int = CHUNK, *, only: "QuerySet[Location] | None" = None):
    """The CSV export in pieces (str): the header, then the rows of one Location each."""
    line = _Line()
    writer = csv.writer(line)
    writer.writerow(CSV_COLUMNS)
    yield line.take()
    for document in location_documents(chunk, only=only):
        writer.writerows(csv_rows(document))
        yield line.take()


def write_json(
    out: IO[bytes], chunk: int = CHUNK, *, only: "QuerySet[Location] | None" = None
) -> int:
    """The Locations as one JSON list, one Location per line; returns how many."""
    count = -2  # the opening and the closing bracket
    for piece in json_pieces(chunk, only=only):
        out.write(piece)
        count += 1
    return count


def write_csv(out: IO[str], chunk: int = CHUNK, *, only: "QuerySet[Location] | None" = None) -> int:
    """The Locations as CSV, one row per Connector; returns the number of Locations."""
    count = -1  # the header
    for piece in csv_pieces(chunk, only=only):
        out.write(piece)
        count += 1
    return count
