"""`manage.py ocpi_prod_check` (`make prod-check`): is this environment ready to serve?

Run it with the production environment after an install or an upgrade (docs/deploy.md):
each check prints one line, `ok` or `FAIL` with what to do, and the command exits non-zero
when any failed. It reads and connects; it changes nothing.
"""

from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core import checks
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from versions.base_url import base_url_problem

# Each check returns None when fine, else what is wrong and how to fix it.
Check = Callable[[], str | None]


def _deploy_checks() -> str | None:
    messages = [
        message
        for message in checks.run_checks(include_deployment_checks=True)
        if message.level >= checks.WARNING and not message.is_silenced()
    ]
    if not messages:
        return None
    # One line each: the id and the first sentence (`check --deploy` prints the rest).
    found = "".join(f"\n      {m.id}: {m.msg.split('. ')[0].rstrip('.')}" for m in messages)
    return f"`manage.py check --deploy` reports {len(messages)} issue(s):{found}"


def _database() -> str | None:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means the database is unusable
        return f"cannot query the database ({type(exc).__name__}: {exc}); check DATABASE_URL"
    return None


def _migrations() -> str | None:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # noqa: BLE001 - reported as a failed check, not a traceback
        return f"cannot read the applied migrations ({type(exc).__name__})"
    if not plan:
        return None
    names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
    more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
    return f"{len(plan)} migration(s) not applied ({names}{more}); run `manage.py migrate`"


def _static_files() -> str | None:
    root = Path(settings.STATIC_ROOT)
    missing = [
        path
        for finder in get_finders()
        for path, _storage in finder.list([])
        if not (root / path).is_file()
    ]
    if not missing:
        return None
    return (
        f"{len(missing)} static file(s) not collected in {root} (e.g. {missing[0]}); "
        "run `manage.py collectstatic --noinput` before starting the web server"
    )


def _broker() -> str | None:
    # The project's Celery app (the current one), without importing the project package.
    from celery import current_app

    try:
        with current_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=3)
    except Exception as exc:  # noqa: BLE001 - any failure means the broker is unusable
        return f"cannot connect to the broker ({type(exc).__name__}); check CELERY_BROKER_URL"
    return None


def _base_url() -> str | None:
    problem = base_url_problem()
    if problem is None:
        return None
    return (
        f"{problem}; start the web server behind OCPI_BASE_URL ({settings.OCPI_BASE_URL}) "
        "or correct OCPI_BASE_URL"
    )


CHECKS: list[tuple[str, Check]] = [
    ("check --deploy", _deploy_checks),
    ("database", _database),
    ("migrations", _migrations),
    ("static files", _static_files),
    ("broker", _broker),
    ("base URL", _base_url),
]


class Command(BaseCommand):
    help = (
        "Validate a production environment: check --deploy, database, migrations applied, "
        "static files collected, broker, our base URL answering. Exits 1 when any fails."
    )
    requires_system_checks: list = []  # run as one of our checks, reported on one line
    requires_migrations_checks = False

    def handle(self, *args, **options):
        failed = 0
        for name, check in CHECKS:
            problem = check()
            if problem is None:
                self.stdout.write(f"ok    {name}")
            else:
                failed += 1
                self.stdout.write(f"FAIL  {name}: {problem}")
        if failed:
            raise CommandError(f"{failed} of {len(CHECKS)} production checks failed")
        self.stdout.write(f"All {len(CHECKS)} production checks passed.")
