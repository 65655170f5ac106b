"""Multi-machine run: 2 web processes, 3 Celery workers with different hostnames and one beat
against one PostgreSQL and one Redis, as separate machines would run them (docs/operations.md,
"Several machines").

    .venv/bin/python bench/multi_machine.py [--sites 20] [--changes 600] [--senders 4]
                                            [--delay 0.02] [--kill-worker]

Operators change EVSE statuses through the admin of both web processes (the status actions of
the EVSE list, POSTed alternately to web A and web B by `--senders` threads); the three workers
(`w1@hostA`, `w2@hostB`, `w3@hostC`, each consuming both queues) push to two partners, each a
receiver on loopback answering after `--delay` seconds. `--kill-worker` SIGKILLs w2 halfway.
Then it checks, per partner:
- every change arrived: the receiver's Location trees equal our rendering;
- in order: the `last_updated` each receiver saw per Location never went back;
- once: every Delivery succeeded, and the receiver got exactly one message per Delivery (no
  duplicate sends; with --kill-worker, at most the calls lost with the killed worker again);
- one lane, one sender: at most one request in flight per partner and Location at any moment;
and it reads /healthz and /metrics of both web processes.

Uses database `h16b_multi` on 127.0.0.1 (dropped and recreated) and Redis db 13. Not part of
`make test`.
"""

import argparse
import http.cookiejar
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "h16b_multi"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
BROKER = "redis://127.0.0.1:6379/13"
METRICS_TOKEN = "bench-metrics-token"  # noqa: S105 - a loopback-only bench
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "ocpi_site.settings",
    "OCPI_ENV_FILE": "/nonexistent",
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-multi-machine",
    "DATABASE_URL": DB_URL,
    "CELERY_BROKER_URL": BROKER,
    "OCPI_COUNTRY_CODE": "NL",
    "OCPI_PARTY_ID": "EXA",
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "json",
    "METRICS_TOKEN": METRICS_TOKEN,
    "HEALTH_HEARTBEAT_INTERVAL": "2",
    # Loopback, plain HTTP: the production rules refuse both.
    "OCPI_ALLOW_HTTP_PARTNER_URLS": "true",
    "OCPI_ALLOW_PRIVATE_PARTNER_URLS": "true",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "ALLOWED_HOSTS": "127.0.0.1",
    "DJANGO_SUPERUSER_USERNAME": "bench",
    "DJANGO_SUPERUSER_PASSWORD": "bench-password-1",
}
WEB_PORTS = (8731, 8732)
BIN = ROOT / ".venv/bin"


