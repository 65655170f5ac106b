"""Scale bench, full sync (issue 17, part 3): every Location to one fast receiver.

    .venv/bin/python bench/scale_sync.py --size 25000 \\
        --database-url postgres://postgres@127.0.0.1:5432/NAME --broker-url redis://127.0.0.1:6379/N
    .venv/bin/python bench/scale_sync.py --size 250000 ... --start-only

`measure(size, database_url, broker_url)` (called by `bench/scale.py` too) returns the figures
as dicts (`figure`, `value`, `unit`, `size`, `note`):

- the full sync: `manage.py ocpi_push_sync --partner …` run as a process of its own while the
  Procfile's two workers run (`-Q celery` and `-Q push-send`, each with one pool process per
  core unless WORKER_CONCURRENCY / SENDER_CONCURRENCY say otherwise), to a minimal loopback
  receiver (a process of its own answering every request with OCPI 1000 from a fixed byte
  string, keep-alive, so it is not the bottleneck): time from the command's start to the
  last PUT received, deliveries per second, how long the command ran after that last PUT,
  and the CPU per delivery of the workers and the command (their rusage from /proc), of the
  receiver and of the PostgreSQL backends of this database;
- the queuing alone (`--start-only` skips the sending): `full_sync_start` (the first batch)
  and every further batch (`full_sync_continue`), each one transaction, timed in this
  process for a paused partner (nothing is sent): the longest batch is what must stay far
  below the tasks' time limit at any size.

The database must hold `size` Locations (`manage.py ocpi_demo_data --locations SIZE`); an empty
one is filled first. The change records of that load are marked fanned out and the broker's
queues purged before the partner is created (the sites predate the partner; only the full
sync sends them). The partner and its push rows are deleted afterwards.
"""

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path
from statistics import median
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from push import cpu_seconds  # noqa: E402  (bench/push.py: CPU per process group from /proc)

# The code measured: this checkout, or another one (SCALE_SYNC_CODE, e.g. an older commit
# from `git archive`) run with this checkout's virtualenv.
CODE = Path(os.environ.get("SCALE_SYNC_CODE", ROOT))
PYTHON = str(ROOT / ".venv/bin/python")
CELERY = str(ROOT / ".venv/bin/celery")
PARTNER = "scale-sync"
TOKEN = "scale-sync-token"  # noqa: S105 (a bench partner on loopback)
ANSWER = b'{"status_code":1000,"status_message":"Success","timestamp":"2026-01-01T00:00:00Z"}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(ANSWER)).encode()
    + b"\r\n\r\n"
    + ANSWER
)


def environment(database_url: str, broker_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(CODE),
        "DJANGO_SETTINGS_MODULE": "ocpi_site.settings",
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only"),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "OCPI_COUNTRY_CODE": "NL",
        "OCPI_PARTY_ID": "EXA",
        "LOG_LEVEL": "WARNING",
        "OCPI_ALLOW_HTTP_PARTNER_URLS": "true",
        "OCPI_ALLOW_PRIVATE_PARTNER_URLS": "true",
    }


# --- The receiver: a minimal keep-alive HTTP server answering OCPI 1000 ----------------------


class _Answering(asyncio.Protocol):
    def __init__(self, count, first, last) -> None:
        self.count, self.first, self.last = count, first, last
        self.buffer = b""

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line[15:])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(RESPONSE)
            if head.startswith(b"put"):
                now = time.monotonic()
                with self.count.get_lock():
                    self.count.value += 1
                    if self.count.value == 1:
                        self.first.value = now
                    self.last.value = now


def _serve(port_out, count, first, last) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _Answering(count, first, last), "127.0.0.1", 0, reuse_address=True
        )
        port_out.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


class FastReceiver:
    def __init__(self) -> None:
        mp = multiprocessing.get_context("fork")
        self.count, self.first, self.last = mp.Value("i", 0), mp.Value("d", 0), mp.Value("d", 0)
        ports = mp.Queue()
        self.process = mp.Process(
            target=_serve, args=(ports, self.count, self.first, self.last), daemon=True
        )
        self.process.start()
        self.url = f"http://127.0.0.1:{ports.get(timeout=30)}/ocpi/2.2.1/locations"

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=10)


# --- Helpers ----------------------------------------------------------------------------------


