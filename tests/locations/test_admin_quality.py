"""Data quality in the admin (`locations/admin/quality.py`): the Location list's column and
filter (read from the stored results), the report on the Location page, and the warning
after saving coordinates that look wrong (0,0, outside the Location's country)."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from locations import quality_store
from locations.admin.quality import quality_report
from locations.models import EVSE, Location, LocationQuality
from locations.quality import location_issues
from tests.locations.conftest import create_site
from tests.locations.test_admin import messages_of, page_form

pytestmark = pytest.mark.django_db

LIST = "/admin/locations/location/"


def location_url(location: Location) -> str:
    return f"/admin/locations/location/{location.pk}/change/"


def evse_url(evse: EVSE) -> str:
    return f"/admin/locations/evse/{evse.pk}/change/"


def submit(client, url: str, data: dict, **changes):
    """POST the page's form with `changes`, following the redirect (to see its messages)."""
    return client.post(url, {**data, **changes, "_save": "Save"}, follow=True)


def spoil_evse_id(site: Location) -> None:
    for evse in EVSE.objects.filter(location=site):  # one error each
        EVSE.objects.filter(pk=evse.pk).update(evse_id=f"NL*EXA*E*{evse.pk}")


@pytest.fixture
def sites(full_site):
    """LOC-FULL clean, LOC-BAD with an error, LOC-NEW never checked."""
    bad = create_site(id="LOC-BAD")
    spoil_evse_id(bad)
    quality_store.refresh_locations([full_site.pk, bad.pk])
    create_site(id="LOC-NEW")
    return full_site, bad


def listed_ids(response) -> list[str]:
    return [location.id for location in response.context["cl"].result_list]


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("errors", ["LOC-BAD"]),
        ("warnings", ["LOC-BAD"]),
        ("clean", ["LOC-FULL"]),
        ("unchecked", ["LOC-NEW"]),
        (None, ["LOC-FULL", "LOC-BAD", "LOC-NEW"]),
    ],
)
def test_the_list_filters_by_the_stored_quality(admin_client, sites, which, expected):
    response = admin_client.get(LIST, {"quality": which} if which else {})

    assert sorted(listed_ids(response)) == sorted(expected)


def test_the_list_column_counts_issues_and_links_the_report(admin_client, sites):
    full_site, bad = sites
    quality = LocationQuality.objects.get(location=bad)
    total = quality.errors + quality.warnings

    text = html.unescape(admin_client.get(LIST).content.decode())

    link = re.search(
        rf'<a class="quality-errors" href="/admin/locations/location/{bad.pk}/change/'
        r'#data-quality" title="checked [^"]+">([^<]+)</a>',
        text,
    )
    assert link is not None and link.group(1) == f"{total} issues (1 error)"
    assert '<td class="field-quality_column">clean</td>' in text
    assert '<td class="field-quality_column">not checked</td>' in text


def list_queries(client, params: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("params", [{}, {"quality": "errors"}, {"quality": "clean"}])
def test_the_list_with_quality_costs_the_same_queries_at_two_sizes(admin_client, db, params):
    def grow(count: int) -> None:
        row_ids = []
        for _ in range(count):
            site = create_site(evses=2)
            if len(row_ids) % 2:
                spoil_evse_id(site)
            row_ids.append(site.pk)
        quality_store.refresh_locations(row_ids)

    grow(2)
    small = list_queries(admin_client, params)
    grow(10)
    large = list_queries(admin_client, params)

    assert small == large


def test_the_location_page_reports_every_finding_errors_first(admin_client, sites):
    full_site, bad = sites

    text = html.unescape(admin_client.get(location_url(bad)).content.decode())
    report = text[text.index('id="data-quality"') :]
    rows = re.findall(r"<tr class=\"quality-(\w+)\">\s*<td>.*?</td>\s*<td>(.*?)</td>", report, re.S)

    assert rows[0] == ("error", f"NL*EXA*LOC-BAD / EVSE {EVSE.objects.get(location=bad).uid}")
    assert {severity for severity, _ in rows[1:]} == {"warning"}
    assert "<code>evse_id</code>" in report and "ocpi.evse_id_format" in report


def test_the_report_of_a_clean_location(admin_client, sites):
    full_site, bad = sites

    text = admin_client.get(location_url(full_site)).content.decode()

    assert "No findings: the Location, its EVSEs and Connectors pass every rule" in text


@pytest.mark.parametrize("evses", [1, 6])
def test_the_report_costs_three_queries_whatever_the_site(db, evses, django_assert_num_queries):
    site = create_site(evses=evses, connectors_per_evse=2)

    with django_assert_num_queries(3):  # the Location, its EVSEs, their Connectors
        issues = quality_report(site.pk)

    assert len(issues) == len(location_issues(site))


# --- After a save -----------------------------------------------------------------------------


def test_saving_coordinates_outside_the_country_warns_but_saves(admin_client, full_site):
    data = page_form(admin_client, location_url(full_site))

    response = submit(
        admin_client,
        location_url(full_site),
        data,
        coordinates_0="48.85661",
        coordinates_1="2.35222",
    )

    assert (
        "warning",
        (
            "Saved, but check the coordinates of NL*EXA*LOC-FULL: 48.85661, 2.35222 is outside "
            "NLD: check the coordinates and the Location's country."
        ),
    ) in messages_of(response)
    full_site.refresh_from_db()
    assert full_site.coordinates == {"latitude": "48.85661", "longitude": "2.35222"}
    # The stored result is refreshed at once (the list and dashboard show it).
    assert LocationQuality.objects.get(location=full_site).warnings == 1


def test_saving_null_island_warns_but_saves(admin_client, full_site):
    data = page_form(admin_client, location_url(full_site))

    response = submit(
        admin_client,
        location_url(full_site),
        data,
        coordinates_0="0.0000",
        coordinates_1="0.0000",
    )

    assert (
        "warning",
        "Saved, but check the coordinates of NL*EXA*LOC-FULL: 0,0 (Null Island) is in the Gulf "
        "of Guinea: coordinates were probably not set.",
    ) in messages_of(response)
    full_site.refresh_from_db()
    assert full_site.coordinates == {"latitude": "0.00000", "longitude": "0.00000"}


def test_saving_an_evse_with_swapped_coordinates_warns_about_that_evse(admin_client, full_site):
    evse = EVSE.objects.get(location=full_site)
    data = page_form(admin_client, evse_url(evse))

    response = submit(
        admin_client,
        evse_url(evse),
        data,
        coordinates_0="5.110290",
        coordinates_1="52.089450",
    )

    assert [m for m in messages_of(response) if m[0] == "warning"] == [
        (
            "warning",
            "Saved, but check the coordinates of NL*EXA*LOC-FULL / EVSE EVSE-FULL: 5.110290, "
            "52.089450 is outside NLD: latitude and longitude look swapped.",
        )
    ]


def test_saving_good_coordinates_gives_no_warning(admin_client, full_site):
    data = page_form(admin_client, location_url(full_site))

    response = submit(
        admin_client,
        location_url(full_site),
        data,
        coordinates_0="52.370216",
        coordinates_1="4.895168",
    )

    assert [m for m in messages_of(response) if m[0] != "success"] == []
    assert LocationQuality.objects.get(location=full_site).errors == 0
