"""Stored data-quality results, one row per Location (`LocationQuality`): errors and warnings
of every profile and when they were checked.

Running the rules over 25,000 Locations takes about a minute (docs/admin.md, "Data
quality"), too slow for a page; the admin's list filter and column and the dashboard read
these rows instead. They are written:

- after each save in the admin (`refresh_locations`, the saved Location only);
- by `manage.py ocpi_quality --store` (every Location, in the command's batches);
- by a Celery beat task (`locations.tasks.refresh_quality`, every `OCPI_QUALITY_INTERVAL`
  seconds): the Locations changed since their check (`last_updated` after `checked_at`;
  a change of an EVSE or Connector moves its Location's `last_updated` too) and those never
  checked, `REFRESH_LIMIT` per run, oldest first.

Each batch is checked with `quality.with_children` (3 queries) and written with one
INSERT ... ON CONFLICT UPDATE, whatever the batch holds.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Max, Q
from django.urls import reverse
from django.utils import timezone

from .models import Location, LocationQuality
from .quality import LOCATION_COLUMNS, location_issues, location_label, with_children
from .quality_rules import ERROR, Issue

BATCH_SIZE = 500
REFRESH_LIMIT = 5000  # Locations per run of the beat task (about 10 s here)
WORST = 10  # Locations the overview lists


def counts(issues: Iterable[Issue]) -> tuple[int, int]:
    """(errors, warnings) of a Location's findings."""
    errors = warnings = 0
    for issue in issues:
        if issue.severity == ERROR:
            errors += 1
        else:
            warnings += 1
    return errors, warnings


def store(results: Iterable[tuple[Location, Sequence[Issue]]], checked_at: datetime) -> int:
    """Write the findings of these Locations (one query); how many rows were written."""
    rows = []
    for location, issues in results:
        errors, warnings = counts(issues)
        rows.append(
            LocationQuality(
                location_id=location.pk, errors=errors, warnings=warnings, checked_at=checked_at
            )
        )
    if rows:
        LocationQuality.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["location"],
            update_fields=["errors", "warnings", "checked_at"],
        )
    return len(rows)


def refresh_locations(row_ids: Sequence[int]) -> dict[int, list[Issue]]:
    """Check these Locations now and store the results; their findings by `row_id`.

    4 queries per `BATCH_SIZE` Locations (Locations, EVSEs, Connectors, the write).
    """
    findings: dict[int, list[Issue]] = {}
    for start in range(0, len(row_ids), BATCH_SIZE):
        checked_at = timezone.now()  # before reading: a later change is newer than it
        batch = list(
            with_children(
                Location.objects.only(*LOCATION_COLUMNS)
                .filter(row_id__in=row_ids[start : start + BATCH_SIZE])
                .order_by("row_id")
            )
        )
        results = [(location, location_issues(location)) for location in batch]
        store(results, checked_at)
        findings.update((location.pk, issues) for location, issues in results)
    return findings


def stale_location_ids(limit: int = REFRESH_LIMIT) -> list[int]:
    """Locations never checked or changed since their check, oldest first (one query)."""
    return list(
        Location.objects.filter(
            Q(quality__isnull=True) | Q(last_updated__gt=F("quality__checked_at"))
        )
        .order_by("row_id")
        .values_list("row_id", flat=True)[:limit]
    )


def refresh_stale(limit: int = REFRESH_LIMIT) -> int:
    """Re-check the Locations changed since their check (at most `limit`); how many."""
    row_ids = stale_location_ids(limit)
    refresh_locations(row_ids)
    return len(row_ids)


def report_url(row_id: int) -> str:
    """The Location's page, at its data-quality report."""
    return reverse("admin:locations_location_change", args=[row_id]) + "#data-quality"


def list_url(which: str) -> str:
    """The Location list filtered by the stored results (`admin.quality.QualityFilter`)."""
    return reverse("admin:locations_location_changelist") + f"?quality={which}"


def quality_overview(limit: int = WORST) -> dict[str, Any]:
    """What the dashboard shows about data quality, from the stored results (2 queries).

    `checked`: Locations with a stored result; `with_errors` / `with_warnings`: how many of
    them have any (a Location may count in both); `checked_at`: the newest check (None when
    nothing was checked yet); `worst`: the `limit` Locations with the most errors, then
    warnings, each with its OCPI ids, name, counts and the link to its report.
    """
    totals = LocationQuality.objects.aggregate(
        checked=Count("pk"),
        with_errors=Count("pk", filter=Q(errors__gt=0)),
        with_warnings=Count("pk", filter=Q(warnings__gt=0)),
        checked_at=Max("checked_at"),
    )
    worst = (
        LocationQuality.objects.filter(Q(errors__gt=0) | Q(warnings__gt=0))
        .select_related("location")
        .only(
            "errors",
            "warnings",
            "location__country_code",
            "location__party_id",
            "location__id",
            "location__name",
        )
        .order_by("-errors", "-warnings", "location_id")[:limit]
    )
    return {
        **totals,
        "worst": [
            {
                "location": location_label(row.location),
                "name": row.location.name,
                "errors": row.errors,
                "warnings": row.warnings,
                "url": report_url(row.location_id),
            }
            for row in worst
        ],
        "errors_url": list_url("errors"),
        "warnings_url": list_url("warnings"),
    }
