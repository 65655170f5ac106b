"""Import… in a real browser, with pushes to a real receiver (issue 15, part 5).

An operator opens the Location list, follows "Import…", uploads an OCPI Locations JSON file
(one Location renamed, one new, one of another party), sees the dry run (per Location:
updated with the changed field, created, refused with the reason), confirms, and the receiver
gets exactly the PUT of the new Location (whole body compared) and the PATCH of the renamed
one. Screenshots: test-artifacts/browser/<database vendor>/<test>/NN-step.png.
"""

import json
import re

import pytest
from playwright.sync_api import expect

from locations.models import Location
from tests.e2e.test_admin_browser import LOCATIONS_URL, Steps, log_in, stamp, wait_for_pushes
from tests.locations.conftest import create_site
from tests.locations.test_import_export import new_location, without_last_updated
from tests.pushers.conftest import ours, theirs

pytestmark = pytest.mark.slow


def test_operator_imports_a_file_after_its_dry_run_and_the_receiver_gets_the_changes(
    page, shots, operator, worker, push_partner, receiver, tmp_path, settings
):
    settings.VAR_DIR = tmp_path / "var"
    old = create_site(evses=1, connectors_per_evse=2, id="LOC-OLD", name="Old name")
    wait_for_pushes(receiver, 1)  # its PUT, before the import
    receiver.requests.clear()
    renamed = ours(old) | {"name": "New name"}
    foreign = new_location("LOC-DE", country_code="DE", party_id="ABC")
    path = tmp_path / "stations.json"
    path.write_text(json.dumps([renamed, new_location("LOC-IMPORTED"), foreign]))

    steps = Steps(page, shots)
    log_in(page, steps, *operator)
    page.goto("/admin/locations/location/")
    page.locator("#import-locations").click()
    expect(page).to_have_url(re.compile(r"/admin/locations/location/import/$"))
    page.locator("#id_file").set_input_files(str(path))
    steps.shot("import-form")
    page.get_by_role("button", name="Check the file (dry run)").click()

    # The dry run: what would change, per Location; nothing saved.
    expect(page.locator("#import-summary")).to_contain_text(
        "1 would be created, 1 would be updated, 0 unchanged, 1 refused. "
        "Dry run: nothing was saved."
    )
    rows = page.locator("#import-report tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("NL*EXA*LOC-OLD")
    expect(rows.nth(0)).to_contain_text("updated")
    expect(rows.nth(0).locator("td.what")).to_have_text("name")
    expect(rows.nth(1)).to_contain_text("created")
    expect(rows.nth(1).locator("td.what")).to_have_text("1 EVSEs, 1 connectors")
    expect(rows.nth(2).locator("td.what")).to_have_text(
        "country_code/party_id: DE*ABC is not a party of this platform (NL*EXA); "
        "nothing of it is imported."
    )
    steps.shot("import-dry-run")
    assert not Location.objects.filter(id="LOC-IMPORTED").exists()
    assert Location.objects.get(id="LOC-OLD").name == "Old name"
    assert receiver.requests == []

    page.get_by_role("button", name="Yes, import 2 Locations").click()
    expect(page.locator("ul.messagelist li.warning")).to_contain_text(
        "1 created, 1 updated, 0 unchanged, 1 refused."
    )
    expect(page.locator("#import-summary")).to_contain_text("1 created, 1 updated")
    steps.shot("import-done")

    # The partner gets the new Location whole, and the renamed one's change.
    pushes = sorted(wait_for_pushes(receiver, 2), key=lambda p: p.method)
    imported = Location.objects.get(id="LOC-IMPORTED")
    old.refresh_from_db()
    patch, put = pushes
    assert (put.method, put.path) == ("PUT", f"{LOCATIONS_URL}/LOC-IMPORTED")
    assert put.body == ours(imported)
    assert without_last_updated(put.body) == new_location("LOC-IMPORTED")
    assert put.body["last_updated"] == stamp(imported)
    assert (patch.method, patch.path) == ("PATCH", f"{LOCATIONS_URL}/LOC-OLD")
    assert patch.body == {"name": "New name", "last_updated": stamp(old)}
    assert theirs(receiver, imported) == ours(imported)
    assert not Location.objects.filter(id="LOC-DE").exists()
