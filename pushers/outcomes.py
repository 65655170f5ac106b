"""The push retry policy, all of it: what an answer means, when to try again, when to give up.

- **Success** is HTTP 2xx with an OCPI status code 1000–1999 (`versions.client.is_success`,
  the rule the credentials handshake uses too).
- **Transient** (worth retrying: the partner is down, overloaded or broken right now, not
  refusing us): no answer at all (connection refused or broken, timeout), HTTP 5xx, HTTP
  429, OCPI 3xxx (server error), or HTTP 2xx without an OCPI envelope. The Delivery goes
  back to pending and its lane backs off: exponential backoff with jitter (`backoff`), one
  attempt per lane per step, retried by the task that failed (`tasks.send_lane`).
- **Permanent** (the same request would fail again): any other answer (HTTP 4xx, OCPI 2xxx,
  OCPI 4xxx). The Delivery is parked as failed and never retried by itself; a parked PATCH
  is healed by a PUT of the whole Location (`heal`), since the partner may not have the
  object (OCPI 2.2.1, Transport and format, "PATCH": when a PATCH fails, GET the object and
  PUT it if the receiver lacks it; a PUT that fails in turn is only parked).
- **The retry window** (PUSH_RETRY_WINDOW, from a Delivery's first failure): past it we stop
  replaying history; the partner's open Deliveries expire and a full sync is scheduled
  (`expire_partner`), started by the sweeper once PUSH_FULL_SYNC_RETRY_INTERVAL has passed.
- **Database hiccups** in a task (connection lost, lock timeout) are retried a few times by
  Celery (`TASK_RETRY_ON_DATABASE_ERROR`); what stays undone is found by the sweeper.

Why a window and not a retry count: the OCPI 2.2.1 offline rule (Transport and format,
"Offline behaviour") advises against replaying failed pushes after a long outage; a full
sync sends the current state instead.
"""

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from versions.client import OcpiCallFailed, OcpiResult

from . import clock
from .coalescing import Change, merge_one
from .models import ChangeRecord, Delivery, DeliveryAttempt, Lane, PartnerPushState

logger = logging.getLogger(__name__)

Outcome = DeliveryAttempt.Outcome
Level = ChangeRecord.Level
Method = ChangeRecord.Method
Status = Delivery.Status

# Celery options of the push tasks for database errors: a few quick retries with backoff.
TASK_RETRY_ON_DATABASE_ERROR: dict[str, Any] = {
    "autoretry_for": (DatabaseError,),
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "retry_jitter": True,
}


def classify(result: OcpiResult) -> tuple[str, str]:
    """(outcome, error) of an answer."""
    if result.ok:
        return Outcome.SUCCESS, ""
    if _transient(result):
        return Outcome.TRANSIENT, result.describe()[:500]
    return Outcome.PERMANENT, result.describe()[:500]


def classify_no_answer(failure: OcpiCallFailed) -> tuple[str, str]:
    """(outcome, error) of a call that got no answer: always worth another try."""
    return Outcome.TRANSIENT, failure.reason[:500]


def _transient(result: OcpiResult) -> bool:
    if result.http_status >= 500 or result.http_status == 429:
        return True
    if 200 <= result.http_status < 300:
        # No envelope at all: a broken proxy or server, not a refusal.
        return result.ocpi_status is None or 3000 <= result.ocpi_status < 4000
    return False


def backoff(failures: int) -> float:
    """Seconds to wait after `failures` transient failures in a row: BASE * 2**(failures-1),
    capped at MAX, then a random point in its upper half, so that many lanes failing
    together do not retry in lockstep while each still waits at least half its step."""
    step = min(
        settings.PUSH_RETRY_BACKOFF_MAX,
        settings.PUSH_RETRY_BACKOFF_BASE * 2 ** max(0, failures - 1),
    )
    return random.uniform(step / 2, step)  # noqa: S311 - jitter, not security


def window_exceeded(first_failure: datetime, now: datetime) -> bool:
    return now - first_failure > timedelta(seconds=settings.PUSH_RETRY_WINDOW)


def heal(lane: Lane, parked: Delivery, method: str) -> None:
    """After a refused PATCH, queue a PUT of the whole Location (see the module docstring)."""
    if method != Method.PATCH:
        return
    merge_one(
        lane,
        Change(
            level=Level.LOCATION,
            method=Method.PUT,
            fields=[],
            location_id=parked.location_id,
            evse_id=None,
            connector_id=None,
            changed_at=clock.now(),
        ),
    )


def expire_partner(partner_id: int, now: datetime) -> None:
    """The retry window ran out: stop replaying, schedule a full sync for later."""
    expired = Delivery.objects.filter(partner_id=partner_id, status__in=Delivery.OPEN).update(
        status=Status.EXPIRED,
        finished_at=now,
        last_error="Retry window exceeded; a full sync replaces it.",
    )
    PartnerPushState.objects.filter(partner_id=partner_id).update(
        needs_full_sync=True,
        full_sync_after=now + timedelta(seconds=settings.PUSH_FULL_SYNC_RETRY_INTERVAL),
    )
    logger.warning(
        "Partner %s unreachable for longer than the retry window: %d deliveries expired, "
        "full sync scheduled.",
        partner_id,
        expired,
    )
