"""`manage.py ocpi_import` and `ocpi_export`: OCPI JSON in and out, CSV out."""

import csv
import http.server
import io
import json
import threading
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from locations.csv_columns import COLUMNS
from locations.csv_columns import JSON as JSON_CELL
from locations.exporting import CSV_COLUMNS, write_json
from locations.importing import import_stream
from locations.models import EVSE, Connector, Location
from locations.selectors import location_list
from locations.serializers import location_data
from pushers.models import ChangeRecord
from tests.locations.conftest import create_site
from versions.envelope import dumps


def exported(**options) -> list[dict]:
    out = io.StringIO()
    call_command("ocpi_export", stdout=out, stderr=io.StringIO(), **options)
    return json.loads(out.getvalue())


def served() -> list[dict]:
    """What the Sender API serves for every Location (through the model-instance path)."""
    return [json.loads(dumps(location_data(location))) for location in location_list()]


def without_last_updated(value):
    if isinstance(value, dict):
        return {k: without_last_updated(v) for k, v in value.items() if k != "last_updated"}
    if isinstance(value, list):
        return [without_last_updated(v) for v in value]
    return value


def run_import(tmp_path: Path, content, *extra: str) -> tuple[str, str | None]:
    """Import `content` (JSON-able, or raw text) from a file: (stdout, error or None)."""
    path = tmp_path / "locations.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    out = io.StringIO()
    try:
        call_command("ocpi_import", str(path), *extra, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


def wipe() -> None:
    ChangeRecord.objects.all().delete()
    Connector.objects.all().delete()
    EVSE.objects.all().delete()
    Location.objects.all().delete()


def new_location(location_id: str = "LOC-NEW", **changes) -> dict:
    data = {
        "country_code": "NL",
        "party_id": "EXA",
        "id": location_id,
        "publish": True,
        "address": "Nieuwe Weg 1",
        "city": "Utrecht",
        "country": "NLD",
        "coordinates": {"latitude": "52.10000", "longitude": "5.10000"},
        "evses": [
            {
                "uid": f"{location_id}-E1",
                "evse_id": f"NL*EXA*E{location_id.replace('-', '')}*1",
                "status": "AVAILABLE",
                "connectors": [
                    {
                        "id": "1",
                        "standard": "IEC_62196_T2",
                        "format": "SOCKET",
                        "power_type": "AC_3_PHASE",
                        "max_voltage": 230,
                        "max_amperage": 32,
                    }
                ],
            }
        ],
        "time_zone": "Europe/Amsterdam",
    }
    data.update(changes)
    return data


# --- Export --------------------------------------------------------------------------------


def test_the_json_export_is_what_the_sender_serves(full_site, minimal_site):
    assert exported() == served()
    assert [doc["id"] for doc in exported()] == ["LOC-FULL", "LOC-MIN"]


def test_the_json_export_to_a_file_is_the_same(full_site, tmp_path):
    path = tmp_path / "out.json"
    call_command("ocpi_export", output=str(path), stderr=io.StringIO())
    assert json.loads(path.read_text()) == served()


def test_an_empty_database_exports_an_empty_list(db):
    assert exported() == []


def test_the_export_reads_a_constant_number_of_queries_per_chunk(db, django_assert_num_queries):
    for n in range(3):
        create_site(evses=2, connectors_per_evse=2, id=f"LOC-Q{n}")
    with django_assert_num_queries(3):  # one chunk: Locations, EVSEs, Connectors
        write_json(io.BytesIO(), chunk=10)
    for n in range(3, 9):
        create_site(evses=3, connectors_per_evse=1, id=f"LOC-Q{n}")
    with django_assert_num_queries(3):  # three times the Locations, still one chunk
        write_json(io.BytesIO(), chunk=10)
    # Chunks of 3: three chunks of three queries, and one to find there is no fourth.
    with django_assert_num_queries(10):
        write_json(io.BytesIO(), chunk=3)


def csv_export(**options) -> list[dict]:
    out = io.StringIO()
    call_command("ocpi_export", format="csv", stdout=out, stderr=io.StringIO(), **options)
    reader = csv.DictReader(io.StringIO(out.getvalue()))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


def test_the_csv_export_has_one_row_per_connector_with_every_field(full_site, minimal_site):
    create_site(evses=0, id="LOC-EMPTY", name="", postal_code="")
    document = served()[0]
    evse = document["evses"][0]

    # JSON cells compared as JSON (PostgreSQL's jsonb keeps its own order of the keys).
    json_columns = {c.name for c in COLUMNS if c.kind == JSON_CELL}
    rows = [
        {k: json.loads(v) if k in json_columns and v else v for k, v in row.items()}
        for row in csv_export()
    ]

    assert rows == [
        {
            "country_code": "NL", "party_id": "EXA", "location_id": "LOC-FULL",
            "publish": "false", "name": "Station Square P1", "address": "Stationsplein 1",
            "city": "Utrecht", "postal_code": "3511 ED", "state": "Utrecht", "country": "NLD",
            "latitude": "52.089444", "longitude": "5.110278", "time_zone": "Europe/Amsterdam",
            "parking_type": "PARKING_GARAGE", "evse_uid": "EVSE-FULL",
            "evse_id": "NL*EXA*E0001*1", "status": "AVAILABLE",
            "capabilities": "RFID_READER;REMOTE_START_STOP_CAPABLE", "floor_level": "-1",
            "physical_reference": "A1", "connector_id": "1", "standard": "IEC_62196_T2",
            "format": "CABLE", "power_type": "AC_3_PHASE", "max_voltage": "230",
            "max_amperage": "32", "max_electric_power": "22000",
            "tariff_ids": "AC-STD;AC-GREEN",
            "terms_and_conditions": "https://charging.example.com/terms",
            "facilities": "TRAIN_STATION;WIFI", "charging_when_closed": "false",
            **{
                name: document[name]
                for name in ("publish_allowed_to", "related_locations", "opening_times",
                             "directions", "operator", "suboperator", "owner", "images",
                             "energy_mix")
            },
            "evse_latitude": "52.089450", "evse_longitude": "5.110290",
            "evse_status_schedule": evse["status_schedule"],
            "evse_directions": [{"language": "en", "text": "Second bay on the left"}],
            "evse_parking_restrictions": "EV_ONLY",
            "evse_images": evse["images"],
        },
        {
            **dict.fromkeys(CSV_COLUMNS, ""),
            "country_code": "NL", "party_id": "EXA", "location_id": "LOC-MIN",
            "publish": "true", "address": "Dorpsstraat 2", "city": "Ergens", "country": "NLD",
            "latitude": "52.00000", "longitude": "5.00000", "time_zone": "Europe/Amsterdam",
            "evse_uid": "EVSE-MIN", "status": "UNKNOWN", "connector_id": "1",
            "standard": "DOMESTIC_F", "format": "SOCKET", "power_type": "AC_1_PHASE",
            "max_voltage": "230", "max_amperage": "10",
        },
        {
            **dict.fromkeys(CSV_COLUMNS, ""),
            "country_code": "NL", "party_id": "EXA", "location_id": "LOC-EMPTY",
            "publish": "true", "address": "Stationsplein 1", "city": "Utrecht",
            "country": "NLD", "latitude": "52.089444", "longitude": "5.110278",
            "time_zone": "Europe/Amsterdam",
        },
    ]  # fmt: skip


def test_the_export_of_some_locations_holds_only_those(full_site, minimal_site):
    only = Location.objects.filter(id="LOC-MIN")
    out = io.BytesIO()
    assert write_json(out, only=only) == 1
    assert json.loads(out.getvalue()) == served()[1:]


# --- Round trip ----------------------------------------------------------------------------


def test_export_wipe_import_export_gives_the_same_documents(full_site, minimal_site, tmp_path):
    site = create_site(evses=2, connectors_per_evse=2, id="LOC-TWO")
    removed = site.evses.first()
    from locations import services

    services.evse_remove(evse=removed)
    create_site(evses=0, id="LOC-EMPTY")
    before = exported()
    assert len(before) == 4
    wipe()

    out, error = run_import(tmp_path, before)

    assert error is None, out
    assert out.splitlines()[-1] == "4 created, 0 updated, 0 unchanged, 0 refused."
    # last_updated is the time of the import (the services stamp every change), the rest is
    # the same document.
    assert without_last_updated(exported()) == without_last_updated(before)


def test_importing_the_current_export_changes_nothing(full_site, minimal_site, tmp_path):
    before = exported()
    records = ChangeRecord.objects.count()

    out, error = run_import(tmp_path, before)

    assert error is None
    assert out.splitlines() == [
        "unchanged  NL*EXA*LOC-FULL",
        "unchanged  NL*EXA*LOC-MIN",
        "0 created, 0 updated, 2 unchanged, 0 refused.",
    ]
    assert exported() == before  # last_updated too: nothing was touched
    assert ChangeRecord.objects.count() == records


# --- Updates and the dry run ---------------------------------------------------------------


def _edited(document: dict) -> dict:
    """full_site with a new name, an EVSE status, a connector's amperage, a second connector,
    and a new EVSE."""
    document = json.loads(json.dumps(document))
    document["name"] = "Station Square (renamed)"
    del document["state"]
    evse = document["evses"][0]
    evse["status"] = "CHARGING"
    evse["connectors"][0]["max_amperage"] = 16
    evse["connectors"].append({**evse["connectors"][0], "id": "2", "format": "SOCKET"})
    document["evses"].append(new_location()["evses"][0] | {"uid": "EVSE-FULL-2"})
    return document


def test_an_update_reports_every_changed_field_and_saves_them(full_site, tmp_path):
    document = _edited(exported()[0])

    out, error = run_import(tmp_path, [document])

    assert error is None
    assert out.splitlines() == [
        "updated    NL*EXA*LOC-FULL: name, state; EVSE 'EVSE-FULL': status; "
        "EVSE 'EVSE-FULL', connector '1': max_amperage; EVSE 'EVSE-FULL', connector '2' added; "
        "EVSE 'EVSE-FULL-2' added",
        "0 created, 1 updated, 0 unchanged, 0 refused.",
    ]
    assert without_last_updated(exported()) == without_last_updated([document])


def test_an_evse_left_out_is_removed_and_a_connector_left_out_is_deleted(db, tmp_path):
    create_site(evses=2, connectors_per_evse=2, id="LOC-TWO")
    document = exported()[0]
    first, second = document["evses"]
    del document["evses"][1]
    first["connectors"].pop()

    out, error = run_import(tmp_path, [document])

    assert error is None
    assert out.splitlines()[0] == (
        f"updated    NL*EXA*LOC-TWO: EVSE {first['uid']!r}, connector '2' deleted; "
        f"EVSE {second['uid']!r} removed (status REMOVED)"
    )
    after = exported()[0]
    assert [len(e["connectors"]) for e in after["evses"]] == [1, 2]
    assert [e["status"] for e in after["evses"]] == ["AVAILABLE", "REMOVED"]


def test_a_dry_run_reports_what_would_change_and_saves_nothing(full_site, tmp_path):
    before = exported()
    records = ChangeRecord.objects.count()

    out, error = run_import(tmp_path, [_edited(before[0]), new_location()], "--dry-run")

    assert error is None
    lines = out.splitlines()
    assert lines[0] == "Dry run: nothing is saved."
    assert lines[1].startswith("updated    NL*EXA*LOC-FULL: name, state; EVSE 'EVSE-FULL'")
    assert lines[2] == "created    NL*EXA*LOC-NEW (1 EVSEs, 1 connectors)"
    assert lines[3] == (
        "1 would be created, 1 would be updated, 0 unchanged, 0 refused. "
        "Dry run: nothing was saved."
    )
    assert exported() == before
    assert ChangeRecord.objects.count() == records


def test_an_envelope_is_read_like_a_list(db, tmp_path):
    envelope = {
        "data": [new_location()],
        "status_code": 1000,
        "status_message": "Success",
        "timestamp": "2024-03-01T10:00:00Z",
    }
    out, error = run_import(tmp_path, envelope)
    assert error is None
    assert out.splitlines()[0] == "created    NL*EXA*LOC-NEW (1 EVSEs, 1 connectors)"
    assert Location.objects.get().id == "LOC-NEW"


# --- Refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '[{"country_code": "NL", "party_id": "EXA", "id": "A"}, {"id": ',  # cut off
        '[{"country_code": "NL",, }]',
        "",
        "not json",
    ],
)
def test_bad_json_is_refused_before_anything_is_saved(db, tmp_path, text):
    # A valid Location first: with bad JSON later in the file, it is not imported either.
    good = json.dumps(new_location())
    content = text.replace("[", f"[{good},", 1) if text.startswith("[") else text

    out, error = run_import(tmp_path, content)

    assert error is not None
    assert error.startswith(("Not valid JSON", "Not OCPI Locations JSON"))
    assert "nothing was imported" in error or "expected a list" in error
    assert not Location.objects.exists()


