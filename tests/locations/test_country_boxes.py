"""The country boxes (`locations.country_boxes`) behind the `ocpi.coordinates_country` rule
(its findings are tested with the other rules in test_quality.py)."""

import pycountry
import pytest

from locations.country_boxes import BOXES, contains


def test_every_box_is_a_valid_box_of_a_known_country():
    codes = {country.alpha_3 for country in pycountry.countries}
    for country, boxes in BOXES.items():
        assert country in codes
        for west, south, east, north in boxes:
            assert -180 <= west < east <= 180, country
            assert -90 <= south < north <= 90, country


def test_almost_every_country_has_a_box():
    assert len(BOXES) >= 240
    assert {"NLD", "DEU", "FRA", "USA", "JPN", "BRA", "ZAF", "AUS"} <= BOXES.keys()


@pytest.mark.parametrize(
    ("country", "latitude", "longitude", "expected"),
    [
        ("NLD", 52.089444, 5.110278, True),  # Utrecht
        ("NLD", 48.85661, 2.35222, False),  # Paris
        ("FRA", 48.85661, 2.35222, True),
        ("FRA", 16.2650, -61.5510, True),  # Guadeloupe, an overseas department
        ("GLP", 16.2650, -61.5510, True),  # ... under its own code too
        ("USA", 61.2181, -149.9003, True),  # Anchorage, Alaska
        ("RUS", 54.7104, 20.4522, True),  # Kaliningrad
        ("NLD", 5.110278, 52.089444, False),  # swapped
        ("GIB", 36.14, -5.35, None),  # no box: not checked
        ("XXX", 52.0, 5.0, None),
    ],
)
def test_a_point_is_inside_the_boxes_of_its_country(country, latitude, longitude, expected):
    assert contains(country, latitude, longitude) is expected
