"""Benchmark: the admin lists at scale (issue 17, "Admin at scale"; docs/benchmarks.md,
"Scale: admin lists").

    .venv/bin/python bench/scale_admin.py \\
        --size 2500 postgres://postgres@127.0.0.1:5432/h17lists \\
        --size 25000 postgres://postgres@127.0.0.1:5432/h17lists_25k [--repeat 7] [--json FILE]

For each size, a child process set up with that `DATABASE_URL` (DEBUG off) logs in as a
superuser (`bench-admin`, made when missing) with Django's test client and requests every
admin list, search and filter page of the Location, EVSE, Connector and Delivery lists:
first and last page; searches by id, EVSE ID, name and city; filters by EVSE status,
country and power type. Each page is requested twice to warm up, then `--repeat` times in
rounds over all pages (so that the host's load spreads over every page alike); the p50 is
reported with the SQL statements of one request. With `--rounds N` the sizes alternate N
times (each a fresh child) and the median of the rounds' p50s is reported, so that a
change of the host's load does not land on one size only. It prints one table with the p50 at each
size and the growth factor (largest ÷ smallest size), against the targets of issue 17:
≤ 300 ms at 25,000 Locations and growth ≤ 1.5.

Data: `manage.py ocpi_demo_data --locations N` (4 EVSEs, 2 Connectors each) when the
database has no Locations; a Delivery list needs deliveries, so when there are none a
partner `bench-admin-partner` gets one Delivery per EVSE (a PATCH of its status, 96 %
succeeded, 3 % failed, 1 % pending), written with `bulk_create`, then ANALYZE.

`measure(size, database_url) -> list[dict]` runs one size and returns its rows (for
`bench/scale.py`). `--project DIR` runs the child on another checkout of the code (e.g.
`git archive` of the commit before, for a "before" column) with this checkout's `.venv`.
Not part of `make test`.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
TARGET_MS = 300.0
TARGET_GROWTH = 1.5


def measure(
    size: int,
    database_url: str,
    broker_url: str | None = None,  # bench/scale.py passes it; the admin pages need none
    *,
    repeat: int = 7,
    project: Path | str = ROOT,
) -> list[dict]:
    """Every admin page at one size: a list of {list, page, url, p50_ms, ...} rows, each
    also with bench/scale.py's keys (name, value, unit, target, growth_target)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-scale-admin-not-a-secret"),
        "AXES_ENABLED": "false",
    }
    result = subprocess.run(
        [PYTHON, str(Path(__file__).resolve()), "--child", str(size), "--repeat", str(repeat),
         "--project", str(project)],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"scale_admin child failed:\n{result.stdout}\n{result.stderr}")
    sys.stderr.write(result.stderr)
    rows = json.loads(result.stdout.splitlines()[-1])
    for row in rows:
        row.update(
            name=f"{row['list']}: {row['page']}",
            value=row["p50_ms"],
            unit="ms",
            target=f"<= {TARGET_MS}",
            growth_target=f"<= {TARGET_GROWTH}",
        )
    return rows


# --- The child: Django set up on one database -------------------------------------------


def _setup(project: Path) -> None:
    sys.path.insert(0, str(project))
    os.chdir(project)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ocpi_site.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _ensure_data(size: int) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from locations.models import EVSE, Location

    info = {}
    if not Location.objects.exists():
        _log(f"loading {size} demo Locations …")
        started = time.perf_counter()
        call_command("ocpi_demo_data", locations=size, stdout=sys.stderr)
        info["load_s"] = round(time.perf_counter() - started, 1)
    from pushers.models import Delivery

    if not Delivery.objects.exists():
        _log("writing one Delivery per EVSE …")
        _make_deliveries()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    import locations

    info["code"] = str(Path(locations.__file__).resolve().parent.parent)
    info["locations"] = Location.objects.count()
    info["evses"] = EVSE.objects.count()
    info["deliveries"] = Delivery.objects.count()
    return info