def test_an_envelope_of_a_failure_is_refused(db, tmp_path):
    _, error = run_import(tmp_path, {"data": [new_location()], "status_code": 2001})
    assert (
        error == "The envelope's status_code is 2001, not a success (1xxx); nothing was imported."
    )
    assert not Location.objects.exists()


def test_something_else_than_locations_is_refused(db, tmp_path):
    _, error = run_import(tmp_path, "42")
    assert error.startswith("Not OCPI Locations JSON: expected a list of Locations")


def _bad_standard() -> dict:
    data = new_location("LOC-BAD")
    data["evses"][0]["connectors"][0]["standard"] = "TYPE2"
    return data


def _without_address() -> dict:
    data = new_location("LOC-BAD")
    del data["address"]
    return data


def _bad_time_zone() -> dict:
    return new_location("LOC-BAD", time_zone="Mars/Olympus")


def _zero_evse_connectors() -> dict:
    data = new_location("LOC-BAD")
    data["evses"][0]["connectors"] = "none"
    return data


def _latitude_beyond_the_pole():
    data = new_location("LOC-BAD")
    data["coordinates"] = {"latitude": "95.00000", "longitude": "5.110278"}
    return data


def _evse_longitude_beyond_the_date_line():
    data = new_location("LOC-BAD")
    data["evses"][0]["coordinates"] = {"latitude": "52.08940", "longitude": "200.00000"}
    return data


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            _bad_standard(),
            "evses[0].connectors[0].standard: 'TYPE2' is not one of: ",
        ),
        (_without_address(), "address: is required"),
        (
            _bad_time_zone(),
            "time_zone: 'Mars/Olympus' is not an IANA time zone, e.g. Europe/Amsterdam",
        ),
        (_zero_evse_connectors(), "evses[0].connectors: "),
        (_latitude_beyond_the_pole(), "coordinates.latitude: 95.00000 is outside −90…90"),
        (
            _evse_longitude_beyond_the_date_line(),
            "evses[0].coordinates.longitude: 200.00000 is outside −180…180",
        ),
        (
            new_location("LOC-BAD", country_code="DE", party_id="ABC"),
            "country_code/party_id: DE*ABC is not a party of this platform (NL*EXA); "
            "nothing of it is imported.",
        ),
    ],
    ids=[
        "bad enum",
        "missing required field",
        "bad time zone",
        "not a list",
        "latitude out of range",
        "EVSE longitude out of range",
        "foreign party",
    ],
)
def test_an_invalid_location_is_refused_by_name_and_field_and_the_others_go_on(
    db, tmp_path, document, message
):
    out, error = run_import(tmp_path, [new_location("LOC-A"), document, new_location("LOC-B")])

    lines = out.splitlines()
    key = f"{document['country_code']}*{document['party_id']}*LOC-BAD"
    assert lines[0] == "created    NL*EXA*LOC-A (1 EVSEs, 1 connectors)"
    assert lines[1].startswith(f"refused    {key}: {message}"), lines[1]
    assert lines[2] == "created    NL*EXA*LOC-B (1 EVSEs, 1 connectors)"
    assert lines[3] == "2 created, 0 updated, 0 unchanged, 1 refused."
    assert error == "1 Location(s) refused; the others were imported."
    assert sorted(Location.objects.values_list("id", flat=True)) == ["LOC-A", "LOC-B"]
    assert EVSE.objects.count() == 2


