"""Browser tests of the operator admin: Playwright driving Debian's Chromium (docs/testing.md).

- The app is served by pytest-django's `live_server` (a thread of this process) on the test
  database; `OCPI_BASE_URL` points at it.
- Pushes go through a real Celery worker subprocess and the real broker, as in
  tests/pushers/test_end_to_end.py (the same helpers): what the browser saves reaches the
  receiver exactly as in production, through the outbox, the broker and a worker. Eager mode
  would run the pushes inside the live server's request thread instead, i.e. not the path a
  real deployment takes. The worker is reliable here on SQLite (a test database file, WAL)
  and on PostgreSQL, like the push end-to-end tests.
- The receiver is the real HTTP Locations Receiver of the push tests on 127.0.0.1.
- Chromium comes from apt (`make browser-deps`); a missing /usr/bin/chromium FAILS the tests,
  it does not skip them, so a CI run without the browser cannot pass unnoticed.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections

# The worker process must see the test database: on SQLite a file instead of memory, set at
# import, before pytest-django creates the test database (the push tests do the same; the
# name is per pytest process, so whichever conftest comes first wins and both agree).
_default = connections["default"].settings_dict
if _default["ENGINE"] == "django.db.backends.sqlite3" and not _default["TEST"].get("NAME"):
    _default["TEST"]["NAME"] = str(django_settings.VAR_DIR / f"test-push-{os.getpid()}.sqlite3")

from tests.databases import shared_database_url  # noqa: E402
from tests.pushers.conftest import (  # noqa: E402
    WorkerProcess,
    add_push_partner,
    broker,  # noqa: F401 - the fixture, used by `worker` below
)
from tests.pushers.receiver import Receiver  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts" / "browser"

# Bounded waits (milliseconds): generous for a loaded 2-core CI machine, finite so a hang
# fails the test instead of blocking the run.
ACTION_TIMEOUT_MS = 20_000
NAVIGATION_TIMEOUT_MS = 30_000

OPERATOR = ("operator", "operator-password-for-tests")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def _browser_settings(settings, live_server):
    settings.OCPI_BASE_URL = live_server.url
    settings.OCPI_COUNTRY_CODE = "NL"
    settings.OCPI_PARTY_ID = "EXA"


@pytest.fixture
def receiver():
    with Receiver() as partner:
        yield partner


@pytest.fixture
def push_partner(transactional_db, receiver):
    return add_push_partner(receiver)


@pytest.fixture
def worker(transactional_db, broker, live_server, tmp_path):  # noqa: F811
    """`celery -A ocpi_site worker` on the test database and broker (see the module doc)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ocpi_site.test_settings",
        "DATABASE_URL": shared_database_url(),
        "CELERY_BROKER_URL": broker,
        "OCPI_VAR_DIR": str(tmp_path),
        "OCPI_BASE_URL": live_server.url,
        "OCPI_COUNTRY_CODE": "NL",
        "OCPI_PARTY_ID": "EXA",
        "OCPI_HTTP_CONNECT_TIMEOUT": "2",
        "OCPI_HTTP_READ_TIMEOUT": "5",
        "PUSH_LANE_LEASE": "10",
        "PUSH_RETRY_BACKOFF_BASE": "0.5",
        "PUSH_RETRY_BACKOFF_MAX": "2",
    }
    process = WorkerProcess(env, tmp_path / "worker.log").start()
    yield process
    process.stop()
    print("--- worker log (tail) ---\n" + process.log())


@pytest.fixture
def operator(transactional_db):
    from django.contrib.auth import get_user_model

    username, password = OPERATOR
    get_user_model().objects.create_superuser(username, "operator@example.com", password)
    return OPERATOR


@pytest.fixture
def chromium(transactional_db):
    """Playwright with Debian's Chromium, started per test: its sync API keeps an asyncio
    loop running in this thread while it is open, which must not leak into other tests.
    (After the database fixture, so that the test database is set up and flushed outside
    that loop.)"""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
            "Run `make browser-deps` (apt-get install -y chromium) and run the tests again.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread while it is open:
    # - Django would refuse ORM calls from the test ("You cannot call this from an async
    #   context"); they are plain synchronous calls of this thread, the loop only talks to
    #   the browser, so they are allowed;
    # - Django's connections are then kept per context (asgiref's Local), not per thread: the
    #   test's queries use connections of their own, which are closed here, while the loop
    #   still runs (else PostgreSQL refuses to drop the test database: "being accessed by
    #   other users").
    old = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                connections.close_all()
                browser.close()
    finally:
        if old is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = old


@pytest.fixture
def shots(request):
    """The folder for this test's screenshots (emptied first), one per database vendor so
    that a SQLite and a PostgreSQL run side by side do not overwrite each other's."""
    folder = ARTIFACTS / connections["default"].vendor / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def page(chromium, live_server, shots, request):
    """A fresh browser context (no cookies) with bounded default timeouts; on failure the
    page is saved as failure.png / failure.html next to the step screenshots."""
    from playwright.sync_api import expect

    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 1000}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    expect.set_options(timeout=ACTION_TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        try:
            page.screenshot(path=shots / "failure.png", full_page=True)
            (shots / "failure.html").write_text(page.content())
        except Exception as exc:  # noqa: BLE001 - keep the test's own failure visible
            print(f"could not save the failing page: {exc}")
    context.close()
