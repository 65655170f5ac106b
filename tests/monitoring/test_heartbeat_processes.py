"""The heartbeats written by a real Celery worker and a real beat, read by /healthz."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client

from monitoring.models import Heartbeat
from tests.databases import shared_database_url

pytestmark = pytest.mark.slow


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    celery = str(Path(sys.executable).with_name("celery"))
    with open(log, "ab") as out:
        return subprocess.Popen(
            [celery, "-A", "ocpi_site", *args],
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,  # its own process group: kill() gets the pool too
        )


def _wait(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.2)


def _health():
    response = Client().get("/healthz")
    return response.status_code, response.json()


def test_a_worker_and_beat_keep_healthz_green_and_a_killed_worker_turns_it_red(
    transactional_db, tmp_path, settings
):
    settings.HEALTH_HEARTBEAT_STALE = 3
    broker = tmp_path / "broker"
    for folder in (broker / "processed", broker / "control"):
        folder.mkdir(parents=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ocpi_site.test_settings",
        "DATABASE_URL": shared_database_url(),
        "CELERY_BROKER_URL": "filesystem://",
        "OCPI_VAR_DIR": str(tmp_path),  # the same filesystem broker folder for all of them
        "OCPI_ENV_FILE": "/nonexistent",
        "HEALTH_HEARTBEAT_INTERVAL": "0.5",
        "LOG_FORMAT": "json",  # Celery must leave the format to the settings (settings.py)
    }
    worker = _start(
        [
            "worker",
            "--concurrency=1",
            "--loglevel=INFO",
            f"--hostname=both-{os.getpid()}@hostA",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ],
        env,
        tmp_path / "worker.log",
    )
    beat = _start(["beat", f"--schedule={tmp_path / 'schedule'}"], env, tmp_path / "beat.log")
    try:
        _wait(lambda: _health()[0] == 200, "the worker's and beat's first heartbeats")
        rows = {(h.kind, h.name, tuple(h.queues)) for h in Heartbeat.objects.all()}
        assert (Heartbeat.Kind.WORKER, f"both-{os.getpid()}@hostA", ("celery", "push-send")) in rows
        assert {kind for kind, _, _ in rows} == {"worker", "beat"}
        first_seen = Heartbeat.objects.get(kind="worker").seen_at
        _wait(
            lambda: Heartbeat.objects.get(kind="worker").seen_at > first_seen,
            "a second heartbeat of the worker",
        )

        os.killpg(worker.pid, signal.SIGKILL)  # no clean stop: its row stays and goes stale
        worker.wait()
        _wait(lambda: _health()[0] == 503, "the dead worker to be noticed")

        status, body = _health()
        assert body["workers"].startswith(f"failed: both-{os.getpid()}@hostA last seen ")
        assert body["workers"].endswith(
            "no live worker consumes queue celery; no live worker consumes queue push-send"
        )
        assert body["beat"] == "ok"
    finally:
        for process in (worker, beat):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
        print((tmp_path / "worker.log").read_text()[-3000:])
        print((tmp_path / "beat.log").read_text()[-3000:])

    # A clean stop removes beat's row: a retired process does not look dead.
    assert not Heartbeat.objects.filter(kind="beat").exists()
    # Their log lines are JSON objects too (the banner is not a log line).
    lines = [
        json.loads(line)
        for line in (tmp_path / "worker.log").read_text().splitlines()
        if line.startswith("{")
    ]
    assert {"logger": "celery.apps.worker", "message": f"both-{os.getpid()}@hostA ready."} in [
        {"logger": x["logger"], "message": x["message"]} for x in lines
    ]
