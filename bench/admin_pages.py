"""Time the admin pages that summarise the whole platform: the dashboard (admin index), the
Partner push states list, the Deliveries list and the Full syncs list.

Runs in-process (Django's test client, a superuser, no HTTP server): what is measured is the
view, its queries and its template, on the database of DATABASE_URL. Fill it first with

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME DEBUG=true \\
        .venv/bin/python manage.py ocpi_demo_data --locations 25000 --evses-per-location 4

then this script adds, once, four push partners and their history (`--seed-push`): a healthy
one with a full sync of every Location accepted, a failing one with every Location waiting
and 2,000 failed calls, a strict hub that refused 7,000 of its full sync ("address length
must be lower or equal to 45"), and a pull-only one. Prints per page the median and the
slowest time of `--repeat` requests and the number of queries.

    DATABASE_URL=... DEBUG=true .venv/bin/python bench/admin_pages.py --seed-push --repeat 7
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ocpi_site.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from locations.models import EVSE, Location  # noqa: E402
from partners.models import Partner, PartnerEndpoint  # noqa: E402
from pushers.models import (  # noqa: E402
    Delivery,
    DeliveryAttempt,
    FullSync,
    Lane,
    PartnerPushState,
)

PAGES = {
    "baseline: partners app index": "/admin/partners/",  # a stock page, for the ratio
    "dashboard (admin index)": "/admin/",
    "partner push states": "/admin/pushers/partnerpushstate/",
    "deliveries": "/admin/pushers/delivery/",
    "deliveries, failed": "/admin/pushers/delivery/?status__exact=failed",
    "full syncs": "/admin/pushers/fullsync/",
}
BATCH = 5000
REFUSAL = "HTTP 422 OCPI 2001: address length must be lower or equal to 45"


def _partner(name: str, *, receiver: bool) -> Partner:
    partner = Partner.objects.create(name=name, state=Partner.State.REGISTERED)
    if receiver:
        PartnerEndpoint.objects.create(
            partner=partner,
            identifier="locations",
            role="RECEIVER",
            url=f"http://127.0.0.1:9/{name.replace(' ', '-').lower()}/locations",
        )
    return partner


def _history(partner: Partner, sync: FullSync | None, outcome_of) -> None:
    """A lane, a Delivery and its attempts per Location; `outcome_of(i)` gives the
    Delivery's status and its attempts' (outcome, error) list."""
    now = timezone.now()
    ids = list(Location.objects.order_by("row_id").values_list("row_id", flat=True))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        lanes = Lane.objects.bulk_create(Lane(partner=partner, location_id=pk) for pk in chunk)
        deliveries, attempts = [], []
        for i, lane in enumerate(lanes, start):
            status, calls = outcome_of(i)
            delivery = Delivery(
                partner=partner,
                lane=lane,
                level="location",
                method="PUT",
                object_key=f"L:{lane.location_id}",
                location_id=lane.location_id,
                full_sync=sync,
                status=status,
                attempts=len(calls),
                last_error=calls[-1][1] if calls else "",
                last_attempt_at=now if calls else None,
                finished_at=None if status == "pending" else now,
                queued_at=now - timedelta(hours=2),
            )
            deliveries.append(delivery)
            for n, (outcome, error) in enumerate(calls):
                attempts.append((delivery, n, outcome, error))
        Delivery.objects.bulk_create(deliveries)
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                delivery=delivery,
                partner=partner,
                started_at=now - timedelta(minutes=(i * 7 + n) % 1400),
                method="PUT",
                url="http://127.0.0.1:9/locations",
                outcome=outcome,
                http_status=200 if outcome == "success" else 422,
                error=error,
            )
            for i, (delivery, n, outcome, error) in enumerate(attempts)
        )


@transaction.atomic
def seed_push() -> None:
    if Partner.objects.filter(name="Healthy eMSP").exists():
        print("push partners exist already")
        return
    total = Location.objects.count()
    now = timezone.now()

    healthy = _partner("Healthy eMSP", receiver=True)
    sync = FullSync.objects.create(partner=healthy, total=total, locations_queued=total)
    sync.queuing_done_at = now
    sync.save()
    _history(healthy, sync, lambda i: ("succeeded", [("success", "")]))
    PartnerPushState.objects.create(partner=healthy, last_success_at=now)

    failing = _partner("Failing eMSP", receiver=True)
    _history(
        failing,
        None,
        lambda i: ("pending", [("transient", "Connection refused")] if i < 2000 else []),
    )
    PartnerPushState.objects.create(
        partner=failing,
        consecutive_failures=2000,
        failing_since=now - timedelta(hours=5),
        last_failure_at=now,
        last_error="Connection refused",
    )

    strict = _partner("Strict hub", receiver=True)
    sync = FullSync.objects.create(partner=strict, total=total, locations_queued=total)
    sync.queuing_done_at = now
    sync.save()
    _history(
        strict,
        sync,
        lambda i: (
            ("failed", [("permanent", REFUSAL)]) if i % 25 < 7 else ("succeeded", [("success", "")])
        ),
    )
    PartnerPushState.objects.create(
        partner=strict, last_success_at=now, last_failure_at=now, last_error=REFUSAL
    )

    _partner("Pull-only eMSP", receiver=False)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"seeded: {Delivery.objects.count()} deliveries, {DeliveryAttempt.objects.count()} attempts"
    )


def measure(repeat: int) -> None:
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    print(
        f"{Location.objects.count()} Locations, {EVSE.objects.count()} EVSEs, "
        f"{Delivery.objects.count()} deliveries, {DeliveryAttempt.objects.count()} attempts; "
        f"load {os.getloadavg()[0]:.2f}"
    )
    for name, url in PAGES.items():
        times, sql = [], []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - start)
            assert response.status_code == 200, (url, response.status_code)
            sql.append(sum(float(q["time"]) for q in queries.captured_queries))
        print(
            f"{name:30} median {1000 * statistics.median(times):7.1f} ms "
            f"(SQL {1000 * statistics.median(sql):6.1f} ms), "
            f"slowest {1000 * max(times):7.1f} ms, {len(queries)} queries"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed-push", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.seed_push:
        seed_push()
    measure(args.repeat)
