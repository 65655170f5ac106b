"""Push benchmark: PostgreSQL, Redis, 2 Celery worker processes, one receiver on loopback.

    .venv/bin/python bench/push.py [--concurrency 4] [--latency-changes 200] [--evses 500]
                                   [--port 0] [--http10]

Prints
- save-to-receipt latency p50/p99 of single EVSE status changes (1 partner; target ≤100 ms /
  ≤500 ms): from the commit of the save to the receiver having the PATCH,
- deliveries per second with 3 partners (target ≥300/s): a status change of `--evses` EVSEs
  saved in one transaction (the 500 `evse_update` calls of `evses_set_status`, committed
  together, as a bulk status import would), from that commit to the last of the 3 × N
  PATCHes received (so fan-out, sending and the receiver are all in the figure; the bench's
  own saving loop is not). Also printed: the rate from the first to the last receipt, and the
  old measure (500 separate transactions, rate from the end of the saving loop, with the
  workers competing with that loop for the CPU) with `--separate-saves`,
- how many messages 100 rapid status changes of one EVSE produced (target ≤3, the last one
  carrying the final state).

Uses database `bench_push` on 127.0.0.1 (dropped and recreated) and Redis db 7. Not part of
`make test`. The receiver (the test receiver: a threaded Python HTTP server keeping the pushed
Location trees) runs in processes of their own by default, one per partner on its own port
(`--port` and the next two), as 3 partners are 3 eMSPs' servers; `--no-receiver-process`:
one receiver for all, in this process, sharing its GIL, as before. Its cost is part of every
figure (the HTTP round trip is timed by the workers). It
keeps connections open (HTTP/1.1) unless `--http10` (a new connection per message). `--port`
picks its port (0: any free one). The workers use the default PUSH_LANE_QUIET and
PUSH_LANE_MAX_WAIT unless they are set in the environment.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = "postgres://postgres@127.0.0.1:5432/bench_push"
BROKER = "redis://127.0.0.1:6379/7"
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "ocpi_site.settings",
    "DEBUG": "false",
    "SECRET_KEY": "bench-only",
    "DATABASE_URL": DB_URL,
    "CELERY_BROKER_URL": BROKER,
    "OCPI_COUNTRY_CODE": "NL",
    "OCPI_PARTY_ID": "EXA",
    "LOG_LEVEL": "WARNING",
    # The receivers listen on http://127.0.0.1 (production rules refuse both).
    "OCPI_ALLOW_HTTP_PARTNER_URLS": "true",
    "OCPI_ALLOW_PRIVATE_PARTNER_URLS": "true",
}


def cpu_seconds(groups: dict[str, object]) -> dict[str, float]:
    """CPU time (user + system, seconds) used so far by each group of processes, read from
    /proc: `groups` maps a name to a predicate on (pid, pgid, comm). Linux only; a process
    that ended in between is not counted (none of ours does during a measurement)."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = dict.fromkeys(groups, 0.0)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                raw = stat.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        pgid, used = int(fields[2]), (int(fields[11]) + int(fields[12])) / tick
        for name, matches in groups.items():
            if matches(int(entry), pgid, comm):
                totals[name] += used
                break
    return totals


