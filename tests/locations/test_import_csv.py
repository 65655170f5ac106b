"""`ocpi_import` of CSV (`locations.import_csv`): the columns of `ocpi_export --format csv`,
one row per Connector, read back through the same checks and services as OCPI JSON."""

import csv
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from locations import services
from locations.csv_columns import CSV_COLUMNS
from locations.models import EVSE, Location
from pushers.models import ChangeRecord
from tests.locations.conftest import create_site
from tests.locations.test_import_export import exported, wipe, without_last_updated


def csv_text(rows: list[dict], columns=CSV_COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def exported_csv() -> str:
    out = io.StringIO()
    call_command("ocpi_export", format="csv", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def run_csv_import(tmp_path: Path, text: str, *extra: str, name="sites.csv"):
    """(stdout, error or None) of `ocpi_import` on a file holding `text`."""
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    out = io.StringIO()
    try:
        call_command("ocpi_import", str(path), *extra, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


# The columns a spreadsheet user might keep: the required ones and a few more.
SHEET_COLUMNS = (
    "country_code", "party_id", "location_id", "publish", "name", "address", "city",
    "country", "latitude", "longitude", "time_zone", "evse_uid", "evse_id", "status",
    "connector_id", "standard", "format", "power_type", "max_voltage", "max_amperage",
    "tariff_ids", "opening_times",
)  # fmt: skip


def sheet_row(location_id="LOC-S1", uid="LOC-S1-E1", connector="1", **cells) -> dict:
    row = {
        "country_code": "NL", "party_id": "EXA", "location_id": location_id,
        "publish": "true", "name": "Sheet site", "address": "Markt 1", "city": "Delft",
        "country": "NLD", "latitude": "52.01160", "longitude": "4.35710",
        "time_zone": "Europe/Amsterdam", "evse_uid": uid,
        "evse_id": f"NL*EXA*E{uid.replace('-', '')}", "status": "AVAILABLE",
        "connector_id": connector, "standard": "IEC_62196_T2", "format": "SOCKET",
        "power_type": "AC_3_PHASE", "max_voltage": "230", "max_amperage": "16",
        "tariff_ids": "AC-1;AC-2", "opening_times": '{"twentyfourseven": true}',
    }  # fmt: skip
    row.update(cells)
    return row


def test_a_csv_export_imported_into_an_empty_database_gives_the_same_locations(
    full_site, minimal_site, tmp_path
):
    site = create_site(evses=2, connectors_per_evse=2, id="LOC-TWO")
    services.evse_remove(evse=site.evses.first())
    create_site(evses=0, id="LOC-EMPTY")
    before, text = exported(), exported_csv()
    wipe()

    out, error = run_csv_import(tmp_path, text)

    assert error is None, out
    assert out.splitlines()[-1] == "4 created, 0 updated, 0 unchanged, 0 refused."
    assert without_last_updated(exported()) == without_last_updated(before)


def test_importing_the_current_csv_export_changes_nothing(full_site, minimal_site, tmp_path):
    before = exported()
    records = ChangeRecord.objects.count()

    out, error = run_csv_import(tmp_path, exported_csv())

    assert error is None
    assert out.splitlines() == [
        "unchanged  NL*EXA*LOC-FULL",
        "unchanged  NL*EXA*LOC-MIN",
        "0 created, 0 updated, 2 unchanged, 0 refused.",
    ]
    assert exported() == before
    assert ChangeRecord.objects.count() == records


def test_a_spreadsheet_with_some_columns_creates_the_site_its_rows_describe(db, tmp_path):
    # Later rows of the same Location (and EVSE) may leave their columns empty.
    blank_location = dict.fromkeys(
        ["publish", "name", "address", "city", "country", "latitude", "longitude",
         "time_zone", "opening_times"], ""
    )  # fmt: skip
    rows = [
        sheet_row(),
        sheet_row(connector="2", **blank_location, evse_id="", status=""),
        sheet_row(
            uid="LOC-S1-E2",
            standard="IEC_62196_T2_COMBO",
            power_type="DC",
            max_voltage="920",
            max_amperage="200.0",
            tariff_ids="",
            format="CABLE",
            **blank_location,
        ),  # fmt: skip
    ]

    out, error = run_csv_import(tmp_path, csv_text(rows, SHEET_COLUMNS), "--dry-run")
    assert error is None
    assert out.splitlines()[1] == "created    NL*EXA*LOC-S1 (2 EVSEs, 3 connectors)"
    assert not Location.objects.exists()

    out, error = run_csv_import(tmp_path, csv_text(rows, SHEET_COLUMNS))
    assert error is None

    connector = {
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_voltage": 230,
        "max_amperage": 16,
        "tariff_ids": ["AC-1", "AC-2"],
    }
    assert without_last_updated(exported()) == [
        {
            "country_code": "NL",
            "party_id": "EXA",
            "id": "LOC-S1",
            "publish": True,
            "name": "Sheet site",
            "address": "Markt 1",
            "city": "Delft",
            "country": "NLD",
            "coordinates": {"latitude": "52.01160", "longitude": "4.35710"},
            "evses": [
                {
                    "uid": "LOC-S1-E1",
                    "evse_id": "NL*EXA*ELOCS1E1",
                    "status": "AVAILABLE",
                    "connectors": [{"id": "1", **connector}, {"id": "2", **connector}],
                },
                {
                    "uid": "LOC-S1-E2",
                    "evse_id": "NL*EXA*ELOCS1E2",
                    "status": "AVAILABLE",
                    "connectors": [
                        {
                            "id": "1",
                            "standard": "IEC_62196_T2_COMBO",
                            "format": "CABLE",
                            "power_type": "DC",
                            "max_voltage": 920,
                            "max_amperage": 200,
                        },  # fmt: skip
                    ],
                },
            ],
            "time_zone": "Europe/Amsterdam",
            "opening_times": {"twentyfourseven": True},
        }
    ]


# --- Refusals: one Location refused by line and column, the others imported ----------------


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({"max_voltage": "230 V"}, "line 3, column max_voltage: '230 V' is not a whole number"),
        ({"publish": "maybe"}, "line 3, column publish: 'maybe' is not true or false"),
        (
            {"opening_times": "{twentyfourseven: true}"},
            "line 3, column opening_times: not valid JSON (",
        ),
        ({"standard": "TYPE2"}, "evses[0].connectors[0].standard: 'TYPE2' is not one of: "),
        ({"latitude": "95.00000"}, "coordinates.latitude: 95.00000 is outside −90…90"),
        ({"time_zone": "Mars/Olympus"}, "time_zone: 'Mars/Olympus' is not an IANA time zone"),
        (
            {"country_code": "DE", "party_id": "ABC"},
            "country_code/party_id: DE*ABC is not a party of this platform (NL*EXA); "
            "nothing of it is imported.",
        ),
    ],
    ids=[
        "not a number",
        "not a boolean",
        "not JSON",
        "spec violation",
        "latitude",
        "time zone",
        "unknown party",
    ],  # fmt: skip
)
def test_a_bad_cell_refuses_its_location_by_line_and_column_and_the_others_go_on(
    db, tmp_path, cells, message
):
    rows = [sheet_row("LOC-A", "A-1"), sheet_row("LOC-BAD", "BAD-1", **cells),
            sheet_row("LOC-B", "B-1")]  # fmt: skip

    out, error = run_csv_import(tmp_path, csv_text(rows, SHEET_COLUMNS))

    lines = out.splitlines()
    key = f"{cells.get('country_code', 'NL')}*{cells.get('party_id', 'EXA')}*LOC-BAD"
    assert lines[0] == "created    NL*EXA*LOC-A (1 EVSEs, 1 connectors)"
    assert lines[1].startswith(f"refused    {key}: {message}"), lines[1]
    assert lines[2] == "created    NL*EXA*LOC-B (1 EVSEs, 1 connectors)"
    assert error == "1 Location(s) refused; the others were imported."
    assert sorted(Location.objects.values_list("id", flat=True)) == ["LOC-A", "LOC-B"]
    assert not EVSE.objects.filter(uid="BAD-1").exists()


def test_rows_of_one_location_that_disagree_refuse_it(db, tmp_path):
    rows = [sheet_row(), sheet_row(connector="2", name="Another name")]

    out, error = run_csv_import(tmp_path, csv_text(rows, SHEET_COLUMNS))

    assert out.splitlines()[0] == (
        "refused    NL*EXA*LOC-S1: line 3, column name: 'Another name' differs from "
        "'Sheet site' on line 2 (the Location); its rows must agree"
    )
    assert error is not None
    assert not Location.objects.exists()


def test_a_row_with_a_connector_but_no_evse_uid_refuses_its_location(db, tmp_path):
    rows = [sheet_row(), sheet_row(uid="", connector="2")]

    out, _ = run_csv_import(tmp_path, csv_text(rows, SHEET_COLUMNS))

    assert out.splitlines()[0] == "refused    NL*EXA*LOC-S1: line 3, column evse_uid: is empty"
    assert not Location.objects.exists()


def test_a_location_whose_rows_come_twice_in_the_file_is_refused_every_time(db, tmp_path):
    rows = [sheet_row("LOC-D", "D-1"), sheet_row("LOC-A", "A-1"),
            sheet_row("loc-d", "D-2", address="Elsewhere 2")]  # fmt: skip

    out, error = run_csv_import(tmp_path, csv_text(rows, SHEET_COLUMNS))

    assert out.splitlines()[:3] == [
        "refused    NL*EXA*LOC-D: id: this Location occurs 2 times in the file; "
        "none of them is imported.",
        "created    NL*EXA*LOC-A (1 EVSEs, 1 connectors)",
        "refused    NL*EXA*LOC-D: id: this Location occurs 2 times in the file; "
        "none of them is imported.",
    ]
    assert error == "2 Location(s) refused; the others were imported."
    assert list(Location.objects.values_list("id", flat=True)) == ["LOC-A"]


# --- Refusals of the whole file: nothing saved -------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            csv_text([sheet_row()], (*SHEET_COLUMNS, "colour")),
            "Unknown CSV column(s): colour. The columns are those of `ocpi_export --format "
            "csv`; nothing was imported.",
        ),
        (
            csv_text([{"location_id": "X", "name": "Y"}], ("location_id", "name")),
            "The CSV has no column country_code, party_id: every row names its Location by "
            "country_code, party_id and location_id; nothing was imported.",
        ),
        (
            csv_text([sheet_row()], SHEET_COLUMNS) + "NL,EXA,LOC-X" + ",x" * 30 + "\n",
            "Line 3 has more cells than the header; nothing was imported.",
        ),
        (
            csv_text([sheet_row(name="Caf\u00e9")], SHEET_COLUMNS).encode("latin-1"),
            "The CSV is not UTF-8 (",
        ),
    ],
    ids=["unknown column", "no key column", "too many cells", "not UTF-8"],
)
def test_a_file_that_is_not_our_csv_is_refused_before_anything_is_saved(
    db, tmp_path, content, message
):
    # The first Location of the file is valid: it is not imported either.
    out, error = run_csv_import(tmp_path, content)

    assert error is not None and error.startswith(message), error
    assert not Location.objects.exists()
    assert not ChangeRecord.objects.exists()


