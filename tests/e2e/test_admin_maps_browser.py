"""The admin's maps in a real browser with no map tiles (issue 15, part 3).

Tile requests are routed to fail, as on a machine without internet access: the map says
that tiles are unavailable, and the pin still works. The operator types coordinates (the
pin moves there), clicks the map and drags the pin (the inputs follow, with 6 decimals),
saves, and the receiver gets the PATCH of exactly those coordinates, through the real
worker. Then the map of all Locations shows each site in its availability colour, and the
data-quality report is on the Location page.
Screenshots: test-artifacts/browser/<database vendor>/<test>/NN-step.png.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from locations import quality_store
from locations.models import EVSE, Location
from tests.e2e.test_admin_browser import LOCATIONS_URL, Steps, log_in, stamp, wait_for_pushes
from tests.locations.conftest import create_site
from tests.pushers.conftest import ours, theirs

pytestmark = pytest.mark.slow

TILES = re.compile(r"^https://tile\.openstreetmap\.org/")
MARKER = "document.querySelector('[data-coordinates-map]').ocpiMarker"


def fail_tiles(page: Page) -> list[str]:
    """Every tile request fails as without a network; the list collects their URLs."""
    asked: list[str] = []

    def abort(route):
        asked.append(route.request.url)
        route.abort("internetdisconnected")

    page.route(TILES, abort)
    return asked


def pin(page: Page) -> tuple[float, float]:
    point = page.evaluate(f"(() => {{ const p = {MARKER}.getLatLng(); return [p.lat, p.lng]; }})()")
    return point[0], point[1]


def inputs(page: Page) -> tuple[str, str]:
    return (
        page.locator("#id_coordinates_0").input_value(),
        page.locator("#id_coordinates_1").input_value(),
    )


def test_operator_places_the_pin_without_tiles_and_the_receiver_gets_those_coordinates(
    page, shots, operator, worker, push_partner, receiver, settings
):
    settings.OCPI_MAP_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    site = create_site(
        evses=1,
        id="LOC-MAP",
        name="Harbour",
        coordinates={"latitude": "52.00000", "longitude": "5.00000"},
    )
    wait_for_pushes(receiver, 1)  # its PUT
    receiver.requests.clear()
    asked = fail_tiles(page)
    steps = Steps(page, shots)
    log_in(page, steps, *operator)

    page.goto(f"/admin/locations/location/{site.pk}/change/")
    status = page.locator(".ocpi-map-status")
    expect(status).to_contain_text("Map tiles are unavailable")
    assert asked, "the map asked for tiles"
    assert pin(page) == (52.0, 5.0)

    # Typing moves the pin.
    page.locator("#id_coordinates_0").fill("52.370216")
    page.locator("#id_coordinates_1").fill("4.895168")
    assert pin(page) == (52.370216, 4.895168)

    # A click places the pin there and fills the inputs (6 decimals).
    the_map = page.locator(".ocpi-map")
    box = the_map.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2 - 60)
    clicked = inputs(page)
    assert all(re.fullmatch(r"-?\d{1,3}\.\d{6}", value) for value in clicked), clicked
    assert clicked != ("52.370216", "4.895168")
    assert pin(page) == (float(clicked[0]), float(clicked[1]))

    # Dragging the pin moves it and the inputs follow.
    marker = page.locator(".leaflet-marker-icon")
    marker_box = marker.bounding_box()
    assert marker_box is not None
    x = marker_box["x"] + marker_box["width"] / 2
    y = marker_box["y"] + marker_box["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 80, y + 40, steps=8)
    page.mouse.up()
    dragged = inputs(page)
    assert dragged != clicked
    assert all(re.fullmatch(r"-?\d{1,3}\.\d{6}", value) for value in dragged), dragged
    latitude, longitude = (float(value) for value in dragged)
    assert 52.36 < latitude < 52.38 and 4.88 < longitude < 4.91  # still in Amsterdam
    the_map.scroll_into_view_if_needed()
    page.locator(".ocpi-coordinates").screenshot(path=shots / "map-widget-without-tiles.png")

    page.locator("input[name=_save]").click()
    expect(page).to_have_url(re.compile(r"/admin/locations/location/$"))
    expect(page.locator("ul.messagelist li.success")).to_contain_text("was changed successfully")
    expect(page.locator("ul.messagelist li.warning")).to_have_count(0)  # inside NLD

    location = Location.objects.get(pk=site.pk)
    assert location.coordinates == {"latitude": dragged[0], "longitude": dragged[1]}
    [patch] = wait_for_pushes(receiver, 1)
    assert (patch.method, patch.path) == ("PATCH", f"{LOCATIONS_URL}/LOC-MAP")
    assert patch.body == {
        "coordinates": {"latitude": dragged[0], "longitude": dragged[1]},
        "last_updated": stamp(location),
    }
    assert theirs(receiver, location) == ours(location)


def test_the_map_of_all_locations_and_the_quality_report_without_tiles(
    page, shots, operator, settings
):
    settings.OCPI_MAP_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    places = {
        "UTRECHT": ("52.089444", "5.110278", "AVAILABLE"),
        "AMSTERDAM": ("52.370216", "4.895168", "CHARGING"),
        "ROTTERDAM": ("51.924420", "4.477733", "OUTOFORDER"),
        "PARIS": ("48.856610", "2.352220", "AVAILABLE"),  # outside NLD: a warning
    }
    for location_id, (latitude, longitude, status) in places.items():
        site = create_site(
            id=location_id,
            name=location_id.title(),
            coordinates={"latitude": latitude, "longitude": longitude},
        )
        EVSE.objects.filter(location=site).update(status=status)
    quality_store.refresh_locations(list(Location.objects.values_list("pk", flat=True)))
    fail_tiles(page)
    steps = Steps(page, shots)
    log_in(page, steps, *operator)

    page.goto("/admin/locations/location/")
    page.get_by_role("link", name="Map of all Locations").click()
    expect(page).to_have_url(re.compile(r"/admin/locations/location/map/$"))
    expect(page.locator("#locations-map")).to_have_attribute("data-loaded", "4")
    expect(page.locator("#locations-map-status")).to_have_text("4 Locations in this view.")
    expect(page.locator("#content-main")).to_contain_text("Map tiles are unavailable")
    fills = page.evaluate("Array.from(document.querySelectorAll('#locations-map canvas')).length")
    assert fills == 1  # the dots are drawn on one canvas (preferCanvas)
    steps.shot("locations-map")
    page.locator("#content").screenshot(path=shots / "locations-map.png")

    # The list's data-quality column links Paris's report, which names the coordinates.
    page.goto("/admin/locations/location/?quality=warnings")
    paris = page.locator("#result_list tbody tr", has=page.get_by_role("link", name="PARIS"))
    expect(paris).to_have_count(1)
    steps.shot("locations-with-warnings")
    paris.locator("td.field-quality_column a").click()
    report = page.locator("#data-quality")
    expect(report).to_contain_text(
        "48.856610, 2.352220 is outside NLD: check the coordinates and the Location's country"
    )
    report.screenshot(path=shots / "quality-report.png")
