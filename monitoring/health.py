"""The checks of `/healthz`: each returns None when fine, else a short reason."""

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from .heartbeats import Kind, Liveness

# The migrations on disk never change while a process runs: read once per process.
_expected: dict[tuple[str, str], set[tuple[str, str]]] | None = None


def _migrations_on_disk() -> dict[tuple[str, str], set[tuple[str, str]]]:
    """Every migration of the code, with the migrations it replaces (squashed ones)."""
    global _expected
    if _expected is None:
        loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
        _expected = {
            key: set(loader.disk_migrations[key].replaces or [])
            if key in loader.disk_migrations
            else set()
            for key in loader.graph.nodes
        }
    return _expected


def database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        return type(exc).__name__
    return None


def pending_migrations() -> list[str]:
    """Migrations of this code not applied to the database (one query)."""
    applied = set(MigrationRecorder(connection).applied_migrations())
    return sorted(
        f"{app}.{name}"
        for (app, name), replaces in _migrations_on_disk().items()
        if (app, name) not in applied and not (replaces and replaces <= applied)
    )


def migrations() -> str | None:
    pending = pending_migrations()
    if pending:
        shown = ", ".join(pending[:5]) + (" …" if len(pending) > 5 else "")
        return f"{len(pending)} pending ({shown}); run manage.py migrate"
    return None


def broker() -> str | None:
    # The project's Celery app (the current one), without importing the project package.
    from celery import current_app

    try:
        with current_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as exc:  # noqa: BLE001 - any failure means the broker is not healthy
        return type(exc).__name__
    return None


def workers(rows: list[Liveness]) -> str | None:
    """Every queue has a live worker, and no worker died recently."""
    live = [r for r in rows if r.kind == Kind.WORKER and r.alive]
    problems = [
        f"{r.name} last seen {r.age:.0f} s ago"
        for r in rows
        if r.kind == Kind.WORKER and not r.alive and not r.forgotten
    ]
    for queue in (q.name for q in settings.CELERY_TASK_QUEUES):
        if not any(queue in r.queues for r in live):
            problems.append(f"no live worker consumes queue {queue}")
    return "; ".join(problems) or None


def beat(rows: list[Liveness]) -> str | None:
    beats = [r for r in rows if r.kind == Kind.BEAT]
    if any(r.alive for r in beats):
        return None
    if not beats:
        return "no heartbeat (is celery beat running?)"
    newest = min(beats, key=lambda r: r.age)
    return f"{newest.name} last seen {newest.age:.0f} s ago"
