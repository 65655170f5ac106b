"""Isolation benchmark (issue 12): a slow or hostile partner must not hurt other partners,
the web tier, or the memory of our processes.

    .venv/bin/python bench/isolation.py [--part 1|2|all] [--gets 300] [--handshakes 4]
                                        [--drip-interval 2] [--huge-bytes 1000000000]
                                        [--worker-class procfile|sync]
                                        [--changes 40] [--backlog 60] [--pause 0.2]

Runs on PostgreSQL (database `bench_isolation` on 127.0.0.1, dropped and recreated) and
Redis (db 6, flushed), with the app started as the Procfile starts it, and the hostile
partners of `tests/hostile_servers.py` in processes of their own. Not part of `make test`.

**Part 1, push isolation**: the Procfile's Celery processes (`worker`, `sender`, `beat`) and
a healthy partner (the test receiver, in a process of its own). It measures the healthy
partner's save-to-receipt latency for `--changes` EVSE changes, one at a time: alone, then
with one slow (10 s), one dripping (a byte every 5 s), one never-answering partner and one
answering `--huge-bytes` registered too, after a backlog of `--backlog` changes queued for
every partner. Targets: ratio of p50s ≤ 1.5, every change reaches the healthy partner, the
sender's pool processes stay under 300 MB.

**Part 2, the web tier**: the web processes of the Procfile (gunicorn, gthread) and a
registered partner reading the Locations Sender API. It measures Locations GETs one after
another (a new connection each, so they land on any worker): idle, then while `--handshakes`
holders of a token A POST credentials whose versions URL points at a server dripping one
byte every `--drip-interval` seconds. Targets: p50 at most 2× idle, the slowest under 1 s,
every handshake answered with an OCPI status code within 30 s, no web worker killed (the
gunicorn log shows no WORKER TIMEOUT, no worker exit or boot after the start, same worker
pids). Then one more handshake points at a partner answering `--huge-bytes` bytes (no
Content-Length): the web workers' peak RSS must stay under 300 MB. `--worker-class sync`
runs gunicorn with sync workers instead, to show what the threads are for.
"""

import argparse
import base64
import os
import shlex
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = ROOT / ".venv" / "bin"
DB_URL = "postgres://postgres@127.0.0.1:5432/bench_isolation"
BROKER = "redis://127.0.0.1:6379/6"
PARTNER_TOKEN = "bench-isolation-token-0123456789"  # noqa: S105 - a fixed bench token
LOCATIONS = "/ocpi/cpo/2.2.1/locations?limit=10"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(web_port: int) -> dict[str, str]:
    """Production settings (DEBUG off), except that partners may listen on http://127.0.0.1,
    as the hostile servers do: refusing them would not exercise the deadline."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ocpi_site.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-isolation-only",
        "DATABASE_URL": DB_URL,
        "CELERY_BROKER_URL": BROKER,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "OCPI_BASE_URL": f"http://127.0.0.1:{web_port}",
        "OCPI_ALLOW_HTTP_PARTNER_URLS": "true",
        "OCPI_ALLOW_PRIVATE_PARTNER_URLS": "true",
        "LOG_LEVEL": "WARNING",
        "WEB_PORT": str(web_port),
    }


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def prepare_database(env: dict[str, str], *, locations: int, pending: int) -> list[str]:
    """Recreate `bench_isolation` and Redis db 6; demo Locations, the registered partner that
    reads them, and `pending` partners with a token A each (returned)."""
    common = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["dropdb", *common, "--if-exists", "bench_isolation"], check=True)
    subprocess.run(["createdb", *common, "bench_isolation"], check=True)
    redis.Redis.from_url(BROKER).flushdb()
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "ocpi_demo_data", "--locations", str(locations), "--seed", "1")
    manage(
        env, "ocpi_partner", "create", "--name", "bench", "--country-code", "DE",
        "--party-id", "BEN", "--token", PARTNER_TOKEN,
    )  # fmt: skip
    tokens = []
    for i in range(pending):
        out = manage(env, "ocpi_partner", "token-a", "--name", f"hostile-{i}")
        tokens.append(
            next(line.split(": ", 1)[1] for line in out.splitlines() if "Token A" in line)
        )
    redis.Redis.from_url(BROKER).flushdb()  # the demo data's push tasks: no worker here
    return tokens


def procfile_command(name: str, env: dict[str, str]) -> list[str]:
    """The Procfile's command for process `name`, with its variables filled from `env`."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        key, _, command = line.partition(":")
        if key.strip() == name:
            return [string.Template(part).safe_substitute(env) for part in shlex.split(command)]
    raise KeyError(name)


def _without_option(command: list[str], option: str) -> list[str]:
    """`command` without `option` and its value."""
    if option not in command:
        return command
    at = command.index(option)
    return command[:at] + command[at + 2 :]


