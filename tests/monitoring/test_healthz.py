"""/healthz: migrations, database, broker, workers and beat (docs/operations.md)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from monitoring import heartbeats
from monitoring.models import Heartbeat

Kind = Heartbeat.Kind


@pytest.fixture
def everything_alive(db):
    """What a running system writes: a worker per queue and beat, heartbeats just now."""
    heartbeats.beat(Kind.WORKER, "worker@web1", queues=["celery"])
    heartbeats.beat(Kind.WORKER, "sender@web1", queues=["push-send"])
    heartbeats.beat(Kind.BEAT, "web1")


def _age(kind: str, name: str, seconds: float) -> None:
    Heartbeat.objects.filter(kind=kind, name=name).update(
        seen_at=timezone.now() - timedelta(seconds=seconds)
    )


def _get(path: str = "/healthz"):
    response = Client().get(path)
    body = response.json()
    body.pop("processes", None)
    return response.status_code, body


def test_healthz_is_200_when_everything_answers_and_lists_the_processes(everything_alive):
    response = Client().get("/healthz")

    assert response.status_code == 200
    body = response.json()
    processes = body.pop("processes")
    assert body == {
        "status": "ok",
        "database": "ok",
        "migrations": "ok",
        "broker": "ok",
        "workers": "ok",
        "beat": "ok",
    }
    assert [(p["kind"], p["name"], p["queues"], p["alive"]) for p in processes] == [
        ("beat", "web1", [], True),
        ("worker", "sender@web1", ["push-send"], True),
        ("worker", "worker@web1", ["celery"], True),
    ]


def test_pending_migrations_are_a_503_that_names_them(everything_alive):
    with connection.cursor() as cursor:  # as if this migration had not been applied yet
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = 'monitoring' AND name = '0001_heartbeats'"
        )

    assert _get() == (
        503,
        {
            "status": "unavailable",
            "database": "ok",
            "migrations": "failed: 1 pending (monitoring.0001_heartbeats); run manage.py migrate",
            "broker": "ok",
            "workers": "ok",
            "beat": "ok",
        },
    )


def test_a_dead_worker_heartbeat_is_a_503_that_names_the_worker_and_its_queue(
    everything_alive, settings
):
    settings.HEALTH_HEARTBEAT_STALE = 60
    _age(Kind.WORKER, "sender@web1", 120)

    status, body = _get()

    assert status == 503
    assert body["workers"] == (
        "failed: sender@web1 last seen 120 s ago; no live worker consumes queue push-send"
    )
    assert body["beat"] == "ok"


def test_a_dead_worker_whose_queue_another_worker_serves_still_fails_until_forgotten(
    everything_alive, settings
):
    settings.HEALTH_HEARTBEAT_STALE = 60
    settings.HEALTH_HEARTBEAT_FORGET = 3600
    heartbeats.beat(Kind.WORKER, "sender@web2", queues=["push-send"])
    _age(Kind.WORKER, "sender@web1", 600)

    assert _get()[1]["workers"] == "failed: sender@web1 last seen 600 s ago"

    _age(Kind.WORKER, "sender@web1", 7200)  # a machine retired without a clean stop
    assert _get() == (200, {**_get()[1], "status": "ok", "workers": "ok"})


def test_no_worker_and_no_beat_ever_seen_is_a_503(db):
    status, body = _get()

    assert status == 503
    assert body["workers"] == (
        "failed: no live worker consumes queue celery; no live worker consumes queue push-send"
    )
    assert body["beat"] == "failed: no heartbeat (is celery beat running?)"


def test_a_dead_beat_is_a_503(everything_alive, settings):
    settings.HEALTH_HEARTBEAT_STALE = 60
    _age(Kind.BEAT, "web1", 300)

    status, body = _get()

    assert (status, body["beat"]) == (503, "failed: web1 last seen 300 s ago")


def test_a_dead_broker_is_a_503_that_names_it(everything_alive, settings):
    # Nothing listens on port 1; the check must fail fast instead of hanging.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    status, body = _get()

    assert status == 503
    assert body["status"] == "unavailable"
    assert body["broker"].startswith("failed: ")
    assert {k: v for k, v in body.items() if k != "broker"} == {
        "status": "unavailable",
        "database": "ok",
        "migrations": "ok",
        "workers": "ok",
        "beat": "ok",
    }


def test_the_web_scope_checks_only_what_answering_ocpi_needs(db, settings):
    # A load balancer must not take every web machine out because a worker or the broker died.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    assert _get("/healthz?scope=web") == (
        200,
        {"status": "ok", "database": "ok", "migrations": "ok"},
    )


def test_a_healthz_costs_a_fixed_number_of_queries(everything_alive, django_assert_num_queries):
    for i in range(5):
        heartbeats.beat(Kind.WORKER, f"sender@web{i + 2}", queues=["push-send"])

    # SELECT 1; the migrations table's existence and its rows; the heartbeats: 4, for any
    # number of workers.
    with django_assert_num_queries(4):
        assert Client().get("/healthz").status_code == 200


def test_a_heartbeat_is_one_update_once_the_row_exists(db, django_assert_num_queries):
    heartbeats.beat(Kind.WORKER, "sender@web1", queues=["push-send"])

    with django_assert_num_queries(1):
        heartbeats.beat(Kind.WORKER, "sender@web1", queues=["push-send"])
