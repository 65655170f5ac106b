import json
import os

import pytest
from django.db import connections

from ocpi_site.celery import app as celery_app
from partners.models import InterfaceRole, PartnerEndpoint
from partners.services import partner_create
from tests.databases import shared_database_url
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory
from versions import connections as outbound
from versions.envelope import dumps

from .receiver import PUSH_TOKEN, Receiver

# The end-to-end tests run a real Celery worker in another process, which must see the test
# database. PostgreSQL test databases are ordinary databases (test_<name>); SQLite's default
# test database lives in memory, so it gets a file of its own here, one per pytest process
# so that concurrent runs in one checkout do not collide. (Set at import, before pytest-django
# creates the test database.)
_default = connections["default"].settings_dict
if _default["ENGINE"] == "django.db.backends.sqlite3" and not _default["TEST"].get("NAME"):
    from django.conf import settings as _settings

    _default["TEST"]["NAME"] = str(_settings.VAR_DIR / f"test-push-{os.getpid()}.sqlite3")


@pytest.fixture(autouse=True)
def _push_settings(settings):
    settings.OCPI_COUNTRY_CODE = "NL"
    settings.OCPI_PARTY_ID = "EXA"
    settings.OCPI_HTTP_CONNECT_TIMEOUT = 1
    settings.OCPI_HTTP_READ_TIMEOUT = 1
    settings.PUSH_RETRY_BACKOFF_BASE = 2
    settings.PUSH_RETRY_WINDOW = 3600
    # No debounce in the in-process tests, which assert exact message sequences; the
    # debounce's own tests (test_throttle.py) switch it on.
    settings.PUSH_LANE_QUIET = 0
    # The outbound client keeps one connection pool per process, built with the timeouts of
    # the moment; start each test with a fresh one.
    outbound._client = None
    yield
    outbound._client = None


@pytest.fixture
def eager():
    """Tasks run in-process, synchronously, when they are queued (after commit)."""
    conf = celery_app.conf
    old = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = old


@pytest.fixture
def saved(django_capture_on_commit_callbacks):
    """Run a change, then everything queued after its commit (the eager tasks)."""

    def run(change):
        with django_capture_on_commit_callbacks(execute=True):
            return change()

    return run


@pytest.fixture
def receiver():
    with Receiver() as partner:
        yield partner


def add_push_partner(
    receiver: Receiver,
    *,
    name: str = "Receiving eMSP",
    party_id: str = "EMS",
    country_code: str = "DE",
    role: str = "EMSP",
):
    partner, _ = partner_create(name=name, country_code=country_code, party_id=party_id, role=role)
    partner.outgoing_token = PUSH_TOKEN
    partner.save(update_fields=["outgoing_token"])
    PartnerEndpoint.objects.create(
        partner=partner,
        identifier="locations",
        role=InterfaceRole.RECEIVER,
        url=receiver.locations_url,
    )
    return partner


@pytest.fixture
def push_partner(db, receiver):
    return add_push_partner(receiver)


def build_site(n_evses: int = 1, connectors: int = 2, **location_values):
    """A Location with EVSEs and Connectors, created through the services (one PUT)."""
    from locations.services import location_create

    location = LocationFactory.build(**location_values)
    evses = [
        (EVSEFactory.build(), [ConnectorFactory.build(id=str(i + 1)) for i in range(connectors)])
        for _ in range(n_evses)
    ]
    return location_create(location=location, evses=evses)


def ours(location) -> dict:
    """Our current rendering of a Location, as JSON (what a receiver should hold)."""
    from locations.selectors import location_list
    from locations.serializers import location_data

    return json.loads(dumps(location_data(location_list().get(pk=location.pk))))


def theirs(receiver: Receiver, location) -> dict | None:
    return receiver.location(location.country_code, location.party_id, location.id)


# --- A real Celery worker in another process ---------------------------------------------


def point_app_at_broker(url: str, transport_options: dict) -> None:
    """Make this process's Celery app publish to `url` (drops its pooled connections)."""
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = transport_options
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


class WorkerProcess:
    """`celery -A ocpi_site worker` with the test's database and broker."""

    def __init__(self, env: dict, log_path) -> None:
        self.env, self.log_path, self.proc = env, log_path, None

    def start(self) -> "WorkerProcess":
        import subprocess
        import sys
        from pathlib import Path

        celery = str(Path(sys.executable).with_name("celery"))
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child process owns it
        self.proc = subprocess.Popen(
            [celery, "-A", "ocpi_site", "worker", "--concurrency=2", "--loglevel=INFO"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat"]
            + [f"--hostname=push-test-{os.getpid()}-{id(self)}@%h"],
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own process group, so that kill() gets the children
        )
        log.close()
        return self

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes: no clean shutdown, no acks."""
        import signal

        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        import signal

        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 - whatever wait() raised, the process must still be killed
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def broker(tmp_path):
    """The real broker: Redis when the settings name one, else a filesystem queue of this
    test's own (the worker process gets the same folder through OCPI_VAR_DIR)."""
    from django.conf import settings

    url = settings.CELERY_BROKER_URL
    old = celery_app.conf.broker_url, celery_app.conf.broker_transport_options
    if url.startswith("filesystem://"):
        folder = tmp_path / "broker"
        (folder / "processed").mkdir(parents=True)
        (folder / "control").mkdir()
        options = {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "processed_folder": str(folder / "processed"),
            "store_processed": False,
            "control_folder": str(folder / "control"),
        }
    else:
        options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    point_app_at_broker(url, options)
    if not url.startswith("filesystem://"):
        celery_app.control.purge()  # leftovers of an earlier run would point at other rows
    yield url
    point_app_at_broker(*old)


@pytest.fixture
def worker_env() -> dict:
    """Extra environment of the worker process (override with parametrize)."""
    return {}


@pytest.fixture
def worker(transactional_db, broker, tmp_path, settings, worker_env):
    settings.PUSH_LANE_LEASE = 3
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ocpi_site.test_settings",
        "DATABASE_URL": shared_database_url(),
        "CELERY_BROKER_URL": broker,
        "OCPI_VAR_DIR": str(tmp_path),
        "OCPI_COUNTRY_CODE": "NL",
        "OCPI_PARTY_ID": "EXA",
        "OCPI_HTTP_CONNECT_TIMEOUT": "1",
        "OCPI_HTTP_READ_TIMEOUT": "2",
        "PUSH_LANE_LEASE": "3",
        "PUSH_RETRY_BACKOFF_BASE": "0.5",
        "PUSH_RETRY_BACKOFF_MAX": "2",
        **worker_env,
    }
    process = WorkerProcess(env, tmp_path / "worker.log").start()
    yield process
    process.stop()
    print("--- worker log (tail) ---\n" + process.log())


def wait_until(condition, *, timeout: float = 60, every: float = 0.1, on_wait=None) -> None:
    """Poll until `condition()` holds; fail with a clear message at the deadline. (A
    liveness deadline, not a timing assertion: fast or slow, only the outcome counts.)"""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting after {timeout} s for {condition.__doc__ or condition}")
        if on_wait:
            on_wait()
        time.sleep(every)