@contextmanager
def hostile_server(kind: str, *options: str) -> Iterator[str]:
    """A server of tests/hostile_servers.py in a process of its own; yields its URL."""
    process = subprocess.Popen(
        [str(BIN / "python"), "tests/hostile_servers.py", kind, *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def web_tier(env: dict[str, str], port: int, log: Path, worker_class: str) -> Iterator[int]:
    """gunicorn as the Procfile starts it (or with sync workers); yields its pid."""
    command = procfile_command("web", env)
    if worker_class == "sync":
        command = _without_option(_without_option(command, "--worker-class"), "--threads")
        command += ["--worker-class", "sync"]
    command = [str(BIN / command[0]), *command[1:], "--error-logfile", str(log)]
    command += ["--log-level", "info"]
    print("Web tier:", " ".join(command[1:]))
    with open(log.with_suffix(".access.log"), "w") as access:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=access)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit("gunicorn did not start")
                time.sleep(0.1)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed_gets(base: str, *, count: int | None = None, until: threading.Event | None = None):
    """Locations GETs one after another, each on a new connection; their seconds."""
    headers = {"Authorization": "Token " + base64.b64encode(PARTNER_TOKEN.encode()).decode()}
    latencies: list[float] = []
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(headers=headers, timeout=60, limits=limits) as client:
        while (count is None or len(latencies) < count) and not (until and until.is_set()):
            started = time.perf_counter()
            response = client.get(base + LOCATIONS)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:200]
    return latencies


def post_credentials(base: str, token_a: str, versions_url: str, i: int) -> dict:
    started = time.perf_counter()
    response = httpx.post(
        f"{base}/ocpi/2.2.1/credentials",
        headers={"Authorization": "Token " + base64.b64encode(token_a.encode()).decode()},
        json={
            "token": f"bench-token-b-{i}",
            "url": versions_url,
            "roles": [
                {
                    "role": "EMSP",
                    "country_code": "DE",
                    "party_id": f"H{i:02d}",
                    "business_details": {"name": f"Hostile {i}"},
                }
            ],
        },
        timeout=120,
    )
    body = response.json()
    return {
        "seconds": time.perf_counter() - started,
        "http": response.status_code,
        "ocpi": body.get("status_code"),
        "message": body.get("status_message", ""),
    }


