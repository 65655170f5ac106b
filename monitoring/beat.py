"""Beat's heartbeat: the default scheduler (a schedule file) that also writes beat's row
every HEALTH_HEARTBEAT_INTERVAL seconds (settings.CELERY_BEAT_SCHEDULER)."""

import logging
import socket
import time

from celery.beat import PersistentScheduler

logger = logging.getLogger(__name__)


class HeartbeatScheduler(PersistentScheduler):
    def __init__(self, *args, **kwargs) -> None:
        self._next_heartbeat = 0.0
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs) -> float:
        from django.conf import settings

        interval = settings.HEALTH_HEARTBEAT_INTERVAL
        wait = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self._write()
            self._next_heartbeat = now + interval
        # Wake up for the next heartbeat even when no task is due before it.
        return min(wait, max(self._next_heartbeat - now, 0.0))

    def close(self) -> None:
        try:
            from . import heartbeats

            heartbeats.forget(heartbeats.Kind.BEAT, socket.gethostname())
        except Exception:
            logger.warning("Could not remove beat's heartbeat", exc_info=True)
        super().close()

    def _write(self) -> None:
        from . import heartbeats

        try:
            heartbeats.beat_from_process(heartbeats.Kind.BEAT, socket.gethostname())
        except Exception:
            logger.warning("Could not write beat's heartbeat", exc_info=True)
