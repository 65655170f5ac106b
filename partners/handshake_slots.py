"""How many credentials handshakes one process runs at once (`OCPI_HANDSHAKE_CONCURRENCY`).

A handshake waits on the partner's server for up to `OCPI_HANDSHAKE_DEADLINE` seconds, and
the web thread serving it waits too. Anyone holding a token A can start one, so at most
`OCPI_HANDSHAKE_CONCURRENCY` run at once in a process and one more is refused at once
(`HandshakesBusy`, OCPI 3000: the partner tries again later) instead of waiting for a slot.
gunicorn runs each worker with more threads than that (Procfile: gthread, 8 threads), so a
worker always has threads left for the API, whatever token-A holders do.

The limit is per process, not per server: the whole web tier runs at most (gunicorn
workers) × OCPI_HANDSHAKE_CONCURRENCY handshakes. That bound is what keeps the web tier up;
a limit shared across processes would need a lease in the database or Redis, for no gain
here.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from .discovery import HandshakeError


class HandshakesBusy(HandshakeError):
    """Too many handshakes in progress in this process: OCPI 3000, try again later."""

    ocpi_status = 3000


_lock = threading.Lock()
_running = 0


@contextmanager
def handshake_slot() -> Iterator[None]:
    """Hold one of the process's handshake slots, or raise HandshakesBusy at once."""
    global _running
    with _lock:
        if _running >= settings.OCPI_HANDSHAKE_CONCURRENCY:
            raise HandshakesBusy(
                "Too many registrations in progress at this platform; try again in a minute"
            )
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