def test_the_format_follows_the_extension_unless_it_is_given(db, tmp_path):
    text = csv_text([sheet_row()], SHEET_COLUMNS)

    _, error = run_csv_import(tmp_path, text, name="sites.txt")
    assert error is not None and error.startswith("Not OCPI Locations JSON")

    out, error = run_csv_import(tmp_path, text, "--format", "csv", name="sites.txt")
    assert error is None
    assert out.splitlines()[0] == "created    NL*EXA*LOC-S1 (1 EVSEs, 1 connectors)"


def test_the_progress_bar_is_drawn_in_place_on_a_terminal():
    from locations.management.commands.ocpi_import import Progress

    now = [0.0]
    out = io.StringIO()
    progress = Progress(out, clock=lambda: now[0], tty=True)
    for done, at in [(1, 0.5), (50, 1.0), (100, 1.2)]:
        now[0] = at
        progress(done, 100)
    bar = "#" * 15 + "." * 15
    assert out.getvalue() == (
        f"\r[{bar}]  50%  50/100 Locations\r[{'#' * 30}] 100%  100/100 Locations\n"
    )


def test_a_spreadsheet_saved_with_semicolons_is_read_too(db, tmp_path):
    # Spreadsheets in locales with a decimal comma separate the cells with ";".
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SHEET_COLUMNS, delimiter=";")
    writer.writeheader()
    writer.writerow(sheet_row())

    text, error = run_csv_import(tmp_path, out.getvalue())

    assert error is None
    assert text.splitlines()[0] == "created    NL*EXA*LOC-S1 (1 EVSEs, 1 connectors)"
    assert exported()[0]["evses"][0]["connectors"][0]["tariff_ids"] == ["AC-1", "AC-2"]