def part_2(args) -> bool:
    port = _free_port()
    env = bench_env(port)
    print(f"Preparing bench_isolation ({args.locations} Locations) ...", flush=True)
    tokens = prepare_database(env, locations=args.locations, pending=args.handshakes + 1)
    base = f"http://127.0.0.1:{port}"
    log = Path("/tmp") / f"bench-isolation-gunicorn-{port}.log"
    drip_options = ["--interval", str(args.drip_interval)]
    huge_options = ["--size", str(args.huge_bytes), "--no-announce"]
    with (
        hostile_server("drip", *drip_options) as drip_url,
        hostile_server("huge", *huge_options) as huge_url,
        web_tier(env, port, log, args.worker_class) as master,
    ):
        time.sleep(1)  # all workers booted
        workers_before = sorted(_children(master))
        timed_gets(base, count=50)  # warm up every worker's database connection
        idle = timed_gets(base, count=args.gets)

        answers: list[dict] = []
        done = threading.Event()

        def handshake(i: int) -> None:
            answers.append(post_credentials(base, tokens[i], f"{drip_url}/ocpi/versions", i))

        posts = [threading.Thread(target=handshake, args=(i,)) for i in range(args.handshakes)]
        for post in posts:
            post.start()
        waiter = threading.Thread(target=lambda: ([p.join() for p in posts], done.set()))
        waiter.start()
        loaded = timed_gets(base, until=done)
        waiter.join()

        for pid in workers_before:  # peak RSS from now on
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        peak_before = {pid: _status_kb(pid, "VmHWM") for pid in workers_before}
        huge = post_credentials(base, tokens[-1], huge_url, args.handshakes)
        peak_after = {pid: _status_kb(pid, "VmHWM") for pid in workers_before}
        workers_after = sorted(_children(master))
        gunicorn_log = log.read_text()  # before the shutdown's worker exits

    print()
    print(
        f"Locations GET (limit=10), one after another, new connection each; {os.cpu_count()} CPUs"
    )
    print(f"{'':34}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for label, values in (("idle", idle), (f"{args.handshakes} dripping handshakes", loaded)):
        print(
            f"{label:34}{len(values):6d}{statistics.median(values) * 1000:9.1f}"
            f"{pct(values, 0.99) * 1000:9.1f}{max(values) * 1000:9.1f}"
        )
    print()
    print(f"Handshakes against a server dripping 1 byte / {args.drip_interval:g} s:")
    for answer in sorted(answers, key=lambda a: a["seconds"]):
        print(
            f"  {answer['seconds']:6.2f} s  HTTP {answer['http']}  OCPI {answer['ocpi']}  "
            f"{answer['message'][:90]}"
        )
    grown = {pid: (peak_after[pid] - peak_before[pid]) / 1024 for pid in workers_before}
    print(
        f"Handshake against a {args.huge_bytes / 1e9:g} GB answer: {huge['seconds']:.2f} s, "
        f"HTTP {huge['http']} OCPI {huge['ocpi']} {huge['message'][:80]}"
    )
    print(
        "  web workers' peak RSS: "
        + ", ".join(f"{peak_after[pid] / 1024:.0f} MB (+{grown[pid]:.0f})" for pid in grown)
    )
    timeouts = gunicorn_log.count("WORKER TIMEOUT")
    exits = gunicorn_log.count("Worker exiting")
    boots = gunicorn_log.count("Booting worker")
    print(
        f"gunicorn log: {timeouts} WORKER TIMEOUT, {exits} worker exits, {boots} worker boots; "
        f"workers {workers_before} before, {workers_after} after"
    )

    p50_ratio = statistics.median(loaded) / statistics.median(idle)
    checks = [
        ("p50 under load ÷ idle p50 ≤ 2", p50_ratio <= 2, f"{p50_ratio:.2f}"),
        ("slowest GET under load < 1 s", max(loaded) < 1, f"{max(loaded) * 1000:.0f} ms"),
        (
            "every handshake answered with an OCPI code within 30 s",
            len(answers) == args.handshakes
            and all(a["ocpi"] is not None and a["seconds"] < 30 for a in answers),
            ", ".join(f"{a['ocpi']}" for a in answers),
        ),
        (
            "no web worker killed",
            timeouts == 0 and workers_before == workers_after and boots == len(workers_before),
            f"{timeouts} timeouts, {boots} boots",
        ),
        (
            "web workers' peak RSS < 300 MB during a 1 GB answer",
            huge["ocpi"] is not None and max(peak_after.values()) < 300 * 1024,
            f"{max(peak_after.values()) / 1024:.0f} MB",
        ),
    ]
    print("Targets:")
    for label, ok, value in checks:
        print(f"  {label:58} {value:>18}  {'OK' if ok else 'MISSED'}")
    return all(ok for _, ok, _ in checks)


@contextmanager
def push_workers(env: dict[str, str], log_dir: Path) -> Iterator[list[subprocess.Popen]]:
    """The Procfile's Celery processes: `worker` (fan-out, sweeper), `sender`, `beat`."""
    processes = []
    for name in ("worker", "sender", "beat"):
        command = procfile_command(name, env)
        command = [str(BIN / command[0]), *command[1:], "--loglevel=WARNING"]
        if name == "beat":
            command += ["--schedule", str(log_dir / "celerybeat-schedule")]
        log = open(log_dir / f"{name}.log", "w")  # noqa: SIM115 - the child process owns it
        processes.append(
            subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
            )
        )
    try:
        yield processes
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)


