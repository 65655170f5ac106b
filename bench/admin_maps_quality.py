"""The admin's map JSON, the Location list with the data-quality column and filter, and the
quality overview on a large database (issue 15; docs/benchmarks.md, "Admin maps and data
quality").

Run against a database filled by `manage.py ocpi_demo_data --locations 25000` and stored
by `manage.py ocpi_quality --store`, with the project's settings (DATABASE_URL ...):

    .venv/bin/python bench/admin_maps_quality.py [--repeat 5]

Prints, per request, the number of queries and the median wall time of `--repeat` runs
through Django's test client as a superuser (in this process: no HTTP server).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ocpi_site.settings")

import django

django.setup()

from django.contrib import admin  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from locations import quality_store  # noqa: E402
from locations.models import Location, LocationQuality  # noqa: E402

REQUESTS = [
    ("map page (extent)", "/admin/locations/location/map/"),
    ("map JSON, whole world (capped)", "/admin/locations/location/map/data/?bbox=-180,-90,180,90"),
    ("map JSON, a city view", "/admin/locations/location/map/data/?bbox=4.8,52.3,5.0,52.4"),
    ("Location list", "/admin/locations/location/"),
    ("Location list, with errors", "/admin/locations/location/?quality=errors"),
    ("Location list, clean", "/admin/locations/location/?quality=clean"),
]


def measure(run, repeat: int) -> tuple[int, float]:
    times, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        queries = len(captured)
    return queries, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    print(f"{Location.objects.count()} Locations, {LocationQuality.objects.count()} stored")
    print(f"load: {os.getloadavg()}")
    for name, url in REQUESTS:

        def get(url=url):
            response = client.get(url, secure=True)
            assert response.status_code == 200, (url, response.status_code)
            return response

        queries, median = measure(get, args.repeat)
        size = len(get().content)
        print(f"{name:34} {queries:3d} queries  {median * 1000:8.1f} ms  {size:9d} bytes")
    # The list as it was before the data-quality column (same run, same load): the ratio.
    location_admin = admin.site._registry[Location]
    saved = location_admin.list_display, location_admin.list_select_related
    location_admin.list_display = tuple(
        name for name in saved[0] if getattr(name, "__name__", "") != "quality_column"
    )
    location_admin.list_select_related = False
    try:
        queries, median = measure(
            lambda: client.get("/admin/locations/location/", secure=True), args.repeat
        )
    finally:
        location_admin.list_display, location_admin.list_select_related = saved
    print(f"{'Location list without the column':34} {queries:3d} queries  {median * 1000:8.1f} ms")
    queries, median = measure(quality_store.quality_overview, args.repeat)
    print(f"{'quality_overview()':34} {queries:3d} queries  {median * 1000:8.1f} ms")
    queries, median = measure(lambda: quality_store.stale_location_ids(), args.repeat)
    print(f"{'stale_location_ids() (beat task)':34} {queries:3d} queries  {median * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
