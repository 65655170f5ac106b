"""Heartbeats of the Celery workers and of beat: written by them (`celery_steps`, `beat`),
read by `/healthz` (`health`).

One row per worker hostname (with the queues it consumes) and one for beat, each written
every HEALTH_HEARTBEAT_INTERVAL seconds with one UPDATE (an INSERT the first time). The
writer is the worker's main process, so a row proves that process and its database access
are alive, not that a task is running right now; the push backlog metrics tell the rest.
"""

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from .models import Heartbeat

Kind = Heartbeat.Kind


def beat(kind: str, name: str, *, queues: list[str] | None = None) -> None:
    """Write that `name` is alive now (one UPDATE; an INSERT when it has no row yet)."""
    now = timezone.now()
    fields = {"queues": sorted(queues or []), "pid": os.getpid(), "seen_at": now}
    if not Heartbeat.objects.filter(kind=kind, name=name).update(**fields):
        Heartbeat.objects.update_or_create(
            kind=kind, name=name, defaults=fields, create_defaults={**fields, "started_at": now}
        )


def forget(kind: str, name: str) -> None:
    """A clean stop: the row goes, so a retired worker does not look dead."""
    Heartbeat.objects.filter(kind=kind, name=name).delete()


def beat_from_process(kind: str, name: str, *, queues: list[str] | None = None) -> None:
    """`beat` from a worker's or beat's own process, outside any task or request: with a
    fresh connection closed afterwards, so the parent of a prefork pool never holds one
    that its next forked child would share."""
    close_old_connections()
    try:
        beat(kind, name, queues=queues)
    finally:
        connection.close()


@dataclass(frozen=True)
class Liveness:
    kind: str
    name: str
    queues: list[str]
    seen_at: datetime
    age: float  # seconds since the last heartbeat
    alive: bool
    forgotten: bool  # dead for longer than HEALTH_HEARTBEAT_FORGET: reported, not failing


def liveness() -> list[Liveness]:
    """Every heartbeat row, judged against HEALTH_HEARTBEAT_STALE (one query)."""
    now = timezone.now()
    stale = timedelta(seconds=settings.HEALTH_HEARTBEAT_STALE)
    forget_after = timedelta(seconds=settings.HEALTH_HEARTBEAT_FORGET)
    return [
        Liveness(
            kind=row.kind,
            name=row.name,
            queues=list(row.queues),
            seen_at=row.seen_at,
            age=round((now - row.seen_at).total_seconds(), 1),
            alive=now - row.seen_at <= stale,
            forgotten=now - row.seen_at > forget_after,
        )
        for row in Heartbeat.objects.order_by("kind", "name")
    ]