def part_1(args) -> bool:
    """A healthy partner's save-to-receipt latency alone, then with a slow, a dripping and a
    never-answering partner registered too (each with a backlog of `--backlog` changes)."""
    env = bench_env(_free_port())
    print(f"Preparing bench_isolation ({args.locations} Locations) ...", flush=True)
    prepare_database(env, locations=args.locations, pending=0)
    os.environ.update(env)
    import django

    django.setup()
    from django.db import transaction

    from bench.push import ReceiverProcess
    from locations import services
    from locations.enums import Status
    from locations.models import EVSE
    from partners.models import InterfaceRole, PartnerEndpoint
    from partners.services import partner_create
    from pushers.models import Delivery, PartnerPushState
    from tests.pushers.receiver import PUSH_TOKEN, Receiver

    def add_partner(name: str, party_id: str, url: str):
        partner, _ = partner_create(name=name, country_code="DE", party_id=party_id)
        partner.outgoing_token = PUSH_TOKEN
        partner.save()
        PartnerEndpoint.objects.create(
            partner=partner, identifier="locations", role=InterfaceRole.RECEIVER, url=url
        )
        return partner

    class KeepAlive(Receiver):
        protocol_version = "HTTP/1.1"

    receiver = ReceiverProcess(KeepAlive, 0, count=1)
    receiver.start()
    healthy = add_partner("healthy", "HEA", receiver.locations_url)
    evses = list(
        EVSE.objects.select_related("location").exclude(status=Status.REMOVED).order_by("row_id")
    )
    log_dir = Path(tempfile.mkdtemp(prefix="bench-isolation-push-"))

    def measure(targets) -> list[float]:
        """One change at a time: commit → the healthy partner has it (ms)."""
        latencies = []
        for evse in targets:
            evse.status = Status.CHARGING if evse.status != Status.CHARGING else Status.BLOCKED
            before = len(receiver.requests)
            services.evse_update(evse=evse)
            saved_at = time.monotonic()
            path = f"/{evse.location.id}/{evse.uid}"
            deadline = saved_at + 120
            while True:
                got = [r for r in receiver.requests[before:] if r.path.endswith(path)]
                if got:
                    latencies.append((got[0].received_at - saved_at) * 1000)
                    break
                if time.monotonic() > deadline:
                    latencies.append(float("inf"))  # never arrived: fails the target
                    break
                time.sleep(0.002)
            time.sleep(args.pause)
        return latencies

    n = args.changes
    with push_workers(env, log_dir) as processes:
        time.sleep(3)  # workers ready
        measure(evses[-5:])  # warm up the workers' connections
        alone = measure(evses[:n])
        with (
            hostile_server("slow", "--delay", "10") as slow_url,
            hostile_server("drip", "--interval", "5") as drip_url,
            hostile_server("silent") as silent_url,
            hostile_server("huge", "--size", str(args.huge_bytes), "--no-announce") as huge_url,
        ):
            suffix = "/ocpi/emsp/2.2.1/locations"
            hostile = [
                add_partner("slow", "SLO", slow_url + suffix),
                add_partner("dripping", "DRI", drip_url + suffix),
                add_partner("silent", "SIL", silent_url + suffix),
                add_partner("huge", "HUG", huge_url + suffix),
            ]
            # A backlog for everyone: one transaction changing `--backlog` other EVSEs.
            with transaction.atomic():
                services.evses_set_status(
                    evses=evses[2 * n : 2 * n + args.backlog], status=Status.BLOCKED
                )
            time.sleep(2)
            senders = _children(processes[1].pid)  # the sender's pool processes
            loaded = measure(evses[n : 2 * n])
            peak_mb = max(_status_kb(pid, "VmHWM") for pid in senders) / 1024
            waiting = {
                p.name: Delivery.objects.filter(partner=p, status__in=Delivery.OPEN).count()
                for p in hostile
            }
            states = {
                s.partner.name: (s.consecutive_failures, s.failing_since is not None)
                for s in PartnerPushState.objects.filter(partner__in=hostile).select_related(
                    "partner"
                )
            }
    receiver.stop()
    healthy_waiting = Delivery.objects.filter(partner=healthy, status__in=Delivery.OPEN).count()

    def summary(values: list[float]) -> str:
        return f"p50 {statistics.median(values):.1f} ms, p99 {pct(values, 0.99):.1f} ms"

    ratio = statistics.median(loaded) / statistics.median(alone)
    print(f"Part 1, healthy partner alone ({n} changes):     {summary(alone)}")
    print(f"Part 1, with slow, dripping and silent partners: {summary(loaded)}")
    print(f"Hostile partners' open deliveries at the end: {waiting}")
    print(f"Hostile partners' (failures in a row, failing): {states}")
    print(f"Peak RSS of the sender's pool processes: {peak_mb:.0f} MB")
    checks = [
        ("healthy p50 with hostile partners ÷ alone ≤ 1.5", ratio <= 1.5, f"{ratio:.2f}"),
        (
            "every change reached the healthy partner",
            all(v != float("inf") for v in alone + loaded) and healthy_waiting == 0,
            f"{len(alone) + len(loaded)} changes",
        ),
        (
            "a sender process's peak RSS < 300 MB (a partner answering 1 GB)",
            peak_mb < 300,
            f"{peak_mb:.0f} MB",
        ),
    ]
    print("Targets:")
    for label, ok, value in checks:
        print(f"  {label:58} {value:>18}  {'OK' if ok else 'MISSED'}")
    print(f"Worker logs: {log_dir}")
    return all(ok for _, ok, _ in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["1", "2", "all"], default="all")
    parser.add_argument("--locations", type=int, default=100)
    parser.add_argument("--gets", type=int, default=300, help="idle GETs measured")
    parser.add_argument("--handshakes", type=int, default=4)
    parser.add_argument("--drip-interval", type=float, default=2.0, help="seconds per byte")
    parser.add_argument("--huge-bytes", type=int, default=10**9)
    parser.add_argument("--worker-class", choices=["procfile", "sync"], default="procfile")
    parser.add_argument("--changes", type=int, default=40, help="part 1: measured changes")
    parser.add_argument("--backlog", type=int, default=60, help="part 1: changes queued first")
    parser.add_argument("--pause", type=float, default=0.2, help="part 1: seconds between")
    args = parser.parse_args()
    ok = True
    if args.part in ("1", "all"):
        ok = part_1(args) and ok
    if args.part in ("2", "all"):
        ok = part_2(args) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