class ReceiverProcess:
    """The receiver in a process of its own (its Python threads then do not share this
    process's GIL); each request it answers is reported back through a queue as
    (method, path, lower-case headers, body, time.monotonic() of the answer) – the monotonic
    clock is the same in both processes."""

    def __init__(self, receiver_class, port: int, count: int) -> None:
        import multiprocessing

        self._mp = multiprocessing.get_context("fork")
        self._class, self._port, self._count = receiver_class, port, count
        self._queue = self._mp.Queue()
        self.requests: list = []

    def start(self) -> None:
        import threading

        self._processes, self.locations_urls = [], []
        for i in range(self._count):
            ready = self._mp.Queue()
            port = self._port + i if self._port else 0
            process = self._mp.Process(target=self._serve, args=(ready, port), daemon=True)
            process.start()
            self._processes.append(process)
            self.locations_urls.append(ready.get(timeout=30))
        self.locations_url = self.locations_urls[0]
        threading.Thread(target=self._drain, daemon=True).start()

    def _serve(self, ready, port: int) -> None:
        queue = self._queue

        class Reporting(self._class):
            def _handle(self, request):
                answer = super()._handle(request)
                queue.put(
                    (request.method, request.path, request.headers, request.body, time.monotonic())
                )
                return answer

        receiver = Reporting()
        receiver._port = port or None
        receiver.start()
        ready.put(receiver.locations_url)
        while True:
            time.sleep(3600)

    def _drain(self) -> None:
        from types import SimpleNamespace

        while True:
            method, path, headers, body, at = self._queue.get()
            request = SimpleNamespace(method=method, path=path, headers=headers, body=body)
            request.received_at = at
            self.requests.append(request)

    def pushes(self) -> list:
        return [r for r in self.requests if r.method in ("PUT", "PATCH")]

    def pids(self) -> set[int]:
        return {process.pid for process in self._processes}

    def stop(self) -> None:
        for process in self._processes:
            process.terminate()
            process.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=8, help="pool size per worker")
    parser.add_argument("--pool", default="prefork", help="worker pool (prefork, threads)")
    parser.add_argument("--latency-changes", type=int, default=200)
    parser.add_argument("--evses", type=int, default=500)
    parser.add_argument("--port", type=int, default=0, help="receiver port (0: any)")
    parser.add_argument("--http10", action="store_true", help="receiver closes connections")
    parser.add_argument(
        "--receiver-process",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the receiver in a process of its own (default) or in this one",
    )
    parser.add_argument(
        "--separate-saves", action="store_true", help="throughput: one transaction per EVSE"
    )
    args = parser.parse_args()

    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "bench_push"])
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", "bench_push"], check=True)
    python = str(ROOT / ".venv/bin/python")
    subprocess.run(
        [python, "manage.py", "migrate", "-v0", "--skip-checks"], cwd=ROOT, env=ENV, check=True
    )
    os.environ.update(ENV)

    import django

    django.setup()
    from ocpi_site.celery import app

    app.control.purge()
    from locations import services
    from locations.enums import Status
    from locations.models import EVSE
    from partners.models import InterfaceRole, PartnerEndpoint
    from partners.services import partner_create
    from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory
    from tests.pushers.receiver import PUSH_TOKEN, Receiver

    class TimedReceiver(Receiver):
        def _handle(self, request):
            answer = super()._handle(request)
            request.received_at = time.monotonic()
            return answer

    TimedReceiver.protocol_version = "HTTP/1.0" if args.http10 else "HTTP/1.1"
    if args.receiver_process:
        # One receiver process per partner, as 3 partners are 3 eMSPs' servers.
        receiver = ReceiverProcess(TimedReceiver, args.port, count=3)
    else:
        receiver = TimedReceiver()
        receiver._port = args.port or None
    receiver.start()

    def add_partner(name: str, party_id: str, number: int):
        partner, _ = partner_create(name=name, country_code="DE", party_id=party_id)
        partner.outgoing_token = PUSH_TOKEN
        partner.save()
        PartnerEndpoint.objects.create(
            partner=partner,
            identifier="locations",
            role=InterfaceRole.RECEIVER,
            url=getattr(receiver, "locations_urls", [receiver.locations_url] * 3)[number],
        )

    def wait_for(condition, timeout=120):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit("gave up waiting")
            time.sleep(0.005)

    celery = str(ROOT / ".venv/bin/celery")
    workers = [
        subprocess.Popen(
            [celery, "-A", "ocpi_site", "worker", f"--concurrency={args.concurrency}"]
            + [f"--pool={args.pool}"]
            + ["--loglevel=WARNING", "--without-gossip", "--without-mingle"]
            + [f"--hostname=bench{i}@%h"],
            cwd=ROOT,
            env=ENV,
            start_new_session=True,
        )
        for i in range(2)
    ]
    try:
        add_partner("bench-1", "BE1", 0)
        # 100 sites × 5 EVSEs; the first partner gets them pushed as Location PUTs.
        sites = []
        for _ in range(max(100, args.evses // 5)):
            evses = [(EVSEFactory.build(), [ConnectorFactory.build()]) for _ in range(5)]
            sites.append(services.location_create(location=LocationFactory.build(), evses=evses))
        wait_for(lambda: len(receiver.pushes()) >= len(sites))
        time.sleep(1)
        all_evses = list(EVSE.objects.select_related("location").order_by("row_id"))

        # 1. Latency, one partner, one change at a time.
        latencies = []
        for i in range(args.latency_changes):
            evse = all_evses[i % len(all_evses)]
            evse.status = Status.CHARGING if evse.status != Status.CHARGING else Status.AVAILABLE
            before = len(receiver.requests)
            services.evse_update(evse=evse)
            saved_at = time.monotonic()
            path = f"/{evse.location.id}/{evse.uid}"
            wait_for(
                lambda before=before, path=path: any(
                    r.path.endswith(path) for r in receiver.requests[before:]
                )
            )
            got = next(r for r in receiver.requests[before:] if r.path.endswith(path))
            latencies.append((got.received_at - saved_at) * 1000)
            time.sleep(0.01)
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]

        # 2. Throughput, three partners, one bulk change of N EVSEs.
        add_partner("bench-2", "BE2", 1)
        add_partner("bench-3", "BE3", 2)
        from partners.models import Partner
        from pushers import operations

        for partner in Partner.objects.exclude(name="bench-1"):
            operations.full_sync_start(partner_id=partner.pk)
        wait_for(lambda: len(receiver.pushes()) >= len(sites) * 3 + args.latency_changes)
        time.sleep(1)
        targets = all_evses[: args.evses]
        before = len(receiver.requests)
        worker_groups = {worker.pid for worker in workers}
        receiver_pids = receiver.pids() if args.receiver_process else set()
        groups = {
            "workers": lambda pid, pgid, comm: pgid in worker_groups,
            "receivers": lambda pid, pgid, comm: pid in receiver_pids,
            "postgres": lambda pid, pgid, comm: comm.startswith("postgres"),
            "redis": lambda pid, pgid, comm: comm.startswith("redis"),
            "bench": lambda pid, pgid, comm: pid == os.getpid(),
        }
        saving_started = time.monotonic()
        if args.separate_saves:
            services.evses_set_status(evses=targets, status=Status.BLOCKED)
        else:
            from django.db import transaction

            with transaction.atomic():
                services.evses_set_status(evses=targets, status=Status.BLOCKED)
        committed = time.monotonic()
        cpu_before = cpu_seconds(groups)  # the workers start at the commit (fan-out on_commit)
        saving_took = committed - saving_started
        expected = 3 * len(targets)
        wait_for(lambda: len(receiver.requests) - before >= expected, timeout=600)
        cpu_used = {name: used - cpu_before[name] for name, used in cpu_seconds(groups).items()}
        received = sorted(r.received_at for r in receiver.requests[before:])
        last = received[-1]
        per_second = expected / (last - committed)
        first_to_last = expected / (last - received[0])

        # 3. Coalescing: 100 rapid changes of one EVSE, one partner listening on that URL.
        evse = all_evses[-1]
        path = f"/{evse.location.id}/{evse.uid}"
        time.sleep(1)  # the EVSE was just sent in step 2: let it go quiet (leading edge)
        before = len(receiver.requests)
        flips = [Status.CHARGING, Status.AVAILABLE, Status.BLOCKED, Status.RESERVED]
        flips_started = time.monotonic()
        for i in range(100):
            evse.status = flips[i % 4]
            services.evse_update(evse=evse)
        flips_took = time.monotonic() - flips_started
        final = evse.status
        time.sleep(3)
        messages = [
            r
            for r in receiver.requests[before:]
            if r.path.endswith(path) and r.headers.get("ocpi-to-party-id") == "BE1"
        ]
        last_body = messages[-1].body if messages else None
    finally:
        for worker in workers:
            os.killpg(worker.pid, 15)
        for worker in workers:
            worker.wait(timeout=20)
        receiver.stop()

    print(f"latency save→receipt over {len(latencies)} changes: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    how = "separate transactions" if args.separate_saves else "one transaction"
    print(f"throughput, 3 partners: {expected} deliveries in {last - committed:.2f} s after "
          f"the commit = {per_second:.0f}/s (first→last receipt {first_to_last:.0f}/s; "
          f"{len(targets)} changes saved in {how} in {saving_took:.2f} s)")  # fmt: skip
    cpu_total = sum(cpu_used.values())
    print(f"CPU in the throughput step (commit → all received): {cpu_total:.2f} s = "
          f"{cpu_total * 1000 / expected:.2f} ms per delivery; "
          + ", ".join(f"{name} {used * 1000 / expected:.2f} ms ({used / cpu_total:.0%})"
                      for name, used in cpu_used.items()))  # fmt: skip
    print(f"100 rapid changes of one EVSE (saved in {flips_took:.2f} s) → {len(messages)} "
          f"messages to one partner; last status {last_body and last_body.get('status')} "
          f"(final {final})")  # fmt: skip


if __name__ == "__main__":
    main()