def test_a_duplicate_id_in_the_file_refuses_every_copy(db, tmp_path):
    twice = [new_location("LOC-A"), new_location("LOC-D"), new_location("loc-d", address="X")]

    out, error = run_import(tmp_path, twice)

    assert out.splitlines()[:3] == [
        "created    NL*EXA*LOC-A (1 EVSEs, 1 connectors)",
        "refused    NL*EXA*LOC-D: id: this Location occurs 2 times in the file; "
        "none of them is imported.",
        "refused    NL*EXA*LOC-D: id: this Location occurs 2 times in the file; "
        "none of them is imported.",
    ]
    assert error == "2 Location(s) refused; the others were imported."
    assert list(Location.objects.values_list("id", flat=True)) == ["LOC-A"]


def test_a_location_refused_half_way_leaves_nothing_of_itself(full_site, tmp_path):
    """The Location's new name and first new EVSE pass, the second EVSE's EVSE ID belongs
    to another Location's EVSE: the whole Location stays as it was."""
    before = exported()
    document = json.loads(json.dumps(before[0]))
    document["name"] = "Renamed"
    extra = new_location()["evses"][0]
    document["evses"] += [
        extra | {"uid": "EVSE-X1", "evse_id": "NL*EXA*EX1*1"},
        extra | {"uid": "EVSE-X2", "evse_id": "NL*EXA*E0001*1"},  # full_site's EVSE ID
    ]
    records = ChangeRecord.objects.count()

    out, error = run_import(tmp_path, [document])

    assert out.splitlines()[0] == (
        "refused    NL*EXA*LOC-FULL: EVSE 'EVSE-X2': "
        "Another EVSE that is not removed has this EVSE ID."
    )
    assert error == "1 Location(s) refused; the others were imported."
    assert exported() == before
    assert ChangeRecord.objects.count() == records


