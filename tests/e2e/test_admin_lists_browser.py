"""The admin lists fit a 1,280 px window (issue 15, "Layout"): the Location, EVSE and
Connector lists with their filter sidebar, a full page of rows and every column.

The Location and EVSE pages are checked in test_admin_editors_browser.py, the Deliveries
and Partner push states in test_dashboard_browser.py. Real Chromium and the live server;
screenshots in test-artifacts/browser/<vendor>/<test>/.
"""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_browser import Steps, log_in
from tests.e2e.test_dashboard_browser import fits
from tests.locations.conftest import create_site

pytestmark = pytest.mark.slow

WIDTH = 1280


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/admin/locations/location/", "location-list"),
        ("/admin/locations/evse/", "evse-list"),
        ("/admin/locations/connector/", "connector-list"),
    ],
    ids=["locations", "evses", "connectors"],
)
def test_each_list_fits_a_1280_px_window(page, shots, operator, path, name):
    for n in range(3):  # long names and addresses, as real sites have
        create_site(
            evses=2,
            connectors_per_evse=2,
            id=f"LOC-WIDE-{n}",
            name=f"Parkeergarage Stationsplein Noord, ingang Jaarbeurs {n}",
            address=f"Stationsplein Noordzijde tegenover de fietsenstalling {n}",
        )
    steps = Steps(page, shots)
    page.set_viewport_size({"width": WIDTH, "height": 900})
    log_in(page, steps, *operator)

    page.goto(path)
    expect(page.locator("#result_list")).to_be_visible()

    assert fits(page)
    steps.shot(name)
