"""The Celery app's wiring around tasks (ocpi_site/celery.py)."""

import time

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import connection

from ocpi_site.celery import app
from pushers.tasks import sweep


class _Request:
    is_eager = False  # as in a worker process


class _WorkerTask:
    name = "a task run by a worker"
    request = _Request()


def _run_task_hooks(fixup: DjangoWorkerFixup) -> None:
    """What a worker does around each task: the fix-up's hooks and the task signals."""
    task = _WorkerTask()
    fixup.on_task_prerun(task)
    task_prerun.send(sender=task, task=task, task_id="id", args=(), kwargs={})
    fixup.on_task_postrun(task)
    task_postrun.send(sender=task, task=task, task_id="id", args=(), kwargs={}, retval=None)


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_database_connection_between_tasks_until_it_is_too_old():
    if connection.vendor == "sqlite":
        pytest.skip("Django never closes in-memory SQLite connections; CI runs PostgreSQL")
    fixup = DjangoWorkerFixup(app)
    connection.ensure_connection()
    connection.close_at = None  # as with CONN_MAX_AGE=None: never too old
    first = connection.connection

    for _ in range(20):
        _run_task_hooks(fixup)

    assert connection.connection is first

    connection.close_at = time.monotonic() - 1  # older than CONN_MAX_AGE now
    _run_task_hooks(fixup)

    assert connection.connection is not first


@pytest.mark.django_db
def test_eager_tasks_leave_the_callers_connection_and_transaction_alone():
    connection.ensure_connection()
    first = connection.connection

    sweep.apply()  # eager: inside this test's transaction

    assert connection.connection is first
    assert connection.in_atomic_block