def test_a_new_location_refused_half_way_leaves_nothing(full_site, tmp_path):
    document = new_location()
    document["evses"].append(
        document["evses"][0] | {"uid": "EVSE-FULL", "evse_id": "NL*EXA*ENEW*9"}
    )  # full_site's uid

    out, _ = run_import(tmp_path, [document])

    assert out.splitlines()[0] == (
        "refused    NL*EXA*LOC-NEW: EVSE 'EVSE-FULL': An EVSE with this uid exists already."
    )
    assert Location.objects.count() == 1
    assert not EVSE.objects.filter(uid="LOC-NEW-E1").exists()


def test_a_missing_file_is_refused(db):
    with pytest.raises(CommandError, match="There is no file '/nowhere.json'"):
        call_command("ocpi_import", "/nowhere.json", stdout=io.StringIO())


# --- From a URL ----------------------------------------------------------------------------


class _FileServer:
    """A loopback HTTP server answering every GET with `body`."""

    def __init__(self, body: bytes) -> None:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                if outer.announce:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.announce = True
        self.status = 200
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/locations.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_a_url_is_downloaded_and_imported(db):
    with _FileServer(json.dumps([new_location()]).encode()) as server:
        out = io.StringIO()
        call_command("ocpi_import", server.url, stdout=out, stderr=io.StringIO())
    assert out.getvalue().splitlines()[0] == "created    NL*EXA*LOC-NEW (1 EVSEs, 1 connectors)"
    assert Location.objects.get().id == "LOC-NEW"