def _make_deliveries() -> None:
    from django.db import transaction
    from django.utils import timezone

    from locations.models import EVSE, Location
    from partners.models import Partner
    from pushers.models import Delivery, Lane

    partner = Partner.objects.filter(name="bench-admin-partner").first()
    if partner is None:
        from django.core.management import call_command

        call_command(
            "ocpi_partner", "create", "--name", "bench-admin-partner", "--country-code", "DE",
            "--party-id", "BAP", stdout=sys.stderr,
        )  # fmt: skip
        partner = Partner.objects.get(name="bench-admin-partner")
    now = timezone.now()
    ids = list(Location.objects.order_by("row_id").values_list("row_id", flat=True))
    for start in range(0, len(ids), 5000):
        with transaction.atomic():
            Lane.objects.bulk_create(
                [Lane(partner=partner, location_id=pk) for pk in ids[start : start + 5000]],
                ignore_conflicts=True,
            )
    lanes = dict(Lane.objects.filter(partner=partner).values_list("location_id", "pk"))
    batch = []
    for n, (pk, location_id) in enumerate(
        EVSE.objects.order_by("row_id").values_list("row_id", "location_id").iterator(5000)
    ):
        status = (
            Delivery.Status.FAILED if n % 33 == 5
            else Delivery.Status.PENDING if n % 100 == 7
            else Delivery.Status.SUCCEEDED
        )  # fmt: skip
        done = status != Delivery.Status.PENDING
        batch.append(
            Delivery(
                partner=partner,
                lane_id=lanes[location_id],
                level="evse",
                method="PATCH",
                fields=["status"],
                object_key=f"E:{pk}",
                location_id=location_id,
                evse_id=pk,
                status=status,
                attempts=1 if done else 0,
                queued_at=now,
                finished_at=now if done else None,
                last_http_status=200
                if status == Delivery.Status.SUCCEEDED
                else (400 if done else None),
                last_error="HTTP 400: unknown EVSE" if status == Delivery.Status.FAILED else "",
            )  # fmt: skip
        )
        if len(batch) == 5000:
            Delivery.objects.bulk_create(batch)
            batch = []
    if batch:
        Delivery.objects.bulk_create(batch)


def _pages() -> list[tuple[str, str, str]]:
    """(list, page, url) of every page measured; search values taken from the data."""
    from locations.models import EVSE, Location

    count = Location.objects.count()
    middle = Location.objects.order_by("row_id")[count // 2]
    evse = EVSE.objects.filter(location=middle).order_by("row_id").first()
    name = f'"{middle.name}"'
    city = middle.city
    country = (
        Location.objects.exclude(country=middle.country).values_list("country", flat=True).first()
        or middle.country
    )
    location = "/admin/locations/location/"
    evses = "/admin/locations/evse/"
    connectors = "/admin/locations/connector/"
    deliveries = "/admin/pushers/delivery/"
    pages = []
    for label, base, filters in (
        ("Location", location, (
            ("filter status", "evses__status__exact=OUTOFORDER"),
            ("filter country", f"country={country}"),
            ("filter power type", "evses__connectors__power_type__exact=DC"),
        )),
        ("EVSE", evses, (
            ("filter status", "status__exact=OUTOFORDER"),
            ("filter country", f"location__country={country}"),
            ("filter power type", "connectors__power_type__exact=DC"),
        )),
        ("Connector", connectors, (
            ("filter status", "evse__status__exact=OUTOFORDER"),
            ("filter country", f"evse__location__country={country}"),
            ("filter power type", "power_type__exact=DC"),
        )),
    ):  # fmt: skip
        ident = evse.uid if label == "EVSE" else middle.id
        pages += [
            (label, "first page", base),
            (label, "last page", base + "?p=LAST"),
            (label, "search id", base + "?" + _q(ident)),
            (label, "search evse_id", base + "?" + _q(evse.evse_id)),
            (label, "search name", base + "?" + _q(name)),
            (label, "search city", base + "?" + _q(city)),
        ]
        pages += [(label, page, f"{base}?{query}") for page, query in filters]
    pages += [
        ("Delivery", "first page", deliveries),
        ("Delivery", "last page", deliveries + "?p=LAST"),
        ("Delivery", "filter status", deliveries + "?status__exact=failed"),
        ("Delivery", "search id", deliveries + "?" + _q(middle.id)),
    ]
    return pages


def _q(term: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"q": term})


def _last_page(client, url: str) -> str:
    html = client.get(url).content.decode()
    numbers = [int(n) for n in re.findall(r"[?&;]p=(\d+)", html)]
    return str(max(numbers, default=1))


