"""The admin's maps (`locations/admin/maps.py`, `locations/map_data.py`): the coordinates
widget's map on the Location and EVSE pages, and the map of all Locations with its JSON."""

import json

import pytest

from locations import map_data
from locations.models import EVSE, Location
from tests.locations.conftest import create_site

pytestmark = pytest.mark.django_db

MAP = "/admin/locations/location/map/"
DATA = "/admin/locations/location/map/data/"


def site(location_id: str, latitude: str, longitude: str, statuses: list[str]) -> Location:
    location = create_site(
        evses=len(statuses),
        id=location_id,
        name=f"Site {location_id}",
        coordinates={"latitude": latitude, "longitude": longitude},
    )
    for evse, status in zip(EVSE.objects.filter(location=location), statuses, strict=True):
        EVSE.objects.filter(pk=evse.pk).update(status=status)
    return location


def entry(location: Location, latitude: float, longitude: float, **counts) -> dict:
    return {
        "id": location.id,
        "party": "NL*EXA",
        "name": location.name,
        "latitude": latitude,
        "longitude": longitude,
        **counts,
        "url": f"/admin/locations/location/{location.pk}/change/",
    }


def test_the_map_json_colours_each_location_by_the_availability_of_its_evses(admin_client):
    some = site("SOME", "52.089444", "5.110278", ["AVAILABLE", "CHARGING", "REMOVED"])
    busy = site("BUSY", "52.370216", "4.895168", ["CHARGING", "RESERVED"])
    broken = site("BROKEN", "51.924420", "4.477733", ["OUTOFORDER", "UNKNOWN"])
    gone = site("GONE", "51.441642", "5.469722", ["REMOVED"])

    response = admin_client.get(DATA, {"bbox": "3.0,50.0,8.0,54.0"})

    assert response.status_code == 200
    assert response.json() == {
        "locations": [
            entry(some, 52.089444, 5.110278, evses=2, available=1, availability="available"),
            entry(busy, 52.370216, 4.895168, evses=2, available=0, availability="occupied"),
            entry(broken, 51.92442, 4.477733, evses=2, available=0, availability="out_of_service"),
            entry(gone, 51.441642, 5.469722, evses=0, available=0, availability="out_of_service"),
        ],
        "limit": 2000,
        "truncated": False,
    }


def test_the_map_json_has_only_the_locations_in_the_bounds(admin_client):
    site("UTRECHT", "52.089444", "5.110278", ["AVAILABLE"])
    site("PARIS", "48.856610", "2.352220", ["AVAILABLE"])

    response = admin_client.get(DATA, {"bbox": "1.0,48.0,3.0,49.5"})

    assert [loc["id"] for loc in response.json()["locations"]] == ["PARIS"]


def test_the_map_json_is_capped_and_says_so(admin_client, monkeypatch):
    monkeypatch.setattr(map_data, "LIMIT", 2)
    for n in range(3):
        site(f"L{n}", "52.089444", "5.110278", ["AVAILABLE"])

    document = admin_client.get(DATA).json()

    assert [loc["id"] for loc in document["locations"]] == ["L0", "L1"]
    assert (document["limit"], document["truncated"]) == (2, True)


@pytest.mark.parametrize("sites", [1, 8])
def test_the_map_json_costs_the_same_queries_whatever_the_number_of_locations(
    admin_client, sites, django_assert_num_queries
):
    for n in range(sites):
        site(f"L{n}", "52.089444", "5.110278", ["AVAILABLE", "CHARGING"])

    with django_assert_num_queries(4):  # the session, the user, the Locations, their EVSEs
        response = admin_client.get(DATA, {"bbox": "-180,-90,180,90"})

    assert len(response.json()["locations"]) == sites


@pytest.mark.parametrize(
    ("bbox", "error"),
    [
        ("1,2,3", "bbox must be west,south,east,north in degrees, not '1,2,3'"),
        ("a,b,c,d", "bbox must be four numbers (west,south,east,north), not 'a,b,c,d'"),
        ("nan,0,1,1", "bbox 'nan,0,1,1' is not a view of the Earth"),
        ("5,50,4,51", "bbox '5,50,4,51': south must not exceed north, nor west east"),
    ],
)
def test_a_bad_bbox_is_a_clear_400(admin_client, bbox, error):
    response = admin_client.get(DATA, {"bbox": bbox})

    assert response.status_code == 400
    assert response.json() == {"error": error}


def test_the_map_page_fits_every_location_and_is_linked_from_the_list(admin_client):
    site("UTRECHT", "52.089444", "5.110278", ["AVAILABLE"])
    site("PARIS", "48.856610", "2.352220", ["AVAILABLE"])

    page = admin_client.get(MAP)
    listing = admin_client.get("/admin/locations/location/")

    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-extent="[[48.85661, 2.35222], [52.089444, 5.110278]]"' in text
    assert f'data-url="{DATA}"' in text
    assert "/static/locations/vendor/leaflet/leaflet.js" in text
    assert f'<a href="{MAP}" class="viewlink">Map of all Locations</a>' in listing.content.decode()


def test_the_map_page_without_locations(admin_client):
    page = admin_client.get(MAP)

    assert page.status_code == 200
    assert "data-extent" not in page.content.decode()


def test_tiles_come_from_the_setting_and_can_be_turned_off(admin_client, settings):
    settings.OCPI_MAP_TILES_URL = "https://tiles.example.net/{z}/{x}/{y}.png"
    assert 'data-tiles-url="https://tiles.example.net/{z}/{x}/{y}.png"' in (
        admin_client.get(MAP).content.decode()
    )
    settings.OCPI_MAP_TILES_URL = ""
    assert 'data-tiles-url=""' in admin_client.get(MAP).content.decode()


def test_the_location_page_has_one_map_for_its_own_coordinates(admin_client):
    location = site("UTRECHT", "52.089444", "5.110278", ["AVAILABLE", "AVAILABLE"])

    text = admin_client.get(f"/admin/locations/location/{location.pk}/change/").content.decode()

    # The Location's coordinates get the map; its EVSE inlines keep plain inputs.
    assert text.count("data-coordinates-map") == 1
    assert 'name="coordinates_0" value="52.089444"' in text
    assert "/static/locations/coordinates_map.js" in text


def test_the_evse_page_has_a_map_for_its_coordinates(admin_client):
    location = site("UTRECHT", "52.089444", "5.110278", ["AVAILABLE"])
    evse = EVSE.objects.get(location=location)

    text = admin_client.get(f"/admin/locations/evse/{evse.pk}/change/").content.decode()

    assert text.count("data-coordinates-map") == 1


def test_the_map_widget_posts_like_the_plain_inputs(admin_client):
    """The map only fills the two inputs: the form reads the same names as before."""
    page = admin_client.get("/admin/locations/location/add/").content.decode()

    assert json.dumps("coordinates_0")[1:-1] in page and 'name="coordinates_1"' in page
