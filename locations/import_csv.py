"""Reading a CSV import (`locations.importing` with `format="csv"`): the columns of
`locations.csv_columns`, one row per Connector, the rows of one Location one after another.

Like the JSON input, the file is read twice and streamed: a first pass checks the header,
counts the Locations and finds a Location whose rows come in more than one run (a duplicate
id: none of its copies is imported); the second pass builds one Location document (OCPI
JSON) at a time from its rows and hands it to the same checks and services as a JSON import.
A row that cannot be read (a cell that is not a number, not JSON, a Location or EVSE column
that differs between rows of the same object) refuses its Location, naming the row and the
column; the other Locations go on.
"""

import csv
import io
from collections.abc import Iterator
from typing import IO, Any

from .csv_columns import BY_NAME, LOCATION_KEY, CellError, put_cell
from .import_files import ImportFileError, Scan, location_key


class Unreadable:
    """A Location of the input that cannot even be built (refused with `message`)."""

    def __init__(self, key: str, message: str) -> None:
        self.key, self.message = key, message


def _text(stream: IO[bytes]) -> io.TextIOWrapper:
    # utf-8-sig: spreadsheets often start the file with a byte order mark.
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


def _delimiter(stream: IO[bytes]) -> str:
    """`,` as we write it, or `;` as spreadsheets write CSV in locales with a decimal comma
    (the header tells: our column names hold neither)."""
    header = stream.readline()
    stream.seek(0)
    return ";" if b";" in header and b"," not in header else ","


def _rows(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of the data rows; the header is checked first."""
    delimiter = _delimiter(stream)
    text = _text(stream)
    try:
        reader = csv.DictReader(text, delimiter=delimiter)
        header = reader.fieldnames or []
        unknown = [name for name in header if name not in BY_NAME]
        if unknown:
            raise ImportFileError(
                f"Unknown CSV column(s): {', '.join(unknown)}. The columns are those of "
                "`ocpi_export --format csv`; nothing was imported."
            )
        missing = [name for name in LOCATION_KEY if name not in header]
        if missing:
            raise ImportFileError(
                f"The CSV has no column {', '.join(missing)}: every row names its Location "
                "by country_code, party_id and location_id; nothing was imported."
            )
        for row in reader:
            if None in row:
                raise ImportFileError(
                    f"Line {reader.line_num} has more cells than the header; nothing was imported."
                )
            yield reader.line_num, {name: value or "" for name, value in row.items()}
    except csv.Error as exc:
        raise ImportFileError(f"Not valid CSV ({exc}); nothing was imported.") from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"The CSV is not UTF-8 ({exc}); nothing was imported.") from exc
    finally:
        text.detach()  # leave the binary stream open for the next pass


def _key(row: dict[str, str]) -> str:
    return location_key(*(row.get(name, "").strip() for name in LOCATION_KEY))


def scan_csv(stream: IO[bytes]) -> Scan:
    """The first pass: header, number of Locations, ids whose rows come in several runs."""
    runs: dict[str, int] = {}
    previous = None
    try:
        for _, row in _rows(stream):
            key = _key(row)
            if key != previous:
                runs[key] = runs.get(key, 0) + 1
                previous = key
    finally:
        stream.seek(0)
    return Scan("csv", len(runs), {key: n for key, n in runs.items() if n > 1})


class _Builder:
    """One Location document from its rows."""

    def __init__(self) -> None:
        self.location: dict[str, Any] = {}
        self.seen: dict[tuple[str, str], tuple[int, str]] = {}  # (object, column) → first
        self.evses: dict[str, dict[str, Any]] = {}
        self.without_evse: list[int] = []
        self.rows = 0

    def _same(self, obj: str, line: int, name: str, value: str, target: dict) -> None:
        """A Location or EVSE cell: set on its first non-empty row, then equal or empty."""
        if not value:
            return
        first = self.seen.get((obj, name))
        if first is None:
            self.seen[(obj, name)] = (line, value)
            put_cell(target, BY_NAME[name], value)
        elif first[1] != value:
            raise CellError(
                f"line {line}, column {name}: {value!r} differs from {first[1]!r} on line "
                f"{first[0]} ({obj}); its rows must agree"
            )

    def add(self, line: int, row: dict[str, str]) -> None:
        self.rows += 1
        try:
            for name, value in row.items():
                if BY_NAME[name].level == "location":
                    self._same("the Location", line, name, value.strip(), self.location)
            uid = row.get("evse_uid", "").strip()
            connector_cells = {
                n: v.strip() for n, v in row.items() if BY_NAME[n].level == "connector"
            }
            if not uid:
                if any(connector_cells.values()) or any(
                    v.strip() for n, v in row.items() if BY_NAME[n].level == "evse"
                ):
                    raise CellError(f"line {line}, column evse_uid: is empty")
                self.without_evse.append(line)
                return
            evse = self.evses.get(uid.upper())
            if evse is None:
                evse = self.evses[uid.upper()] = {"uid": uid, "connectors": []}
            for name, value in row.items():
                if BY_NAME[name].level == "evse" and name != "evse_uid":
                    self._same(f"EVSE {uid!r}", line, name, value.strip(), evse)
            if any(connector_cells.values()):
                connector: dict[str, Any] = {}
                for name, value in connector_cells.items():
                    if value:
                        put_cell(connector, BY_NAME[name], value)
                evse["connectors"].append(connector)
        except CellError as exc:
            message = str(exc)
            where = message if message.startswith("line") else f"line {line}, {message}"
            raise CellError(where) from None

    def document(self) -> dict[str, Any]:
        if self.without_evse and (self.evses or len(self.without_evse) > 1):
            raise CellError(
                f"line {self.without_evse[0]}, column evse_uid: is empty (only a Location "
                "without EVSEs has a row without evse_uid, and only one)"
            )
        return {**self.location, "evses": list(self.evses.values())}


def read_csv_locations(stream: IO[bytes]) -> Iterator[Any]:
    """The Locations of a CSV, one at a time: a document, or `Unreadable` with the reason."""
    builder: _Builder | None = None
    key = None
    problem = ""

    def finish() -> Any:
        if problem:
            return Unreadable(key, problem)  # type: ignore[arg-type]
        assert builder is not None
        try:
            return builder.document()
        except CellError as exc:
            return Unreadable(key, str(exc))  # type: ignore[arg-type]

    for line, row in _rows(stream):
        row_key = _key(row)
        if row_key != key:
            if builder is not None:
                yield finish()
            builder, key, problem = _Builder(), row_key, ""
        if problem:
            continue
        try:
            builder.add(line, row)  # type: ignore[union-attr]
        except CellError as exc:
            problem = str(exc)
    if builder is not None:
        yield finish()