def child(size: int, repeat: int, project: Path) -> list[dict]:
    _setup(project)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    info = _ensure_data(size)
    user_model = get_user_model()
    admin_user = user_model.objects.filter(username="bench-admin").first()
    if admin_user is None:
        admin_user = user_model.objects.create_superuser("bench-admin", "", None)
    client = Client()
    client.force_login(admin_user)
    plain_get = client.get
    client.get = lambda url: plain_get(url, secure=True)  # DEBUG off redirects http to https

    pages = []
    for label, page, url in _pages():
        if "p=LAST" in url:
            url = url.replace("LAST", _last_page(client, url.split("?")[0]))
        pages.append((label, page, url))
    timings: dict[str, list[float]] = {url: [] for _, _, url in pages}
    rows = {}
    for label, page, url in pages:
        for _ in range(2):
            if client.get(url).status_code != 200:
                raise RuntimeError(f"{url} answered {client.get(url).status_code}")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        rows[url] = {
            "size": size, "list": label, "page": page, "url": url,
            "status": response.status_code, "queries": len(queries.captured_queries),
            "bytes": len(response.content), **info,
        }  # fmt: skip
    for _ in range(repeat):
        for _, _, url in pages:
            started = time.perf_counter()
            response = client.get(url)
            timings[url].append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                rows[url]["status"] = response.status_code
    for url, row in rows.items():
        row["p50_ms"] = round(statistics.median(timings[url]), 1)
        row["min_ms"] = round(min(timings[url]), 1)
    row_list = list(rows.values())
    row_list[0]["load_average"] = os.getloadavg()[0]
    return row_list


# --- The report -------------------------------------------------------------------------


def report(results: dict[int, list[dict]]) -> None:
    sizes = sorted(results)
    small, large = sizes[0], sizes[-1]
    by_key = {size: {(r["list"], r["page"]): r for r in rows} for size, rows in results.items()}
    header = " | ".join(f"{s:,}: p50 ms (queries)" for s in sizes)
    print(f"| list | page | {header} | growth {large:,} ÷ {small:,} | targets |")
    print("|---|---|" + "---:|" * len(sizes) + "---:|---|")
    missed = 0
    for key in by_key[small]:
        cells = []
        for size in sizes:
            row = by_key[size].get(key)
            cells.append(
                f"{row['p50_ms']:.1f} ({row['queries']})"
                + ("" if row["status"] == 200 else f" HTTP {row['status']}")
                if row
                else "–"
            )
        a, b = by_key[small][key], by_key[large].get(key)
        growth = b["p50_ms"] / a["p50_ms"] if b else float("nan")
        ok = b is not None and b["p50_ms"] <= TARGET_MS and growth <= TARGET_GROWTH
        missed += not ok
        print(f"| {key[0]} | {key[1]} | {' | '.join(cells)} | {growth:.2f} | "
              f"{'met' if ok else 'MISSED'} |")  # fmt: skip
    for size in sizes:
        first = results[size][0]
        print(
            f"{size:,}: {first['locations']:,} Locations, {first['evses']:,} EVSEs, "
            f"{first['deliveries']:,} Deliveries; load average {first['load_average']:.2f}"
            + (f"; data loaded in {first['load_s']} s" if "load_s" in first else "")
        )
    print(f"targets (≤ {TARGET_MS:.0f} ms at {large:,}, growth ≤ {TARGET_GROWTH}): "
          f"{'all met' if not missed else f'{missed} page(s) missed'}")  # fmt: skip


def _merge(rounds: list[list[dict]]) -> list[dict]:
    """One row per page: the median of the rounds' p50s (and their spread)."""
    merged = []
    for rows in zip(*rounds, strict=True):
        row = dict(rows[-1])
        row["p50_ms"] = round(statistics.median(r["p50_ms"] for r in rows), 1)
        row["round_p50s"] = [r["p50_ms"] for r in rows]
        row["load_average"] = rows[0].get("load_average", 0.0)
        merged.append(row)
    merged[0]["load_average"] = max(r[0]["load_average"] for r in rounds)
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", nargs=2, action="append", metavar=("N", "DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--rounds", type=int, default=1, help="alternate the sizes this many times (median)"
    )
    parser.add_argument("--project", default=str(ROOT))
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.repeat, Path(args.project))))
        return
    if not args.size:
        parser.error("give --size N DATABASE_URL at least once")
    runs: dict[int, list[list[dict]]] = {int(size): [] for size, _ in args.size}
    for round_number in range(args.rounds):  # sizes alternate, so both see the host's load
        for size, url in args.size:
            _log(f"round {round_number + 1}: {int(size):,} Locations on {url} …")
            rows = measure(int(size), url, repeat=args.repeat, project=args.project)
            runs[int(size)].append(rows)
    results = {size: _merge(rounds) for size, rounds in runs.items()}
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    report(results)


if __name__ == "__main__":
    main()
