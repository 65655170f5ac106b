import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ocpi_site.settings")

app = Celery("ocpi_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(task=None, **kwargs) -> None:
    """Around each task, what Django does around each request: close the database connection
    when it is broken or older than CONN_MAX_AGE, keep it otherwise (settings.py,
    CELERY_DB_REUSE_MAX). Not for eager tasks, which run inside the caller's transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


# Each worker writes its heartbeat row (monitoring/celery_steps.py; /healthz reads them).
app.steps["worker"].add("monitoring.celery_steps:HeartbeatStep")
