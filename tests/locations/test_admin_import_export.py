"""The Location list's Import… and Export… pages (`locations/admin/import_export.py`)."""

import csv
import io
import json
import os
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from locations.csv_columns import CSV_COLUMNS
from locations.import_uploads import UPLOAD_TTL
from locations.models import EVSE, Location
from pushers.models import ChangeRecord
from tests.locations.test_import_export import _edited, exported, new_location, served

IMPORT = "/admin/locations/location/import/"
EXPORT = "/admin/locations/location/export/"


@pytest.fixture(autouse=True)
def _private_var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.OCPI_COUNTRY_CODE, settings.OCPI_PARTY_ID = "NL", "EXA"


def uploads(settings) -> list[str]:
    folder = settings.VAR_DIR / "imports"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def upload(client: Client, content, name="locations.json", **fields):
    data = content if isinstance(content, (str, bytes)) else json.dumps(content)
    file = SimpleUploadedFile(name, data.encode() if isinstance(data, str) else data)
    return client.post(IMPORT, {"file": file, **fields})


def report(response) -> list[tuple[str, str, str]]:
    return [
        (o.key, o.action, "; ".join(o.changes) if o.action == "updated" else o.message)
        for o in response.context["outcomes"]
    ]


def test_an_upload_is_checked_first_and_imported_on_confirmation(admin_client, full_site, settings):
    before = exported()
    records = ChangeRecord.objects.count()
    edited = _edited(before[0])

    dry_run = upload(admin_client, [edited, new_location("LOC-OTHER")])

    assert dry_run.status_code == 200
    assert dry_run.context["dry_run"] is True
    assert report(dry_run) == [
        (
            "NL*EXA*LOC-FULL",
            "updated",
            "name, state; EVSE 'EVSE-FULL': status; EVSE 'EVSE-FULL', connector '1': "
            "max_amperage; EVSE 'EVSE-FULL', connector '2' added; EVSE 'EVSE-FULL-2' added",
        ),
        ("NL*EXA*LOC-OTHER", "created", "1 EVSEs, 1 connectors"),
    ]
    page = dry_run.content.decode()
    assert "Dry run: nothing was saved." in page
    assert "Yes, import 2 Locations" in page
    assert exported() == before
    assert ChangeRecord.objects.count() == records
    token = dry_run.context["pending"].token
    assert uploads(settings) == sorted([f"{token}.data", f"{token}.json"])

    done = admin_client.post(IMPORT, {"token": token})

    assert done.status_code == 200
    assert done.context["dry_run"] is False
    assert report(done) == report(dry_run)
    assert [str(m) for m in done.context["messages"]] == [
        "1 created, 1 updated, 0 unchanged, 0 refused."
    ]
    assert sorted(Location.objects.values_list("id", flat=True)) == ["LOC-FULL", "LOC-OTHER"]
    assert served()[0]["name"] == "Station Square (renamed)"
    assert ChangeRecord.objects.count() > records  # recorded, so pushed to partners
    # The history names the user and the file, for the new Location (written in bulk) and
    # for the updated one (through the services).
    for location_id in ("LOC-OTHER", "LOC-FULL"):
        newest = Location.history.filter(id=location_id).order_by("-history_id").first()
        assert (newest.history_user.username, newest.history_source) == (
            "admin",
            "admin import locations.json",
        )
    assert uploads(settings) == []  # the kept file is gone
    again = admin_client.post(IMPORT, {"token": token})
    assert again.context["refused"] == "This import has expired or was done; upload the file again."


