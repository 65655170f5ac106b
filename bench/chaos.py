"""Chaos run of push: random changes while the receiver, the broker and workers fail.

    .venv/bin/python bench/chaos.py --changes 1000 --locations 200 [--seed 1] [--rate 25]

Creates `--locations` sites, then makes `--changes` random changes through
`locations.services` (EVSE status, connector/location/EVSE fields, EVSE additions,
connector additions and deletions, EVSE removals) while, at moments chosen from the seed,
the receiver is stopped and restarted, its own Redis server is killed and restarted, and a
worker is SIGKILLed and restarted (2 worker processes and Celery beat, as in production).
Then it waits until nothing is left to send (bounded by --settle-timeout) and compares
every object at the receiver with ours, field by field. Exit status 1 on any mismatch
or when the system did not settle.

Database: `--database-url` (default postgres://postgres@127.0.0.1:5432/chaos, dropped and
recreated; an sqlite:/// URL works too). Broker: its own `redis-server` on a free loopback
port (`--broker filesystem` for a filesystem queue, then no broker faults are injected).
Never touches the shared Redis on 6379. Only loopback addresses. The engine is
`tests/chaos/engine.py` (also run by tests/test_chaos.py); its docstring says what is compared.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def recreate_database(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme.startswith("sqlite"):
        path = Path(parsed.path[1:] if parsed.path.startswith("//") else parsed.path)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    assert parsed.hostname in ("127.0.0.1", "localhost", "::1"), "loopback databases only"
    name = parsed.path.lstrip("/")
    common = ["-h", parsed.hostname, "-p", str(parsed.port or 5432), "-U", parsed.username]
    subprocess.run(["dropdb", *common, "--if-exists", name], check=True)
    subprocess.run(["createdb", *common, name], check=True)


def _exit_on_sigterm(signum, frame) -> None:
    # `timeout` and CI cancel with SIGTERM: leave through the engine's cleanup, which stops
    # the workers, beat and the Redis server this run started.
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--locations", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=25.0, help="operations per second")
    parser.add_argument("--fault-every", type=int, default=60, help="operations per fault")
    parser.add_argument("--broker", choices=["redis", "filesystem"], default="redis")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--settle-timeout", type=float, default=180.0)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/chaos")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ocpi-chaos-"))
    env = {
        "DJANGO_SETTINGS_MODULE": "ocpi_site.settings",
        "DEBUG": "false",
        "SECRET_KEY": "chaos-run-only",
        "DATABASE_URL": args.database_url,
        # The saving process publishes to the chaos broker (set by the engine); this only
        # keeps settings from naming another one.
        "CELERY_BROKER_URL": "filesystem://",
        "OCPI_VAR_DIR": str(work),
        "LOG_LEVEL": "WARNING",
        # The receiver listens on http://127.0.0.1 (production rules refuse both).
        "OCPI_ALLOW_HTTP_PARTNER_URLS": "true",
        "OCPI_ALLOW_PRIVATE_PARTNER_URLS": "true",
    }
    from tests.chaos.engine import PUSH_ENV, ChaosConfig, run_chaos

    os.environ.update(env)
    os.environ.update(PUSH_ENV)  # the saving process gets the settings of the workers
    recreate_database(args.database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0", "--skip-checks"], cwd=ROOT, check=True
    )

    import django

    django.setup()
    config = ChaosConfig(
        database_url=args.database_url,
        settings_module="ocpi_site.settings",
        work_dir=work,
        changes=args.changes,
        locations=args.locations,
        seed=args.seed,
        rate=args.rate,
        fault_every=args.fault_every,
        broker=args.broker,
        workers=args.workers,
        concurrency=args.concurrency,
        settle_timeout=args.settle_timeout,
        log=lambda line: print(line, flush=True),
    )
    started = time.monotonic()
    report = run_chaos(config)
    print(report.text())
    print(f"wall time including setup: {time.monotonic() - started:.1f} s; logs in {work}")
    return 0 if report.settled and not report.mismatches and not report.refused else 1


if __name__ == "__main__":
    sys.exit(main())