@pytest.mark.parametrize("announce", [True, False], ids=["announced", "streamed"])
def test_a_url_sending_more_than_the_cap_is_refused(db, announce):
    body = json.dumps([new_location()]).encode()
    with _FileServer(body) as server:
        server.announce = announce
        with pytest.raises(CommandError, match="more than 100"):
            call_command("ocpi_import", server.url, "--max-bytes=100", stdout=io.StringIO())
    assert not Location.objects.exists()


def test_a_url_answering_an_error_is_refused(db):
    with _FileServer(b"{}") as server:
        server.status = 404
        with pytest.raises(CommandError, match=r"Could not fetch http://127.*: HTTP 404\."):
            call_command("ocpi_import", server.url, stdout=io.StringIO())


def test_a_url_that_is_no_http_is_refused(db):
    with pytest.raises(CommandError, match="There is no file 'ftp://example.com/x.json'"):
        call_command("ocpi_import", "ftp://example.com/x.json", stdout=io.StringIO())


def test_progress_is_shown_at_most_once_a_second_and_at_the_end():
    from locations.management.commands.ocpi_import import Progress

    now = [100.0]
    out = io.StringIO()
    progress = Progress(out, clock=lambda: now[0])
    for done, at in [(1, 100.2), (2, 100.9), (3, 101.0), (4, 101.5), (5, 102.1), (6, 102.2)]:
        now[0] = at
        progress(done, 6)
    assert out.getvalue().splitlines() == ["3/6 Locations", "5/6 Locations", "6/6 Locations"]


