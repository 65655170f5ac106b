"""The chaos run: random changes through `locations.services` while faults are injected.

Used by `bench/chaos.py` (standalone, PostgreSQL + its own Redis) and `tests/test_chaos.py`
(the test database; a smaller run). The caller has set Django up and migrated the database;
this module starts everything else and stops it again:

- a Locations receiver on 127.0.0.1 (`tests.pushers.receiver.Receiver`, in this process),
  registered as the one push partner;
- its own `redis-server` on a free loopback port as the broker (never the shared one), or
  a filesystem queue in the work folder when `broker="filesystem"`;
- `workers` Celery worker processes and one Celery beat process (the sweeper every
  `PUSH_SWEEP_INTERVAL` s), as in production, with short timeouts, leases and backoff.

Then it creates `locations` sites and makes `changes` random changes (EVSE status, connector
fields, location fields, EVSE fields, EVSE additions, connector additions and deletions,
EVSE removals), paced at `rate` per second. Faults are scheduled on the change index from
the seed (deterministic): the receiver is stopped and restarted on the same port, the
Redis server is SIGKILLed (it keeps nothing on disk, so queued messages are lost) and
started again on the same port, a worker's process group is SIGKILLed and started again.

At the end every fault is undone, the run waits (bounded) until nothing is waiting to be
fanned out or sent, and compares every Location, EVSE and Connector at the receiver with
our rendering (`locations.serializers.location_data`), field by field. The only thing not
compared is the order of EVSEs in a Location and of Connectors in an EVSE (they are
matched by `uid` / `id`: OCPI gives the order no meaning, and a receiver appends a new
child at the end); order differences are counted and printed separately.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# Settings of the worker and beat processes: short timeouts so that the run settles fast.
PUSH_ENV = {
    "OCPI_COUNTRY_CODE": "NL",
    "OCPI_PARTY_ID": "EXA",
    "OCPI_HTTP_CONNECT_TIMEOUT": "1",
    "OCPI_HTTP_READ_TIMEOUT": "2",
    "PUSH_LANE_LEASE": "5",
    "PUSH_RETRY_BACKOFF_BASE": "0.5",
    "PUSH_RETRY_BACKOFF_MAX": "2",
    "PUSH_SWEEP_INTERVAL": "2",
    "PUSH_SWEEP_GRACE": "3",
    "LOG_LEVEL": "WARNING",
}

EVSE_STATUSES = [
    "AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "RESERVED",
    "UNKNOWN",
]  # fmt: skip

CHANGE_WEIGHTS = {
    "evse_status": 40,
    "connector_field": 14,
    "location_field": 14,
    "evse_field": 4,
    "evse_add": 7,
    "connector_add": 8,
    "connector_delete": 7,
    "evse_remove": 6,
}

LOCATION_VALUES: dict[str, list[Any]] = {
    "name": ["", "Chaos Plaza", "Chaos Garage", "Chaos Station"],
    "address": ["Teststraat 1", "Proefweg 22", "Stationsplein 3"],
    "city": ["Utrecht", "Amersfoort", "Zeist"],
    "postal_code": ["", "3511 ED", "1012 AB"],
    "state": ["", "Utrecht"],
    "parking_type": ["", "ON_STREET", "PARKING_LOT", "UNDERGROUND_GARAGE"],
    "facilities": [[], ["WIFI"], ["CAFE", "WIFI"], ["TRAIN_STATION"]],
    "opening_times": [
        None,
        {"twentyfourseven": True},
        {
            "twentyfourseven": False,
            "regular_hours": [{"weekday": 1, "period_begin": "08:00", "period_end": "20:00"}],
        },
    ],
    "charging_when_closed": [None, True, False],
    "publish": [True, False],
}
EVSE_VALUES: dict[str, list[Any]] = {
    "floor_level": ["", "-1", "2"],
    "physical_reference": ["", "A1", "B2"],
    "capabilities": [[], ["RFID_READER"], ["RFID_READER", "REMOTE_START_STOP_CAPABLE"]],
    "parking_restrictions": [[], ["EV_ONLY"], ["EV_ONLY", "PLUGGED"]],
}
CONNECTOR_VALUES: dict[str, list[Any]] = {
    "max_voltage": [230, 400, 500, 920],
    "max_amperage": [16, 32, 63, 125],
    "max_electric_power": [None, 11000, 22000, 50000],
    "tariff_ids": [[], ["T-1"], ["T-1", "T-2"], ["T-3"]],
    "terms_and_conditions": ["", "https://example.com/terms", "https://example.com/t2"],
    "format": ["SOCKET", "CABLE"],
}


@dataclass
class ChaosConfig:
    database_url: str  # what the worker and beat processes get as DATABASE_URL
    settings_module: str  # DJANGO_SETTINGS_MODULE of those processes
    work_dir: Path  # their OCPI_VAR_DIR: logs, beat schedule, filesystem broker
    changes: int = 1000
    locations: int = 200
    seed: int = 1
    rate: float = 25.0  # changes (and site creations) per second
    fault_every: int = 60  # on average one fault per this many operations
    broker: str = "redis"  # "redis" (own redis-server) or "filesystem"
    workers: int = 2
    concurrency: int = 2
    settle_timeout: float = 180.0
    extra_env: dict[str, str] = field(default_factory=dict)
    log: Callable[[str], None] = print


@dataclass
class ChaosReport:
    config: ChaosConfig
    sites: int = 0
    changes: Counter = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)
    faults: Counter = field(default_factory=Counter)
    fault_seconds: Counter = field(default_factory=Counter)
    broker_faults_injected: bool = True
    unexpected_exits: Counter = field(default_factory=Counter)
    publish_failures: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    receiver_requests: dict[str, int] = field(default_factory=dict)
    sweeps_seen: int = 0
    settled: bool = False
    left_open: int = 0
    left_unfanned: int = 0
    objects_compared: Counter = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)
    order_differences: int = 0
    change_seconds: float = 0.0
    settle_seconds: float = 0.0
    elapsed_seconds: float = 0.0

    @property
    def changes_made(self) -> int:
        return sum(self.changes.values())

    def text(self) -> str:
        c = self.config
        lines = [
            f"chaos run: seed {c.seed}, {c.locations} Locations, {c.changes} changes requested, "
            f"broker {c.broker}, {c.workers} workers x {c.concurrency} + beat",
            f"sites created: {self.sites}",
            f"changes made: {self.changes_made} ("
            + ", ".join(f"{k} {v}" for k, v in sorted(self.changes.items()))
            + ")",
        ]
        if self.refused:
            lines.append(f"changes refused by validation: {len(self.refused)}: {self.refused[:3]}")
        lines.append(
            "faults injected: "
            + (
                ", ".join(
                    f"{k} {v} ({self.fault_seconds[k]:.1f} s down)"
                    for k, v in sorted(self.faults.items())
                )
                or "none"
            )  # fmt: skip
        )
        if not self.broker_faults_injected:
            lines.append(
                "broker faults NOT injected: filesystem broker (stopping it is not meaningful)"
            )
        if self.unexpected_exits:
            lines.append(f"processes that exited by themselves: {dict(self.unexpected_exits)}")
        lines += [
            f"publishes that failed in the saving process (left to the sweeper): "
            f"{self.publish_failures}",
            "deliveries: "
            + ", ".join(f"{k} {v}" for k, v in self.deliveries.items())
            + f" (total {sum(self.deliveries.values())})",
            "attempts: "
            + ", ".join(f"{k} {v}" for k, v in self.attempts.items())
            + f" (total {sum(self.attempts.values())}; retries = transient failures)",
            "receiver got: " + ", ".join(f"{k} {v}" for k, v in self.receiver_requests.items()),
            f"settled: {'yes' if self.settled else 'NO (timeout)'} in {self.settle_seconds:.1f} s"
            f" (open deliveries left {self.left_open}, change records not fanned out "
            f"{self.left_unfanned})",
            "objects compared: " + ", ".join(f"{k} {v}" for k, v in self.objects_compared.items()),
            f"order differences (not compared, see module doc): {self.order_differences}",
            f"mismatches: {len(self.mismatches)}",
        ]
        lines += [f"  {m}" for m in self.mismatches[:20]]
        if len(self.mismatches) > 20:
            lines.append(f"  ... and {len(self.mismatches) - 20} more")
        lines.append(
            f"elapsed: {self.elapsed_seconds:.1f} s (changes {self.change_seconds:.1f} s, "
            f"settle {self.settle_seconds:.1f} s)"
        )
        return "\n".join(lines)


# --- Processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin(name: str) -> str:
    here = Path(sys.executable).with_name(name)
    return str(here if here.exists() else ROOT / ".venv" / "bin" / name)


class Process:
    """A child process in its own process group (so kill() also gets its children)."""

    def __init__(self, name: str, args: list[str], env: dict, log_path: Path) -> None:
        self.name, self.args, self.env, self.log_path = name, args, env, log_path
        self.proc: subprocess.Popen | None = None
        self.wanted = False  # should be running (not killed on purpose)

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.args,
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.wanted = True

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean shutdown, no acks."""
        self.wanted = False
        if self.alive():
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self, timeout: float = 15) -> None:
        self.wanted = False
        if self.alive():
            assert self.proc is not None
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.kill()

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class RedisServer(Process):
    """A private redis-server on loopback, nothing on disk: a restart loses every message."""

    def __init__(self, port: int, work_dir: Path) -> None:
        args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(work_dir), "--protected-mode", "yes"]
        super().__init__("redis", args, dict(os.environ), work_dir / "redis.log")
        self.port = port

    def start(self) -> None:
        super().start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start:\n{self.tail()}")