def test_a_csv_upload_is_imported_like_json(admin_client, full_site, settings):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    row = dict.fromkeys(CSV_COLUMNS, "")
    row |= {"country_code": "NL", "party_id": "EXA", "location_id": "LOC-CSV", "publish": "true",
            "address": "Markt 1", "city": "Delft", "country": "NLD", "latitude": "52.01160",
            "longitude": "4.35710", "time_zone": "Europe/Amsterdam", "evse_uid": "CSV-1",
            "status": "AVAILABLE", "connector_id": "1", "standard": "IEC_62196_T2",
            "format": "SOCKET", "power_type": "AC_3_PHASE", "max_voltage": "230",
            "max_amperage": "16"}  # fmt: skip
    writer.writerow(row)

    dry_run = upload(admin_client, out.getvalue(), name="sites.csv")
    assert report(dry_run) == [("NL*EXA*LOC-CSV", "created", "1 EVSEs, 1 connectors")]
    assert not Location.objects.filter(id="LOC-CSV").exists()

    admin_client.post(IMPORT, {"token": dry_run.context["pending"].token})
    assert EVSE.objects.get(uid="CSV-1").location.id == "LOC-CSV"


def _foreign() -> dict:
    return new_location("LOC-DE", country_code="DE", party_id="ABC")


def _bad_standard() -> dict:
    data = new_location("LOC-BAD")
    data["evses"][0]["connectors"][0]["standard"] = "TYPE2"
    return data


def test_refused_locations_are_named_with_their_field_and_never_half_imported(
    admin_client, full_site
):
    twice = new_location("LOC-TWICE")
    sites = [new_location("LOC-OK"), _bad_standard(), _foreign(), twice, twice]

    dry_run = upload(admin_client, sites)

    assert report(dry_run) == [
        ("NL*EXA*LOC-OK", "created", "1 EVSEs, 1 connectors"),
        (
            "NL*EXA*LOC-BAD",
            "refused",
            dry_run.context["outcomes"][1].message,  # the schema's list of standards
        ),
        (
            "DE*ABC*LOC-DE",
            "refused",
            "country_code/party_id: DE*ABC is not a party of this platform (NL*EXA); "
            "nothing of it is imported.",
        ),
        *[
            (
                "NL*EXA*LOC-TWICE",
                "refused",
                "id: this Location occurs 2 times in the file; none of them is imported.",
            )
        ]
        * 2,
    ]
    assert dry_run.context["outcomes"][1].message.startswith(
        "evses[0].connectors[0].standard: 'TYPE2' is not one of: "
    )
    assert "Yes, import 1 Location" in dry_run.content.decode()

    done = admin_client.post(IMPORT, {"token": dry_run.context["pending"].token})

    assert report(done) == report(dry_run)
    assert [str(m) for m in done.context["messages"]] == [
        "1 created, 0 updated, 0 unchanged, 4 refused."
    ]
    assert sorted(Location.objects.values_list("id", flat=True)) == ["LOC-FULL", "LOC-OK"]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ('[{"country_code": "NL", "id": ', "cut.json", "Not valid JSON ("),
        ("location_id;name\nX;Y\n", "sheet.csv", "The CSV has no column country_code, party_id"),
        ("hello", "notes.txt", "Not OCPI Locations JSON: expected a list of Locations"),
    ],
    ids=["bad JSON", "not our CSV", "neither"],
)
def test_a_file_that_cannot_be_read_is_refused_and_not_kept(
    admin_client, db, settings, content, name, message
):
    response = upload(admin_client, content, name=name)

    assert response.status_code == 200
    assert response.context["refused"].startswith(message)
    assert "nothing was imported" in response.context["refused"].lower() or name == "notes.txt"
    assert not Location.objects.exists()
    assert uploads(settings) == []


def test_a_file_with_more_locations_than_the_page_takes_is_refused(admin_client, db, settings):
    settings.OCPI_ADMIN_IMPORT_MAX_LOCATIONS = 2

    response = upload(admin_client, [new_location(f"LOC-{n}") for n in range(3)])

    assert response.context["refused"] == (
        "The file holds 3 Locations, more than the 2 this page imports at once; use "
        "`manage.py ocpi_import` (docs/admin.md). Nothing was imported."
    )
    assert not Location.objects.exists()
    assert uploads(settings) == []


