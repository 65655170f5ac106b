"""Scale: bulk writes (issue 17). PostgreSQL + Redis, the Procfile's workers, a fast receiver.

    .venv/bin/python bench/scale_bulk.py --size 25000 \\
        --database-url postgres://postgres@127.0.0.1:5432/h17bulk_25k \\
        --broker-url redis://127.0.0.1:6379/6 [--changes 5000] [--json]

On a database with `--size` demo Locations (`manage.py ocpi_demo_data --locations N`, × 4
EVSEs × 2 Connectors; loaded here when the database has no Location yet, refused when it has
another number), with one registered push partner whose Locations endpoint is a fast receiver
on loopback (`bench/fast_receiver.py`: answers OCPI 1000 at once) and the Procfile's `worker`
and `sender` processes running:

- `commit`: `services.evses_set_status` of `--changes` EVSEs (the first ones by row id that
  are not REMOVED; the new status is BLOCKED, or AVAILABLE when most of them are BLOCKED
  already) in one transaction, from the call to the end of the commit. The EVSE instances
  are read before (as the admin action reads its selection). Also its statements.
- `floor`: the same change as three plain SQL statements, rolled back, just before (the
  baseline of `commit` on the same load).
- `push`: from that commit until the receiver was told the new status of every EVSE that
  really changed (distinct EVSEs; the time of the last new one).
- CPU seconds of the workers and the receiver in the push step (PostgreSQL's backends come
  and go with the workers' connections, so /proc cannot total theirs).

`measure(size, database_url, broker_url)` runs it in a child process (so that it can be
called from any process, whatever database that one has set up) and returns one dict per
figure: {"part", "figure", "locations", "value", "unit", "target", "note"}. `bench/scale.py`
collects the parts. Load average (`uptime`) is in every dict's note.
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = str(ROOT / ".venv/bin/python")
PART = "bulk writes"
PARTNER_NAME = "bench-bulk"


def _env(database_url: str, broker_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{ROOT / '.venv/bin'}:{os.environ.get('PATH', '')}",
        "DJANGO_SETTINGS_MODULE": "ocpi_site.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "OCPI_COUNTRY_CODE": "NL",
        "OCPI_PARTY_ID": "EXA",
        "LOG_LEVEL": "WARNING",
        # The receiver listens on http://127.0.0.1 (production rules refuse both).
        "OCPI_ALLOW_HTTP_PARTNER_URLS": "true",
        "OCPI_ALLOW_PRIVATE_PARTNER_URLS": "true",
    }


def measure(size: int, database_url: str, broker_url: str, *, changes: int = 5000) -> list[dict]:
    """The figures of this part at `size` Locations (see the module docstring)."""
    done = subprocess.run(
        [PYTHON, __file__, "--size", str(size), "--changes", str(changes), "--json"]
        + ["--database-url", database_url, "--broker-url", broker_url],
        cwd=ROOT,
        env=_env(database_url, broker_url),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _load_average() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _ensure_data(size: int, env: dict[str, str]) -> None:
    manage = [PYTHON, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    from locations.models import Location

    count = Location.objects.count()
    if count == 0:
        subprocess.run(
            [*manage, "ocpi_demo_data", "--locations", str(size)], cwd=ROOT, env=env, check=True
        )
    elif count != size:
        raise SystemExit(f"The database holds {count} Locations, not {size}: use another one.")


def _procfile_workers(env: dict[str, str]) -> list[subprocess.Popen]:
    """The Procfile's `worker` and `sender` lines, as `make run` starts them."""
    lines = dict(
        line.split(": ", 1)
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return [
        subprocess.Popen(
            ["bash", "-c", lines[name].replace("--loglevel=INFO", "--loglevel=WARNING")],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        for name in ("worker", "sender")
    ]


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.02)


def _raw_floor(ids: list[int], status: str) -> float:
    """The same change as three plain SQL statements (EVSEs, their Locations, the change
    records; no history, no lock, no rule), rolled back: the floor of the commit figure,
    measured in the same run on the same load."""
    from django.db import connection, transaction

    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE locations_evse SET status = %s, last_updated = now(), version = version + 1"
            " WHERE row_id = ANY(%s) AND status NOT IN ('REMOVED', %s)",
            [status, ids, status],
        )
        cursor.execute(
            "UPDATE locations_location SET last_updated = now() WHERE row_id IN"
            " (SELECT location_id FROM locations_evse WHERE row_id = ANY(%s))",
            [ids],
        )
        cursor.execute(
            "INSERT INTO pushers_changerecord (level, method, location_id, evse_id, fields,"
            " shared_with, withdrawn_from, last_updated, created_at, fanned_out_at)"
            " SELECT 'evse', 'PATCH', location_id, row_id, '[\"status\"]', '[]', '[]', now(),"
            " now(), now() FROM locations_evse WHERE row_id = ANY(%s)",
            [ids],
        )
        transaction.set_rollback(True)
    return time.monotonic() - started