def test_a_dry_run_of_new_locations_created_together_saves_nothing(db, tmp_path):
    out, error = run_import(tmp_path, [new_location(f"LOC-{n}") for n in range(3)], "--dry-run")

    assert error is None
    assert out.splitlines()[1:] == [
        "created    NL*EXA*LOC-0 (1 EVSEs, 1 connectors)",
        "created    NL*EXA*LOC-1 (1 EVSEs, 1 connectors)",
        "created    NL*EXA*LOC-2 (1 EVSEs, 1 connectors)",
        "3 would be created, 0 would be updated, 0 unchanged, 0 refused. "
        "Dry run: nothing was saved.",
    ]
    assert not Location.objects.exists()
    assert not ChangeRecord.objects.exists()


def test_new_locations_are_created_one_by_one_when_one_of_a_batch_is_refused(full_site, tmp_path):
    clash = new_location("LOC-1")
    clash["evses"][0]["uid"] = "evse-full"  # full_site's EVSE, in another case
    sites = [new_location("LOC-0"), clash, new_location("LOC-2")]

    out, error = run_import(tmp_path, sites)

    assert out.splitlines() == [
        "created    NL*EXA*LOC-0 (1 EVSEs, 1 connectors)",
        "refused    NL*EXA*LOC-1: EVSE 'evse-full': An EVSE with this uid exists already.",
        "created    NL*EXA*LOC-2 (1 EVSEs, 1 connectors)",
        "2 created, 0 updated, 0 unchanged, 1 refused.",
    ]
    assert error == "1 Location(s) refused; the others were imported."
    assert sorted(Location.objects.values_list("id", flat=True)) == [
        "LOC-0",
        "LOC-2",
        "LOC-FULL",
    ]


def test_batches_keep_the_order_of_the_file(db, tmp_path):
    path = tmp_path / "locations.json"
    sites = [new_location(f"LOC-{n}") for n in range(5)]
    sites[3]["country"] = "NL"  # refused by the schema check
    path.write_text(json.dumps(sites))
    seen = []
    with path.open("rb") as stream:
        import_stream(stream, on_outcome=lambda o: seen.append((o.key, o.action)), batch_size=2)
    assert seen == [
        ("NL*EXA*LOC-0", "created"),
        ("NL*EXA*LOC-1", "created"),
        ("NL*EXA*LOC-2", "created"),
        ("NL*EXA*LOC-3", "refused"),
        ("NL*EXA*LOC-4", "created"),
    ]


def test_empty_and_null_members_read_as_left_out(minimal_site, tmp_path):
    """Not what we serve, letter for letter (so the services compare), but the same values."""
    before = exported()
    document = json.loads(json.dumps(before[0]))
    document |= {"name": "", "facilities": [], "operator": None, "last_updated": None}
    document["evses"][0] |= {"capabilities": [], "floor_level": None}

    out, error = run_import(tmp_path, [document])

    assert error is None
    assert out.splitlines()[0] == "unchanged  NL*EXA*LOC-MIN"
    assert exported() == before


def test_a_re_import_of_unchanged_locations_costs_three_queries_per_batch(
    db, tmp_path, django_assert_num_queries
):
    for n in range(2):
        create_site(evses=2, connectors_per_evse=2, id=f"LOC-Q{n}")
    small = tmp_path / "small.json"
    small.write_text(json.dumps(exported()))
    for n in range(2, 6):
        create_site(evses=3, connectors_per_evse=1, id=f"LOC-Q{n}")
    large = tmp_path / "large.json"
    large.write_text(json.dumps(exported()))

    for path in (small, large):
        with path.open("rb") as stream, django_assert_num_queries(3):
            totals = import_stream(stream)
    assert totals.unchanged == 6


def test_every_party_of_the_platform_is_ours(db, tmp_path, settings):
    settings.OCPI_PARTIES = json.dumps(
        [
            {"country_code": "NL", "party_id": "EXA", "name": "Example"},
            {"country_code": "BE", "party_id": "WHL", "name": "White label"},
        ]
    )
    sites = [new_location("LOC-A"), new_location("LOC-B", country_code="BE", party_id="WHL")]
    sites.append(new_location("LOC-C", country_code="DE", party_id="ABC"))

    out, error = run_import(tmp_path, sites)

    assert out.splitlines()[:3] == [
        "created    NL*EXA*LOC-A (1 EVSEs, 1 connectors)",
        "created    BE*WHL*LOC-B (1 EVSEs, 1 connectors)",
        "refused    DE*ABC*LOC-C: country_code/party_id: DE*ABC is not a party of this "
        "platform (NL*EXA, BE*WHL); nothing of it is imported.",
    ]
    assert error == "1 Location(s) refused; the others were imported."
