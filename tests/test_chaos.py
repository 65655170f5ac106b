"""The chaos run in CI size: random changes while the receiver, the broker and workers fail.

The engine is `tests/chaos/engine.py` (its docstring says what is injected and compared);
`bench/chaos.py` runs it standalone in full size (docs/reliability.md). Here it runs on the
test database with 2 worker processes and Celery beat, 300 changes over 60 Locations on
PostgreSQL, 150 over 30 on SQLite (CHAOS_CHANGES / CHAOS_LOCATIONS / CHAOS_SEED override),
and prints its figures.

Broker: when the settings name Redis (CI) the run starts its own `redis-server` on a free
loopback port, so that it can kill it (the shared Redis is never touched). Otherwise (the
SQLite default of `make test`) it uses a filesystem queue of its own; stopping that is not
meaningful, so only receiver and worker faults are injected, and the output says so.
"""

import os
import shutil

import pytest
from django.db import connections

from tests.databases import shared_database_url

pytestmark = pytest.mark.slow

# The worker processes must see the test database: SQLite's default test database lives in
# memory, so it gets a file (the same name tests/pushers/conftest.py gives it, whichever
# of the two is imported first; set before pytest-django creates the database).
_default = connections["default"].settings_dict
if _default["ENGINE"] == "django.db.backends.sqlite3" and not _default["TEST"].get("NAME"):
    from django.conf import settings as _settings

    _default["TEST"]["NAME"] = str(_settings.VAR_DIR / f"test-push-{os.getpid()}.sqlite3")


def test_after_chaos_the_receiver_holds_exactly_our_locations(
    transactional_db, tmp_path, settings, capsys
):
    from tests.chaos.engine import ChaosConfig, run_chaos

    wants_redis = settings.CELERY_BROKER_URL.startswith("redis")
    has_redis = shutil.which("redis-server") is not None
    # SQLite with the filesystem queue drains far more slowly (docs/reliability.md), so the
    # default `make test` runs a reduced variant.
    sqlite = connections["default"].vendor == "sqlite"
    notes = []
    if wants_redis and not has_redis:
        notes.append("redis-server is not installed: filesystem broker, no broker faults")
    config = ChaosConfig(
        database_url=shared_database_url(),
        settings_module="ocpi_site.test_settings",
        work_dir=tmp_path / "chaos",
        changes=int(os.environ.get("CHAOS_CHANGES", "150" if sqlite else "300")),
        locations=int(os.environ.get("CHAOS_LOCATIONS", "30" if sqlite else "60")),
        seed=int(os.environ.get("CHAOS_SEED", "1")),
        fault_every=40,
        broker="redis" if wants_redis and has_redis else "filesystem",
        settle_timeout=120,
        log=lambda line: None,
    )
    report = run_chaos(config)
    text = "\n".join([*notes, report.text()])
    with capsys.disabled():
        print(f"\n--- chaos run ({connections['default'].vendor}) ---\n{text}")

    assert report.settled, text
    assert not report.refused, text
    assert not report.mismatches, text
    assert not report.unexpected_exits, text  # no worker or beat died by itself
    assert report.changes_made == config.changes, text
    assert report.faults["receiver"] and report.faults["worker"], text
    if config.broker == "redis":
        assert report.faults["redis"], text