def _run(size: int, changes: int, env: dict[str, str]) -> list[dict]:
    import django

    os.environ.update(env)
    django.setup()
    sys.path.insert(0, str(BENCH))
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext
    from fast_receiver import FastReceiver
    from push import cpu_seconds

    from locations import services
    from locations.enums import Status
    from locations.models import EVSE
    from ocpi_site.celery import app
    from partners.models import InterfaceRole, Partner, PartnerEndpoint
    from partners.services import partner_create
    from pushers import clock
    from pushers.models import ChangeRecord
    from tests.pushers.receiver import PUSH_TOKEN

    _ensure_data(size, env)
    app.control.purge()
    # Leftovers of an earlier run: its partner (with its lanes and deliveries) and records.
    Partner.objects.filter(name=PARTNER_NAME).delete()
    ChangeRecord.objects.filter(fanned_out_at__isnull=True).update(fanned_out_at=clock.now())

    receiver = FastReceiver().start()
    partner, _ = partner_create(name=PARTNER_NAME, country_code="DE", party_id="BLK")
    partner.outgoing_token = PUSH_TOKEN
    partner.save(update_fields=["outgoing_token"])
    PartnerEndpoint.objects.create(
        partner=partner,
        identifier="locations",
        role=InterfaceRole.RECEIVER,
        url=receiver.locations_url,
    )
    workers = _procfile_workers(env)
    try:
        chosen = list(EVSE.objects.exclude(status=Status.REMOVED).order_by("row_id")[: changes + 1])
        warm_up, evses = chosen[0], chosen[1:]
        # The workers are up once a single change reaches the receiver.
        warm_up.status = (
            Status.OUTOFORDER if warm_up.status != Status.OUTOFORDER else Status.UNKNOWN
        )
        services.evse_update(evse=warm_up)
        _wait(lambda: receiver.evses_with(warm_up.status)[0] == 1, 180, "the workers")
        time.sleep(1)

        statuses = dict(
            EVSE.objects.filter(pk__in=[e.pk for e in evses])
            .values_list("status")
            .annotate(n=Count("pk"))
        )
        new = Status.AVAILABLE if statuses.get(Status.BLOCKED, 0) > changes / 2 else Status.BLOCKED
        worker_groups = {worker.pid for worker in workers}
        groups = {
            "workers": lambda pid, pgid, comm: pgid in worker_groups,
            "receiver": lambda pid, pgid, comm: pid == receiver.pid,
        }
        load = _load_average()
        floor = _raw_floor([e.pk for e in evses], new)
        with CaptureQueriesContext(connection) as queries:
            started = time.monotonic()
            with transaction.atomic():
                changed = services.evses_set_status(evses=evses, status=new)
            committed = time.monotonic()
        cpu_before = cpu_seconds(groups)
        _wait(lambda: receiver.evses_with(new)[0] >= changed, 900, "the receiver")
        last_at = receiver.evses_with(new)[1]
        cpu_used = {n: used - cpu_before[n] for n, used in cpu_seconds(groups).items()}
    finally:
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, 15)
        for worker in workers:
            worker.wait(timeout=30)
        receiver.stop()

    note = f"{changed} of {len(evses)} EVSEs changed to {new}; {load}"
    cpu = ", ".join(f"{name} {used:.1f} s" for name, used in cpu_used.items())
    return [
        {
            "part": PART,
            "figure": f"{changes} EVSE status changes, one service call: call to commit",
            "locations": size,
            "value": round(committed - started, 3),
            "unit": "s",
            "target": "≤ 2 s",
            "note": f"{len(queries.captured_queries)} statements; {note}",
        },
        {
            "part": PART,
            "figure": f"{changes} EVSE status changes as 3 plain SQL statements (floor)",
            "locations": size,
            "value": round(floor, 3),
            "unit": "s",
            "target": "baseline",
            "note": f"rolled back, just before the service call; {note}",
        },
        {
            "part": PART,
            "figure": f"{changes} EVSE status changes: commit to all at a fast receiver",
            "locations": size,
            "value": round(last_at - committed, 3),
            "unit": "s",
            "target": "≤ 20 s",
            "note": f"CPU {cpu}; {note}",
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, required=True, help="Locations in the database")
    parser.add_argument("--changes", type=int, default=5000)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--broker-url", required=True)
    parser.add_argument("--json", action="store_true", help="one JSON line (for measure())")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    figures = _run(args.size, args.changes, _env(args.database_url, args.broker_url))
    if args.json:
        print(json.dumps(figures))
        return
    for figure in figures:
        print(
            f"{figure['locations']:>7} Locations | {figure['figure']}: {figure['value']} "
            f"{figure['unit']} (target {figure['target']}; {figure['note']})"
        )


if __name__ == "__main__":
    main()