class AdminSession:
    """An operator logged in to one web process's admin."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self._post(
            "/admin/login/",
            {"username": "bench", "password": "bench-password-1", "next": "/admin/"},
            referer="/admin/login/",
        )

    def _csrf(self, path: str) -> str:
        cookie = next((c.value for c in self.jar if c.name == "csrftoken"), None)
        if cookie and path != "/admin/login/":
            return cookie  # the form token may be the cookie's (Django's CSRF check)
        page = self.opener.open(self.base + path, timeout=30).read().decode()
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def _post(self, path: str, data: dict, *, referer: str) -> str:
        fields = {"csrfmiddlewaretoken": self._csrf(referer), **data}
        request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
            self.base + path,
            data=urllib.parse.urlencode(fields, doseq=True).encode(),
            headers={"Referer": self.base + referer},
        )
        return self.opener.open(request, timeout=30).read().decode()

    def set_status(self, evse_pk: int, status: str) -> None:
        page = self._post(
            "/admin/locations/evse/",
            {"action": f"set_status_{status.lower()}", "_selected_action": [evse_pk], "index": 0},
            referer="/admin/locations/evse/",
        )
        if "set to" not in page and "had this status already" not in page:
            raise SystemExit(f"the admin did not confirm the change of EVSE {evse_pk}")


def start(args: list[str], log: Path, **env: str) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env={**ENV, **env}, stdout=out, stderr=out, start_new_session=True
        )


def get(url: str, **headers: str) -> tuple[int, str]:
    try:
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
        with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError as exc:  # not listening yet
        return 0, str(exc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=20, help="Locations, 5 EVSEs each")
    parser.add_argument("--changes", type=int, default=600, help="status changes in the admin")
    parser.add_argument("--senders", type=int, default=4, help="operators posting at once")
    parser.add_argument("--delay", type=float, default=0.02, help="receivers' answer delay (s)")
    parser.add_argument("--kill-worker", action="store_true", help="SIGKILL w2 halfway")
    parser.add_argument("--logs", default="/tmp/h16b-multi", help="folder of the process logs")
    args = parser.parse_args()
    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("*.log"):
        old.unlink()

    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB_NAME])
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    subprocess.run(["redis-cli", "-n", "13", "flushdb"], check=True, capture_output=True)
    python = str(BIN / "python")
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=ENV, check=True)
    subprocess.run(
        [python, "manage.py", "ocpi_ensure_operator"],
        cwd=ROOT,
        env=ENV,
        check=True,
        capture_output=True,
    )
    os.environ.update(ENV)

    import django

    django.setup()
    from locations import selectors, serializers, services
    from locations.enums import Status
    from locations.models import EVSE
    from partners.models import InterfaceRole, PartnerEndpoint
    from partners.services import partner_create
    from pushers.models import Delivery, DeliveryAttempt
    from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory
    from tests.pushers.receiver import PUSH_TOKEN, Receiver
    from versions.datetimes import parse_ocpi_datetime
    from versions.envelope import dumps

    class LaneWatchingReceiver(Receiver):
        """Counts the requests in flight per Location (a lane is one partner's Location)."""

        protocol_version = "HTTP/1.1"

        def __post_init__(self) -> None:
            super().__post_init__()
            self.lane_in_flight: Counter = Counter()
            self.lane_max_in_flight: Counter = Counter()

        def _handle(self, request):
            key = tuple(request.path.split("/")[5:8])  # country, party, location id
            with self._lock:
                self.lane_in_flight[key] += 1
                self.lane_max_in_flight[key] = max(
                    self.lane_max_in_flight[key], self.lane_in_flight[key]
                )
            try:
                return super()._handle(request)
            finally:
                with self._lock:
                    self.lane_in_flight[key] -= 1

    receivers = {}
    for name, party in (("eMSP one", "EM1"), ("eMSP two", "EM2")):
        receiver = LaneWatchingReceiver().start()
        receiver.delay = args.delay
        partner, _ = partner_create(name=name, country_code="DE", party_id=party, role="EMSP")
        partner.outgoing_token = PUSH_TOKEN
        partner.save(update_fields=["outgoing_token"])
        PartnerEndpoint.objects.create(
            partner=partner,
            identifier="locations",
            role=InterfaceRole.RECEIVER,
            url=receiver.locations_url,
        )
        receivers[partner.pk] = (name, receiver)

    celery = str(BIN / "celery")
    processes: dict[str, subprocess.Popen] = {}
    for i, port in enumerate(WEB_PORTS):
        name = f"web{'AB'[i]}"
        multiproc = logs / f"prometheus-{name}"
        multiproc.mkdir(exist_ok=True)
        for stale in multiproc.glob("*.db"):
            stale.unlink()
        processes[name] = start(
            [
                str(BIN / "gunicorn"),
                "ocpi_site.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
            ],
            logs / f"{name}.log",
            PROMETHEUS_MULTIPROC_DIR=str(multiproc),
        )
    for i, host in enumerate(("hostA", "hostB", "hostC")):
        processes[f"w{i + 1}"] = start(
            [
                celery,
                "-A",
                "ocpi_site",
                "worker",
                "-Q",
                "celery,push-send",
                "--concurrency=2",
                f"--hostname=w{i + 1}@{host}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            logs / f"w{i + 1}.log",
        )
    processes["beat"] = start(
        [
            celery,
            "-A",
            "ocpi_site",
            "beat",
            "--loglevel=INFO",
            f"--schedule={logs / 'celerybeat-schedule'}",
        ],
        logs / "beat.log",
    )

    def wait_for(condition, what: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"gave up waiting for {what}")
            time.sleep(0.2)

    try:
        wait_for(
            lambda: get(f"http://127.0.0.1:{WEB_PORTS[0]}/healthz")[0] == 200,
            "healthz 200 (webs, 3 workers, beat)",
        )
        health = json.loads(get(f"http://127.0.0.1:{WEB_PORTS[1]}/healthz")[1])

        sites = []
        for _ in range(args.sites):
            evses = [(EVSEFactory.build(), [ConnectorFactory.build()]) for _ in range(5)]
            sites.append(services.location_create(location=LocationFactory.build(), evses=evses))
        evse_pks = list(EVSE.objects.order_by("row_id").values_list("pk", flat=True))

        sessions = [AdminSession(port) for port in WEB_PORTS for _ in range(args.senders // 2)]
        statuses = [Status.AVAILABLE, Status.CHARGING, Status.BLOCKED, Status.OUTOFORDER]
        rng = random.Random(16)
        plan = [(rng.choice(evse_pks), rng.choice(statuses)) for _ in range(args.changes)]
        killed = threading.Event()

        def operator(number: int) -> None:
            session = sessions[number]
            for k in range(number, len(plan), len(sessions)):
                session.set_status(*plan[k])
                if args.kill_worker and k >= len(plan) // 2 and not killed.is_set():
                    killed.set()
                    os.killpg(processes["w2"].pid, signal.SIGKILL)

        started = time.monotonic()
        threads = [threading.Thread(target=operator, args=(n,)) for n in range(len(sessions))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        saved = time.monotonic()
        for port in WEB_PORTS:  # a few OCPI requests for the request metrics (no token: 401)
            for _ in range(6):
                assert get(f"http://127.0.0.1:{port}/ocpi/versions")[0] == 401

        def ours(location) -> dict:
            return json.loads(
                dumps(serializers.location_data(selectors.location_list().get(pk=location.pk)))
            )

        def in_sync() -> bool:
            return (
                all(
                    r.location(s.country_code, s.party_id, s.id) == ours(s)
                    for _, r in receivers.values()
                    for s in sites
                )
                and not Delivery.objects.filter(status__in=Delivery.OPEN).exists()
            )

        wait_for(in_sync, "every receiver to hold our state", timeout=600)
        done = time.monotonic()
        time.sleep(3)  # nothing more may arrive

        print(f"health before the run (web B): {json.dumps(health)}")
        print(
            f"{args.changes} status changes through the admin of 2 web processes by "
            f"{len(sessions)} operators in {saved - started:.1f} s; every receiver in sync "
            f"{done - saved:.1f} s after the last save"
        )
        from pushers.models import ChangeRecord

        print(f"change records (saves that changed something): {ChangeRecord.objects.count()}")
        failures = []
        for partner_id, (name, receiver) in receivers.items():
            waits = sorted(
                (d.finished_at - d.queued_at).total_seconds() * 1000
                for d in Delivery.objects.filter(partner_id=partner_id, status="succeeded")
            )
            print(
                f"{name}: save → receipt p50 {waits[len(waits) // 2]:.0f} ms, p99 "
                f"{waits[int(len(waits) * 0.99)]:.0f} ms, max {waits[-1]:.0f} ms"
            )
            deliveries = Delivery.objects.filter(partner_id=partner_id)
            statuses_now = Counter(deliveries.values_list("status", flat=True))
            attempts = DeliveryAttempt.objects.filter(partner_id=partner_id)
            outcomes = Counter(attempts.values_list("outcome", flat=True))
            messages = len(receiver.pushes())
            # Order, as tests/pushers/test_order.py states it (docs/reliability.md, "Order
            # of messages"): the changes sent over one lane carry non-decreasing stamps, and
            # after each message the partner's Location is never older than the newest change
            # sent so far. (A message built at send time may carry a change made while it
            # waited; the next one, about an older change, then sets the Location back a
            # little, to no less than that: counted as `dips`, allowed.)
            out_of_order, dips = [], 0
            for site in sites:
                key = (site.country_code, site.party_id, site.id)
                sent = list(
                    attempts.filter(delivery__location=site, outcome="success")
                    .order_by("id")
                    .values_list("delivery__queued_at", flat=True)
                )
                if any(b < a for a, b in zip(sent, sent[1:], strict=False)):
                    out_of_order.append(f"{site.id}: changes sent out of order")
                seen = [parse_ocpi_datetime(x) for x in receiver.location_stamps.get(key, [])]
                dips += sum(1 for a, b in zip(seen, seen[1:], strict=False) if b < a)
                if len(seen) != len(sent):
                    if not args.kill_worker:  # a killed worker's last call may go unrecorded
                        out_of_order.append(f"{site.id}: {len(seen)} applied, {len(sent)} sent")
                    continue
                newest = None
                for told, stamp in zip(sent, seen, strict=True):
                    newest = max(newest or told, told)
                    if stamp < newest:
                        out_of_order.append(f"{site.id}: the partner went back to {stamp}")
            lane_max = max(receiver.lane_max_in_flight.values())
            print(
                f"{name}: {deliveries.count()} deliveries {dict(statuses_now)}, attempts "
                f"{dict(outcomes)}, {messages} messages received, out of order: "
                f"{len(out_of_order)}, dips of a Location's last_updated: {dips}, most "
                f"requests in flight for one Location: {lane_max}, for the partner: "
                f"{receiver.max_in_flight}"
            )
            failures += [f"{name}: {problem}" for problem in out_of_order]
            if lane_max > 1:
                failures.append(f"{name}: a lane had {lane_max} requests in flight at once")
            if set(statuses_now) - {"succeeded", "superseded"}:
                failures.append(f"{name}: deliveries not succeeded: {dict(statuses_now)}")
            if not args.kill_worker and messages != outcomes["success"]:
                failures.append(f"{name}: {messages} messages for {outcomes['success']} successes")
            if not args.kill_worker and outcomes["success"] != statuses_now["succeeded"]:
                failures.append(f"{name}: a delivery was sent more than once")
        tasks = {
            name: len(
                re.findall(
                    r"pushers\.tasks\.send_lane\[[^\]]+\] succeeded",
                    (logs / f"{name}.log").read_text(),
                )
            )
            for name in ("w1", "w2", "w3")
        }
        print(f"send_lane tasks run per worker: {tasks}")
        for port in WEB_PORTS:
            status, text = get(
                f"http://127.0.0.1:{port}/metrics", Authorization=f"Bearer {METRICS_TOKEN}"
            )
            wanted = re.findall(
                r'^(ocpi_push_attempts_total\{.*outcome="success".*\} \S+|'
                r"ocpi_push_backlog\{.*\} \S+|"
                r'ocpi_push_delivery_latency_seconds_bucket\{.*le="1\.0".*\} \S+|'
                r"ocpi_push_delivery_latency_seconds_count\{.*\} \S+|"
                r"ocpi_http_request_duration_seconds_count\{.*\} \S+)$",
                text,
                re.MULTILINE,
            )
            print(f"/metrics of 127.0.0.1:{port} (HTTP {status}):")
            for line in wanted:
                print(f"  {line}")
        status, text = get(f"http://127.0.0.1:{WEB_PORTS[0]}/healthz")
        print(f"healthz after the run (web A): HTTP {status} {text}")
        if failures:
            raise SystemExit("FAILED:\n" + "\n".join(failures))
        print(
            "OK: every change delivered to both partners, in order, each delivery sent once, "
            "never two requests in flight for one lane"
        )
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        for _, receiver in receivers.values():
            receiver.stop()


if __name__ == "__main__":
    main()