def _setup(database_url: str, broker_url: str) -> None:
    env = environment(database_url, broker_url)
    import django
    from django.conf import settings

    if settings.configured:
        name = settings.DATABASES["default"]["NAME"]
        if name != urlparse(database_url).path.lstrip("/"):
            raise SystemExit(f"Django is set up for database {name}, not {database_url}")
        return
    os.environ.update(env)
    django.setup()


def _load(size: int, env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [PYTHON, "manage.py", "ocpi_demo_data", "--locations", str(size)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return time.monotonic() - started


def _prepare(size: int, env: dict[str, str]) -> None:
    from locations.models import Location

    count = Location.objects.count()
    if count == 0:
        _load(size, env)
        count = Location.objects.count()
    if count != size:
        raise SystemExit(f"The database holds {count} Locations, not {size}.")
    _cleanup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pushers_changerecord SET fanned_out_at = now() WHERE fanned_out_at IS NULL"
        )
        cursor.execute("VACUUM ANALYZE")
    from ocpi_site.celery import app

    app.control.purge()


def _partner(url: str, *, paused: bool = False):
    from partners.models import InterfaceRole, PartnerEndpoint
    from partners.services import partner_create
    from pushers import operations
    from pushers.models import PartnerPushState

    partner, _ = partner_create(name=PARTNER, country_code="DE", party_id="SCL")
    partner.outgoing_token = TOKEN
    partner.save()
    PartnerEndpoint.objects.create(
        partner=partner, identifier="locations", role=InterfaceRole.RECEIVER, url=url
    )
    operations.push_state(partner.pk)
    PartnerPushState.objects.filter(partner_id=partner.pk).update(push_paused=paused)
    return partner


def _cleanup() -> None:
    """The bench partner and every push row of it (SQL: the ORM's cascade would load them)."""
    from django.db import connection

    from partners.models import Partner

    ids = list(Partner.objects.filter(name=PARTNER).values_list("pk", flat=True))
    if not ids:
        return
    with connection.cursor() as cursor:
        for table in (
            "pushers_deliveryattempt",
            "pushers_delivery",
            "pushers_fullsync",
            "pushers_lane",
            "pushers_sendslot",
            "pushers_partnerpushstate",
        ):
            sql = f"DELETE FROM {table} WHERE partner_id = ANY(%s)"  # noqa: S608 (fixed names)
            cursor.execute(sql, [ids])
    Partner.objects.filter(pk__in=ids).delete()


def _load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _backends(database: str) -> set[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        )
        return {row[0] for row in cursor.fetchall()}


# --- The measurements -------------------------------------------------------------------------


def measure_start(size: int) -> list[dict]:
    """Queue a full sync for a paused partner, batch by batch, timing each transaction."""
    from django.conf import settings

    from pushers import operations

    partner = _partner("http://127.0.0.1:9/ocpi/2.2.1/locations", paused=True)
    try:
        started = time.monotonic()
        sync = operations.full_sync_start(partner_id=partner.pk, continue_in_tasks=False)
        assert sync is not None
        first = time.monotonic() - started
        batches = [first]
        while True:
            at = time.monotonic()
            done = operations.full_sync_continue(sync.pk, continue_in_tasks=False)
            batches.append(time.monotonic() - at)
            if done:
                break
        total = time.monotonic() - started
        sync.refresh_from_db()
    finally:
        _cleanup()
    batch = settings.PUSH_FULL_SYNC_BATCH
    note = f"{len(batches)} batches of {batch}, load {_load_average()}"
    return [
        {"figure": "full_sync_start (first batch)", "value": round(first, 2), "unit": "s"},
        {"figure": "longest batch transaction", "value": round(max(batches), 2), "unit": "s"},
        {"figure": "median batch transaction", "value": round(median(batches), 2), "unit": "s"},
        {"figure": "last batch transaction", "value": round(batches[-1], 2), "unit": "s"},
        {"figure": "all batches queued", "value": round(total, 2), "unit": "s", "note": note},
        {"figure": "Locations queued", "value": sync.locations_queued, "unit": ""},
    ]


def measure_sync(size: int, env: dict[str, str]) -> list[dict]:
    from django.conf import settings

    receiver = FastReceiver()
    workers = [
        subprocess.Popen(
            [CELERY, "-A", "ocpi_site", "worker", "-Q", queue, f"--hostname={name}-scale@%h"]
            + ["--loglevel=WARNING", "--without-gossip", "--without-mingle"]
            + ([f"--concurrency={env[var]}"] if env.get(var) else []),
            cwd=CODE,
            env=env,
            start_new_session=True,
        )
        for queue, name, var in (
            ("celery", "worker", "WORKER_CONCURRENCY"),
            ("push-send", "sender", "SENDER_CONCURRENCY"),
        )
    ]
    try:
        _partner(receiver.url)
        time.sleep(8)  # the workers' pool processes are up
        load = _load_average()
        database = settings.DATABASES["default"]["NAME"]
        groups = {
            "workers": lambda pid, pgid, comm, ids={w.pid for w in workers}: pgid in ids,
        }
        cpu_before = cpu_seconds(groups)
        receiver_before = cpu_seconds({"r": lambda pid, pgid, comm: pid == receiver.process.pid})
        started = time.monotonic()
        command = subprocess.Popen(
            [PYTHON, "manage.py", "ocpi_push_sync", "--partner", PARTNER],
            cwd=CODE,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        backends: set[int] = set()
        command_cpu = 0.0
        while command.poll() is None:
            backends |= _backends(database)
            command_cpu = cpu_seconds({"c": lambda pid, pgid, comm: pgid == command.pid})["c"]
            time.sleep(0.5)
        ended = time.monotonic()
        output = command.stdout.read().decode() if command.stdout else ""
        deadline = time.monotonic() + 30
        while receiver.count.value < size and time.monotonic() < deadline:
            time.sleep(0.1)  # what the workers still send after the command (none expected)
        cpu_used = cpu_seconds(groups)["workers"] - cpu_before["workers"]
        receiver_cpu = (
            cpu_seconds({"r": lambda pid, pgid, comm: pid == receiver.process.pid})["r"]
            - receiver_before["r"]
        )
        postgres_cpu = cpu_seconds({"p": lambda pid, pgid, comm: pid in backends})["p"]
        received, last, first = receiver.count.value, receiver.last.value, receiver.first.value
    finally:
        for worker in workers:
            os.killpg(worker.pid, 15)
        for worker in workers:
            worker.wait(timeout=30)
        receiver.stop()
        _cleanup()
    if command.returncode != 0:
        raise SystemExit(f"ocpi_push_sync failed:\n{output}")
    took = last - started
    per = 1000 / max(received, 1)
    note = f"load {load} at the start, {_load_average()} at the end"
    ms = "ms"
    return [
        {"figure": "PUTs received", "value": received, "unit": "", "note": note},
        {"figure": "command start → last PUT", "value": round(took, 1), "unit": "s"},
        {"figure": "deliveries per second", "value": round(received / took), "unit": "/s"},
        {"figure": "first → last PUT", "value": round(last - first, 1), "unit": "s"},
        {"figure": "command ran after the last PUT", "value": round(ended - last, 2), "unit": "s"},
        {"figure": "CPU per delivery: workers", "value": round(cpu_used * per, 2), "unit": "ms"},
        {"figure": "CPU per delivery: command", "value": round(command_cpu * per, 2), "unit": "ms"},
        {
            "figure": "CPU per delivery: workers + command",
            "value": round((cpu_used + command_cpu) * per, 2),
            "unit": "ms",
        },
        {"figure": "CPU per delivery: receiver", "value": round(receiver_cpu * per, 2), "unit": ms},
        {"figure": "CPU per delivery: postgres", "value": round(postgres_cpu * per, 2), "unit": ms},
        {"figure": "command's last line", "value": output.strip().splitlines()[-1], "unit": ""},
    ]  # fmt: skip


def measure(
    size: int, database_url: str, broker_url: str, *, start_only: bool = False
) -> list[dict]:
    env = environment(database_url, broker_url)
    _setup(database_url, broker_url)
    _prepare(size, env)
    figures = measure_start(size)
    if not start_only:
        figures += measure_sync(size, env)
    for figure in figures:
        figure.setdefault("note", "")
        figure["size"] = size
        figure["part"] = "full sync"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--broker-url", required=True)
    parser.add_argument("--start-only", action="store_true", help="only the queuing")
    args = parser.parse_args()
    for f in measure(args.size, args.database_url, args.broker_url, start_only=args.start_only):
        value = f"{f['value']} {f['unit']}".strip()
        print(f"{f['size']:>7}  {f['figure']:<40} {value}  {f['note']}")


if __name__ == "__main__":
    main()
