"""Ids that log lines carry while some work runs (LOG_FORMAT=json shows them): a push
task sets its partner, lane and delivery ids, so every line written meanwhile (including
the outbound client's) can be found by them. The request ids are `middleware`'s."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

current_log_ids: ContextVar[dict[str, Any]] = ContextVar("current_log_ids", default={})  # noqa: B039 - never mutated, only replaced


@contextmanager
def log_ids(**ids: Any) -> Iterator[None]:
    """Add these ids to the log lines written inside the block."""
    token = current_log_ids.set({**current_log_ids.get(), **ids})
    try:
        yield
    finally:
        current_log_ids.reset(token)
