from django.db import models


class Heartbeat(models.Model):
    """The last sign of life of one Celery worker (per hostname) or of the beat scheduler.

    Workers cannot be asked (`celery inspect ping` needs remote control, which is off:
    settings.py), so each worker and beat write their own row every
    HEALTH_HEARTBEAT_INTERVAL seconds (`heartbeats`) and `/healthz` reads them. A worker
    that stops cleanly deletes its row; one that dies leaves it to go stale.
    """

    class Kind(models.TextChoices):
        WORKER = "worker"
        BEAT = "beat"

    kind = models.CharField(max_length=6, choices=Kind.choices)
    name = models.CharField(max_length=200, help_text="Celery hostname (name@host) of a worker.")
    queues = models.JSONField(default=list, blank=True, help_text="Queues the worker consumes.")
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="unique_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"