def point_app_at_broker(url: str | None, transport_options: dict) -> None:
    """Make this process's Celery app publish to `url` (drops its pooled connections).

    Celery reads CELERY_BROKER_URL from the environment before its configuration, so the
    variable is set too (None: removed)."""
    from ocpi_site.celery import app

    if url is None:
        os.environ.pop("CELERY_BROKER_URL", None)
    else:
        os.environ["CELERY_BROKER_URL"] = url
    app.conf.broker_url = url
    app.conf.broker_transport_options = transport_options
    app._pool = None
    app.amqp._producer_pool = None


class _CountingHandler(logging.Handler):
    """Counts (and swallows) the saving process's "could not queue" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


# --- Changes ---------------------------------------------------------------------------------


class Changer:
    """Deterministic random changes (given the seed), always valid for the current state."""

    def __init__(self, seed: int, report: ChaosReport) -> None:
        self.rng = random.Random(seed)
        self.report = report
        self.evse_seq = 0

    def _new_evse(self):
        from locations.models import EVSE

        self.evse_seq += 1
        n = self.evse_seq
        return EVSE(uid=f"CHAOS-E{n:05d}", evse_id=f"NL*EXA*E{n:05d}", status="AVAILABLE")

    def _new_connector(self, connector_id: str, evse=None):
        from locations.models import Connector

        rng = self.rng
        connector = Connector(
            id=connector_id,
            standard=rng.choice(["IEC_62196_T2", "IEC_62196_T2_COMBO", "CHADEMO"]),
            format=rng.choice(["SOCKET", "CABLE"]),
            power_type="AC_3_PHASE",
            max_voltage=230,
            max_amperage=rng.choice([16, 32]),
        )
        if evse is not None:
            connector.evse = evse
        return connector

    def create_site(self, i: int) -> None:
        from locations.models import Location
        from locations.services import location_create

        location = Location(
            country_code="NL",
            party_id="EXA",
            id=f"CHAOS-{i:05d}",
            publish=True,
            name=f"Chaos site {i}",
            address=f"Teststraat {i}",
            city="Utrecht",
            postal_code="3511 ED",
            country="NLD",
            coordinates={"latitude": "52.089444", "longitude": "5.110278"},
            time_zone="Europe/Amsterdam",
        )
        evses = []
        for _ in range(self.rng.randint(1, 3)):
            evse = self._new_evse()
            count = self.rng.randint(1, 2)
            evses.append((evse, [self._new_connector(str(k + 1)) for k in range(count)]))
        location_create(location=location, evses=evses)
        self.report.sites += 1

    def change(self) -> None:
        kinds = list(CHANGE_WEIGHTS)
        kind = self.rng.choices(kinds, weights=[CHANGE_WEIGHTS[k] for k in kinds])[0]
        done = getattr(self, f"_{kind}")()
        if not done:  # nothing to do for that kind right now (e.g. no EVSE with 2 connectors)
            kind = "evse_status"
            done = self._evse_status()
        if done:
            self.report.changes[done if isinstance(done, str) else kind] += 1

    # Each returns a truthy value (or the kind name to count) when it made a change.

    def _active_evses(self):
        from locations.models import EVSE

        return list(
            EVSE.objects.exclude(status="REMOVED").order_by("row_id").values_list("pk", flat=True)
        )

    def _evse_status(self):
        from locations.models import EVSE
        from locations.services import evse_update, evses_set_status

        rng = self.rng
        pks = self._active_evses()
        if not pks:
            return False
        evse = EVSE.objects.get(pk=rng.choice(pks))
        if rng.random() < 0.15:  # now and then a bulk change of the whole Location
            evses = list(
                EVSE.objects.filter(location_id=evse.location_id)
                .exclude(status="REMOVED")
                .order_by("row_id")
            )
            status = rng.choice(EVSE_STATUSES)
            return "evses_set_status" if evses_set_status(evses=evses, status=status) else False
        evse.status = rng.choice([s for s in EVSE_STATUSES if s != evse.status])
        return bool(evse_update(evse=evse))

    def _set_random_field(self, obj, values: dict[str, list[Any]]) -> str:
        name = self.rng.choice(sorted(values))
        current = getattr(obj, name)
        choices = [v for v in values[name] if v != current]
        setattr(obj, name, copy.deepcopy(self.rng.choice(choices)))
        return name

    def _location_field(self):
        from locations.models import Location
        from locations.services import location_update

        pks = list(Location.objects.order_by("row_id").values_list("pk", flat=True))
        location = Location.objects.get(pk=self.rng.choice(pks))
        self._set_random_field(location, LOCATION_VALUES)
        return bool(location_update(location=location))

    def _evse_field(self):
        from locations.models import EVSE
        from locations.services import evse_update

        pks = self._active_evses()
        if not pks:
            return False
        evse = EVSE.objects.get(pk=self.rng.choice(pks))
        self._set_random_field(evse, EVSE_VALUES)
        return bool(evse_update(evse=evse))

    def _connector_field(self):
        from locations.models import Connector
        from locations.services import connector_update

        pks = list(Connector.objects.order_by("row_id").values_list("pk", flat=True))
        connector = Connector.objects.get(pk=self.rng.choice(pks))
        self._set_random_field(connector, CONNECTOR_VALUES)
        return bool(connector_update(connector=connector))

    def _evse_add(self):
        from locations.models import Location
        from locations.services import evse_create

        pks = list(Location.objects.order_by("row_id").values_list("pk", flat=True))
        evse = self._new_evse()
        evse.location_id = self.rng.choice(pks)
        connectors = [self._new_connector(str(k + 1)) for k in range(self.rng.randint(1, 2))]
        evse_create(evse=evse, connectors=connectors)
        return True

    def _connector_add(self):
        from locations.models import EVSE
        from locations.services import connector_create

        pks = self._active_evses()
        if not pks:
            return False
        evse = EVSE.objects.get(pk=self.rng.choice(pks))
        ids = [int(i) for i in evse.connectors.values_list("id", flat=True)]
        connector_create(connector=self._new_connector(str(max(ids, default=0) + 1), evse))
        return True

    def _connector_delete(self):
        from django.db.models import Count

        from locations.models import EVSE, Connector
        from locations.services import connector_delete

        pks = list(
            EVSE.objects.exclude(status="REMOVED")
            .annotate(n=Count("connectors"))
            .filter(n__gte=2)
            .order_by("row_id")
            .values_list("pk", flat=True)
        )
        if not pks:
            return False
        connectors = list(Connector.objects.filter(evse_id=self.rng.choice(pks)).order_by("row_id"))
        connector_delete(connector=self.rng.choice(connectors))
        return True

    def _evse_remove(self):
        from locations.models import EVSE
        from locations.services import evse_remove

        pks = self._active_evses()
        if len(pks) < 2:
            return False
        return evse_remove(evse=EVSE.objects.get(pk=self.rng.choice(pks)))


# --- Faults ----------------------------------------------------------------------------------


@dataclass(order=True)
class Fault:
    at: int  # operation number at which it starts
    seq: int
    kind: str = field(compare=False)
    seconds: float = field(compare=False)  # how long it stays down
    target: int = field(default=0, compare=False)  # worker number


def fault_schedule(
    seed: int, operations: int, count: int, kinds: list[str], workers: int
) -> list[Fault]:
    """Faults spread over the operations, kinds in shuffled rounds.

    A fault starts when the saving process reaches its operation number and ends after its
    duration in seconds, whatever the saving process is doing (a save can block while the
    broker is down, and the restart must not wait for it).
    """
    rng = random.Random(seed * 7919 + 1)
    count = max(len(kinds), count)
    order: list[str] = []
    while len(order) < count:
        batch = list(kinds)
        rng.shuffle(batch)
        order += batch
    slot = operations / count
    faults = []
    for j, kind in enumerate(order[:count]):
        at = int((j + rng.uniform(0.0, 0.6)) * slot)
        # receiver and Redis down for 0.5-3 s; a worker is dead for 0.2-1.5 s before its
        # restart (which itself takes a few seconds)
        seconds = rng.uniform(0.5, 3.0) if kind != "worker" else rng.uniform(0.2, 1.5)
        target = rng.randrange(workers) if kind == "worker" else 0
        faults.append(Fault(at, j, kind, seconds, target))
    return sorted(faults)


class FaultInjector(threading.Thread):
    """Starts each fault when the changes reach it and ends it on time; restarts processes
    that died by themselves. A fault of a kind that is still down waits for the up."""

    def __init__(self, faults: list[Fault], down, up, watchdog) -> None:
        super().__init__(name="chaos-faults", daemon=True)
        self.faults, self.down, self.up, self.watchdog = list(faults), down, up, watchdog
        self.progress = 0  # operations done, set by the saving thread
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._active: dict[str, tuple[float, Fault]] = {}  # kind -> (up at, fault)

    def run(self) -> None:
        next_watch = 0.0
        try:
            while not self.done.is_set():
                now = time.monotonic()
                if now >= next_watch:
                    self.watchdog()
                    next_watch = now + 0.5
                for kind, (up_at, fault) in list(self._active.items()):
                    if now >= up_at:
                        del self._active[kind]
                        self.up(fault)
                while (
                    self.faults
                    and self.faults[0].at <= self.progress
                    and self.faults[0].kind not in self._active
                ):
                    fault = self.faults.pop(0)
                    self.down(fault)
                    self._active[fault.kind] = (time.monotonic() + fault.seconds, fault)
                self.done.wait(0.05)
        except BaseException as exc:  # noqa: BLE001 - reported by finish()
            self.error = exc
        finally:
            for _, fault in list(self._active.values()):  # the changes are over: undo
                try:
                    self.up(fault)
                except BaseException as exc:  # noqa: BLE001 - kept for finish(); undo the rest
                    self.error = self.error or exc
            self._active.clear()

    def finish(self) -> None:
        self.done.set()
        self.join(timeout=60)
        if self.error is not None:
            raise RuntimeError("fault injection failed") from self.error


# --- The run ---------------------------------------------------------------------------------


def run_chaos(config: ChaosConfig) -> ChaosReport:
    from django.core.exceptions import ValidationError
    from django.db import OperationalError

    from locations.selectors import location_list
    from partners.models import InterfaceRole, PartnerEndpoint
    from partners.services import partner_create
    from pushers.models import ChangeRecord, Delivery, DeliveryAttempt
    from tests.pushers.receiver import PUSH_TOKEN, Receiver

    report = ChaosReport(config=config)
    log = config.log
    work = config.work_dir
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    from ocpi_site.celery import app

    saved_env = os.environ.get("CELERY_BROKER_URL")
    saved_conf = (app.conf.broker_url, app.conf.broker_transport_options)
    redis: RedisServer | None = None
    receiver = Receiver()
    processes: list[Process] = []
    counting = _CountingHandler()
    quiet = [
        logging.getLogger(name) for name in ("pushers.queue", "pushers.rounds", "pushers.outcomes")
    ]
    saved_logging = [(lg, lg.propagate, lg.handlers[:]) for lg in quiet]
    for lg in quiet:
        lg.propagate, lg.handlers = False, [counting]
    try:
        if config.broker == "redis":
            redis = RedisServer(free_port(), work)
            redis.start()
            broker_url = f"redis://127.0.0.1:{redis.port}/0"
            point_app_at_broker(broker_url, {"socket_connect_timeout": 2, "socket_timeout": 5})
        else:
            report.broker_faults_injected = False
            broker_url = "filesystem://"
            folder = work / "broker"
            for sub in ("processed", "control"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
            point_app_at_broker(
                broker_url,
                {
                    "data_folder_in": str(folder),
                    "data_folder_out": str(folder),
                    "processed_folder": str(folder / "processed"),
                    "store_processed": False,
                    "control_folder": str(folder / "control"),
                },
            )

        receiver.start()
        partner, _ = partner_create(name="Chaos eMSP", country_code="DE", party_id="CHS")
        partner.outgoing_token = PUSH_TOKEN
        partner.save(update_fields=["outgoing_token"])
        PartnerEndpoint.objects.create(
            partner=partner,
            identifier="locations",
            role=InterfaceRole.RECEIVER,
            url=receiver.locations_url,
        )

        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": config.settings_module,
            "DATABASE_URL": config.database_url,
            "CELERY_BROKER_URL": broker_url,
            "OCPI_VAR_DIR": str(work),
            **PUSH_ENV,
            **config.extra_env,
        }
        celery = _bin("celery")
        tag = f"{os.getpid()}-{config.seed}"
        workers = [
            Process(
                f"worker{i}",
                [celery, "-A", "ocpi_site", "worker", f"--concurrency={config.concurrency}"]
                + ["--loglevel=WARNING", "--without-gossip", "--without-mingle"]
                + ["--without-heartbeat", f"--hostname=chaos{i}-{tag}@%h"],
                env,
                work / f"worker{i}.log",
            )
            for i in range(config.workers)
        ]
        beat = Process(
            "beat",
            [celery, "-A", "ocpi_site", "beat", "--loglevel=INFO"]
            + ["--schedule", str(work / "celerybeat-schedule")],
            env,
            work / "beat.log",
        )
        processes += [*workers, beat]

        def watchdog() -> None:
            for p in processes:
                if p.wanted and not p.alive():
                    report.unexpected_exits[p.name] += 1
                    log(f"!! {p.name} exited by itself; restarting. Log tail:\n{p.tail(1500)}")
                    p.start()

        down_since: dict[str, float] = {}

        def down(fault: Fault) -> None:
            report.faults[fault.kind] += 1
            down_since[fault.kind] = time.monotonic()
            if fault.kind == "receiver":
                receiver.stop()
            elif fault.kind == "redis":
                assert redis is not None
                redis.kill()
            else:
                workers[fault.target].kill()

        def up(fault: Fault) -> None:
            report.fault_seconds[fault.kind] += time.monotonic() - down_since.pop(fault.kind)
            if fault.kind == "receiver":
                receiver.start()
            elif fault.kind == "redis":
                assert redis is not None
                redis.start()
            else:
                workers[fault.target].start()

        changer = Changer(config.seed, report)
        operations = config.locations + config.changes
        kinds = ["receiver", "worker"] + (["redis"] if redis is not None else [])
        faults = fault_schedule(
            config.seed,
            operations,
            operations // max(1, config.fault_every),
            kinds,
            config.workers,
        )
        log(
            f"chaos: {config.locations} sites + {config.changes} changes at {config.rate}/s, "
            f"{len(faults)} faults planned, broker {broker_url}, work dir {work}"
        )
        for p in processes:
            p.start()
        injector = FaultInjector(faults, down, up, watchdog)
        t0 = time.monotonic()
        injector.start()
        try:
            for i in range(operations):
                for attempt in range(3):  # SQLite: the workers may hold the write lock a while
                    try:
                        if i < config.locations:
                            changer.create_site(i)
                        else:
                            changer.change()
                        break
                    except OperationalError:
                        if attempt == 2:
                            raise
                        time.sleep(0.5)
                    except ValidationError as exc:  # a change the generator should not make
                        report.refused.append(str(exc)[:200])
                        break
                injector.progress = i + 1
                if (i + 1) % 200 == 0:
                    log(f"  {i + 1}/{operations} operations, faults so far {dict(report.faults)}")
                delay = t0 + (i + 1) / config.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        finally:
            injector.finish()
        report.change_seconds = time.monotonic() - t0

        # --- settle: nothing left to fan out or to send, three times in a row ---------------
        t1 = time.monotonic()
        deadline = t1 + config.settle_timeout
        quiet_checks, next_log = 0, t1
        while time.monotonic() < deadline:
            watchdog()
            unfanned = ChangeRecord.objects.filter(fanned_out_at__isnull=True).count()
            open_ = Delivery.objects.filter(status__in=Delivery.OPEN).count()
            report.left_open, report.left_unfanned = open_, unfanned
            quiet_checks = quiet_checks + 1 if unfanned == 0 and open_ == 0 else 0
            if time.monotonic() >= next_log:
                next_log += 5
                log(f"  settling: {open_} open deliveries, {unfanned} records not fanned out")
            if quiet_checks >= 3:
                report.settled = True
                break
            time.sleep(1)
        report.settle_seconds = time.monotonic() - t1
    finally:
        for p in processes:
            p.stop()
        receiver.stop()
        if redis is not None:
            redis.stop()
        point_app_at_broker(*saved_conf)
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        for lg, propagate, handlers in saved_logging:
            lg.propagate, lg.handlers = propagate, handlers
        report.publish_failures = counting.count

    # --- figures -------------------------------------------------------------------------
    for status in Delivery.Status.values:
        report.deliveries[status] = Delivery.objects.filter(status=status).count()
    for outcome in DeliveryAttempt.Outcome.values:
        report.attempts[outcome] = DeliveryAttempt.objects.filter(outcome=outcome).count()
    report.receiver_requests = dict(Counter(r.method for r in receiver.requests))
    report.sweeps_seen = beat.tail(10**7).count("pushers.tasks.sweep")

    # --- compare -------------------------------------------------------------------------
    from versions.envelope import dumps

    theirs_all = copy.deepcopy(receiver.locations)
    for location in location_list():
        ours = json.loads(dumps(_location_data(location)))
        key = (location.country_code, location.party_id, location.id)
        theirs = theirs_all.pop(key, None)
        _compare_location(report, key, ours, theirs)
    for key in theirs_all:
        report.mismatches.append(f"Location {'/'.join(key)}: at the receiver only")
    report.elapsed_seconds = time.monotonic() - started
    return report


def _location_data(location):
    from locations.serializers import location_data

    return location_data(location)


def _diff_fields(label: str, ours: dict, theirs: dict, skip: str) -> list[str]:
    out = []
    for name in sorted((set(ours) | set(theirs)) - {skip}):
        if ours.get(name, "<absent>") != theirs.get(name, "<absent>"):
            out.append(
                f"{label} {name}: ours {ours.get(name, '<absent>')!r}, "
                f"theirs {theirs.get(name, '<absent>')!r}"
            )
    return out


def _compare_location(report: ChaosReport, key, ours: dict, theirs: dict | None) -> None:
    label = f"Location {'/'.join(key)}"
    report.objects_compared["locations"] += 1
    report.objects_compared["evses"] += len(ours["evses"])
    report.objects_compared["connectors"] += sum(len(e["connectors"]) for e in ours["evses"])
    if theirs is None:
        report.mismatches.append(f"{label}: missing at the receiver")
        return
    diffs = _diff_fields(label, ours, theirs, "evses")
    if diffs:
        report.mismatches.append("; ".join(diffs))
    their_evses = {e.get("uid"): e for e in theirs.get("evses", [])}
    if [e["uid"] for e in ours["evses"]] != [e.get("uid") for e in theirs.get("evses", [])]:
        report.order_differences += 1
    for evse in ours["evses"]:
        elabel = f"{label} EVSE {evse['uid']}"
        their_evse = their_evses.pop(evse["uid"], None)
        if their_evse is None:
            report.mismatches.append(f"{elabel}: missing at the receiver")
            continue
        diffs = _diff_fields(elabel, evse, their_evse, "connectors")
        if diffs:
            report.mismatches.append("; ".join(diffs))
        their_connectors = {c.get("id"): c for c in their_evse.get("connectors", [])}
        ours_ids = [c["id"] for c in evse["connectors"]]
        if ours_ids != [c.get("id") for c in their_evse.get("connectors", [])]:
            report.order_differences += 1
        for connector in evse["connectors"]:
            clabel = f"{elabel} connector {connector['id']}"
            their_connector = their_connectors.pop(connector["id"], None)
            if their_connector is None:
                report.mismatches.append(f"{clabel}: missing at the receiver")
                continue
            diffs = _diff_fields(clabel, connector, their_connector, "")
            if diffs:
                report.mismatches.append("; ".join(diffs))
        for cid in their_connectors:
            report.mismatches.append(f"{elabel} connector {cid}: at the receiver only")
    for uid in their_evses:
        report.mismatches.append(f"{label} EVSE {uid}: at the receiver only")
