"""Who made a change when no user did: the source stored with each history record.

A change made in a web request is recorded with the request's user (django-simple-history's
`HistoryRequestMiddleware`) and the request's method and path as its source. Without a
request the source is, in this order:
- what the code says with `acting_as("import stations.csv")`,
- the management command on the call stack (`command ocpi_demo_data`), found without the
  command's help: every command that writes, now or later, is named,
- the Celery task that runs (`task pushers.tasks.full_sync`).
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import FrameType

from django.core.management.base import BaseCommand
from simple_history.models import HistoricalRecords

SOURCE_MAX_LENGTH = 200

_source: ContextVar[str | None] = ContextVar("audit_source", default=None)


@contextmanager
def acting_as(source: str) -> Iterator[None]:
    """Record the changes made inside as coming from `source` (e.g. an import's file)."""
    token = _source.set(source)
    try:
        yield
    finally:
        _source.reset(token)


def _running_command() -> str | None:
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, BaseCommand):
            return type(candidate).__module__.rsplit(".", 1)[-1]
        frame = frame.f_back
    return None


def _running_task() -> str | None:
    from celery import current_task

    # A proxy: false outside a task.
    if current_task and current_task.request.id is not None:
        return current_task.name
    return None


def current_source() -> str:
    """Where the change being recorded now comes from ("" when nothing tells)."""
    source = _source.get()
    if not source:
        request = getattr(HistoricalRecords.context, "request", None)
        if request is not None:
            source = f"{request.method} {request.path}"
    if not source:
        command = _running_command()
        source = f"command {command}" if command else ""
    if not source:
        task = _running_task()
        source = f"task {task}" if task else ""
    return source[:SOURCE_MAX_LENGTH]


def stamp_source(sender, history_instance, **kwargs) -> None:
    """`pre_create_historical_record` receiver: the source of a single save's record."""
    if hasattr(history_instance, "history_source"):
        history_instance.history_source = current_source()
