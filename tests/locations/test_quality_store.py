"""Stored data-quality results (`locations.quality_store`), `ocpi_quality --store` and the
beat task that re-checks changed Locations."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.template.loader import render_to_string

from locations import quality_store
from locations.models import EVSE, Connector, Location, LocationQuality
from locations.tasks import refresh_quality
from tests.locations.conftest import create_site

pytestmark = pytest.mark.django_db

# Operator and owner names, capabilities, tariffs...: a site without hub warnings except the
# AFIR ones the factories leave out. Its counts are what the tests compare.
LONG_AGO = datetime(2024, 1, 1, tzinfo=UTC)


def stored() -> dict[str, tuple[int, int]]:
    return {
        row.location.id: (row.errors, row.warnings)
        for row in LocationQuality.objects.select_related("location")
    }


def spoil_evse_id(site: Location) -> None:
    for evse in EVSE.objects.filter(location=site):  # one error each
        EVSE.objects.filter(pk=evse.pk).update(evse_id=f"NL*EXA*E*{evse.pk}")  # an error


def test_refreshing_stores_the_errors_and_warnings_of_each_location(full_site):
    other = create_site(id="LOC-OTHER")
    spoil_evse_id(other)

    findings = quality_store.refresh_locations([full_site.pk, other.pk])

    assert findings[full_site.pk] == []
    errors, warnings = quality_store.counts(findings[other.pk])
    assert errors == 1 and warnings > 0
    assert stored() == {"LOC-FULL": (0, 0), "LOC-OTHER": (errors, warnings)}


def test_refreshing_again_updates_the_stored_row(full_site):
    quality_store.refresh_locations([full_site.pk])
    spoil_evse_id(full_site)

    quality_store.refresh_locations([full_site.pk])

    assert stored() == {"LOC-FULL": (1, 0)}


@pytest.mark.parametrize("sites", [1, 6])
def test_a_batch_is_checked_and_stored_in_four_queries_whatever_its_size(
    db, sites, django_assert_num_queries
):
    row_ids = [create_site(evses=2).pk for _ in range(sites)]

    with django_assert_num_queries(4):  # Locations, EVSEs, Connectors, one upsert
        quality_store.refresh_locations(row_ids)

    assert LocationQuality.objects.count() == sites


def test_the_beat_task_checks_locations_never_checked_or_changed_since(full_site):
    changed, unchanged = create_site(id="LOC-CHANGED"), create_site(id="LOC-SAME")
    quality_store.refresh_locations([changed.pk, unchanged.pk])
    LocationQuality.objects.update(checked_at=LONG_AGO)
    Location.objects.filter(pk=unchanged.pk).update(last_updated=LONG_AGO - timedelta(days=1))
    spoil_evse_id(changed)  # its last_updated (creation, now) is after its check

    assert refresh_quality() == 2  # LOC-FULL (never checked) and LOC-CHANGED

    assert stored()["LOC-CHANGED"][0] == 1
    assert LocationQuality.objects.get(location=unchanged).checked_at == LONG_AGO
    assert refresh_quality() == 0


def test_the_command_stores_every_location_with_store(full_site):
    other = create_site(id="LOC-OTHER")
    spoil_evse_id(other)

    call_command("ocpi_quality", "--store", stdout=io.StringIO())

    assert stored()["LOC-FULL"] == (0, 0)
    assert stored()["LOC-OTHER"][0] == 1


def test_the_command_refuses_store_with_a_profile(full_site):
    with pytest.raises(CommandError, match="leave out --profile"):
        call_command("ocpi_quality", "--store", "--profile", "ocpi", stdout=io.StringIO())

    assert not LocationQuality.objects.exists()


def test_the_command_without_store_stores_nothing(full_site):
    call_command("ocpi_quality", stdout=io.StringIO())

    assert not LocationQuality.objects.exists()


@pytest.fixture
def checked_sites(full_site):
    """LOC-FULL clean; LOC-BAD 1 error; LOC-MEH warnings only (its Connector's tariff)."""
    bad, meh = create_site(id="LOC-BAD", name="Bad"), create_site(id="LOC-MEH", name="Meh")
    spoil_evse_id(bad)
    Connector.objects.filter(evse__location=meh).update(max_voltage=50)  # implausible
    quality_store.refresh_locations([full_site.pk, bad.pk, meh.pk])
    LocationQuality.objects.update(checked_at=LONG_AGO)
    return full_site, bad, meh


def test_the_overview_counts_and_lists_the_worst_locations_in_two_queries(
    checked_sites, django_assert_num_queries
):
    full, bad, meh = checked_sites
    bad_counts, meh_counts = stored()["LOC-BAD"], stored()["LOC-MEH"]

    with django_assert_num_queries(2):
        overview = quality_store.quality_overview()

    assert overview == {
        "checked": 3,
        "with_errors": 1,
        "with_warnings": 2,
        "checked_at": LONG_AGO,
        "worst": [
            {
                "location": "NL*EXA*LOC-BAD",
                "name": "Bad",
                "errors": 1,
                "warnings": bad_counts[1],
                "url": f"/admin/locations/location/{bad.pk}/change/#data-quality",
            },
            {
                "location": "NL*EXA*LOC-MEH",
                "name": "Meh",
                "errors": 0,
                "warnings": meh_counts[1],
                "url": f"/admin/locations/location/{meh.pk}/change/#data-quality",
            },
        ],
        "errors_url": "/admin/locations/location/?quality=errors",
        "warnings_url": "/admin/locations/location/?quality=warnings",
    }


def test_the_overview_lists_at_most_ten_locations(db):
    row_ids = [create_site().pk for _ in range(12)]
    quality_store.refresh_locations(row_ids)

    assert len(quality_store.quality_overview()["worst"]) == 10


def test_the_overview_of_nothing_checked(db):
    assert quality_store.quality_overview() == {
        "checked": 0,
        "with_errors": 0,
        "with_warnings": 0,
        "checked_at": None,
        "worst": [],
        "errors_url": "/admin/locations/location/?quality=errors",
        "warnings_url": "/admin/locations/location/?quality=warnings",
    }


def test_the_dashboard_panel_renders_the_overview(checked_sites):
    full, bad, meh = checked_sites

    panel = render_to_string(
        "admin/dashboard/quality_panel.html", {"data": quality_store.quality_overview()}
    )

    assert '<a href="/admin/locations/location/?quality=errors">1 Location with errors</a>' in (
        panel
    )
    assert "2 with warnings</a>" in panel
    assert "of 3 checked; last check 2024-01-01 00:00 UTC." in panel
    assert f'<a href="/admin/locations/location/{bad.pk}/change/#data-quality">' in panel
    assert "NL*EXA*LOC-MEH" in panel and "NL*EXA*LOC-FULL" not in panel


def test_the_dashboard_panel_says_when_nothing_was_checked(db):
    panel = render_to_string(
        "admin/dashboard/quality_panel.html", {"data": quality_store.quality_overview()}
    )

    assert "No Location has been checked yet" in panel