def test_a_file_larger_than_the_page_takes_is_refused(admin_client, db, settings):
    settings.OCPI_ADMIN_IMPORT_MAX_BYTES = 100

    response = upload(admin_client, [new_location()])

    assert response.context["refused"].endswith(
        "more than the 100 this page takes; use `manage.py ocpi_import` for large files. "
        "Nothing was imported."
    )
    assert uploads(settings) == []


def test_only_the_uploader_may_confirm_and_only_within_the_hour(admin_client, db, settings):
    token = upload(admin_client, [new_location()]).context["pending"].token
    other = get_user_model().objects.create_superuser("other", "o@example.com", "pw-for-tests")
    client = Client()
    client.force_login(other)

    refused = client.post(IMPORT, {"token": token})
    assert refused.context["refused"] == (
        "This import was uploaded by another user; upload the file again."
    )
    assert not Location.objects.exists()

    meta = settings.VAR_DIR / "imports" / f"{token}.json"
    old = json.loads(meta.read_text()) | {"uploaded_at": time.time() - UPLOAD_TTL - 1}
    meta.write_text(json.dumps(old))
    expired = admin_client.post(IMPORT, {"token": token})
    assert expired.context["refused"] == (
        "This import has expired or was done; upload the file again."
    )
    assert not Location.objects.exists()
    assert uploads(settings) == []


@pytest.mark.parametrize("token", ["../../etc/passwd", "x" * 31, ""])
def test_a_token_that_is_no_token_is_refused(admin_client, db, token):
    response = admin_client.post(IMPORT, {"token": token})
    assert response.context["refused"] == "This import is unknown; upload the file again."


def test_expired_uploads_are_deleted_when_the_page_is_used(admin_client, db, settings):
    token = upload(admin_client, [new_location()]).context["pending"].token
    long_ago = time.time() - UPLOAD_TTL - 60
    for path in (settings.VAR_DIR / "imports").iterdir():
        os.utime(path, (long_ago, long_ago))

    admin_client.get(IMPORT)

    assert token and uploads(settings) == []


# --- Export… ----------------------------------------------------------------------------------


def test_the_list_links_to_import_and_to_export_with_its_filters(admin_client, full_site):
    page = admin_client.get("/admin/locations/location/?q=LOC-FULL").content.decode()
    assert f'href="{IMPORT}"' in page
    assert f'href="{EXPORT}?_changelist_filters=q%3DLOC-FULL"' in page


def test_the_export_page_offers_the_filtered_list_or_all(admin_client, full_site, minimal_site):
    page = admin_client.get(EXPORT, {"_changelist_filters": "q=LOC-MIN"})
    assert (page.context["filtered_count"], page.context["total"]) == (1, 2)
    assert "The list as filtered: 1 of 2 Locations." in page.content.decode()


def download(client, **params) -> bytes:
    response = client.get(EXPORT, params)
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="locations.{params["format"]}"'
    )
    return b"".join(response.streaming_content)


def test_the_json_export_of_the_filtered_list_holds_its_locations(
    admin_client, full_site, minimal_site
):
    filtered = {"_changelist_filters": "q=LOC-MIN", "format": "json"}
    assert json.loads(download(admin_client, **filtered, scope="filtered")) == served()[1:]
    assert json.loads(download(admin_client, **filtered, scope="all")) == served()


def test_the_csv_export_is_the_commands(admin_client, full_site, minimal_site):
    out = io.StringIO()
    from django.core.management import call_command

    call_command("ocpi_export", format="csv", stdout=out, stderr=io.StringIO())
    body = download(admin_client, format="csv", scope="all").decode()
    assert body == out.getvalue()
    filtered = download(admin_client, format="csv", scope="filtered",
                        _changelist_filters="publish__exact=0")  # fmt: skip
    assert [row["location_id"] for row in csv.DictReader(io.StringIO(filtered.decode()))] == [
        "LOC-FULL"
    ]
