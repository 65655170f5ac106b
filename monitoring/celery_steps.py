"""The worker's heartbeat: a bootstep that writes the worker's row at start, then every
HEALTH_HEARTBEAT_INTERVAL seconds from the worker's timer, and deletes it at a clean stop.

Added to the worker in `ocpi_site/celery.py`. Imports Django models only when called (the
step is loaded before Django is set up).
"""

import logging

from celery import bootsteps

logger = logging.getLogger(__name__)


def _queues(worker) -> list[str]:
    queues = worker.app.amqp.queues
    return sorted(queues.consume_from or queues)


class HeartbeatStep(bootsteps.StartStopStep):
    requires = ("celery.worker.components:Timer",)
    label = "Heartbeat"

    def __init__(self, worker, **kwargs) -> None:
        self.tref = None
        super().__init__(worker, **kwargs)

    def start(self, worker) -> None:
        from django.conf import settings

        self._write(worker)
        self.tref = worker.timer.call_repeatedly(
            settings.HEALTH_HEARTBEAT_INTERVAL, self._write, (worker,), priority=10
        )

    def stop(self, worker) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        try:
            from . import heartbeats

            heartbeats.forget(heartbeats.Kind.WORKER, worker.hostname)
        except Exception:
            logger.warning("Could not remove the heartbeat of %s", worker.hostname, exc_info=True)

    def _write(self, worker) -> None:
        from . import heartbeats

        try:
            heartbeats.beat_from_process(
                heartbeats.Kind.WORKER, worker.hostname, queues=_queues(worker)
            )
        except Exception:
            logger.warning("Could not write the heartbeat of %s", worker.hostname, exc_info=True)
