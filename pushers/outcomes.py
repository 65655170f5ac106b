"""The push retry policy, all of it: what an answer means, when to try again, when to give up.

- **Success** is HTTP 2xx with an OCPI status code 1000–1999 (`versions.client.is_success`,
  the rule the credentials handshake uses too).
- **Transient** (worth retrying: the partner is down, overloaded or broken right now, not
  refusing us): no answer at all (connection refused or broken, timeout), HTTP 5xx, HTTP
  429, OCPI 3xxx (server error), or HTTP 2xx without an OCPI envelope. The Delivery goes
  back to pending and its lane backs off: exponential backoff with jitter (`backoff`), one
  attempt per lane per step, retried by the task that failed (`tasks.send_lane`).
- **Permanent** (the same request would fail again): any other answer (HTTP 4xx, OCPI 2xxx,
  OCPI 4xxx). The Delivery is parked as failed and never retried by itself; a parked PATCH,
  or a parked PUT of an EVSE or a Connector, is healed by a PUT of the whole Location
  (`heal`), since the partner may not have the object or its parent (OCPI 2.2.1, Transport
  and format, "PATCH": when a PATCH fails, GET the object and PUT it if the receiver lacks
  it; an EVSE or Connector PUT below a Location the receiver lacks fails the same way). A
  PUT of a whole Location that fails in turn is only parked.
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from locations.sharing import may_see
from versions.client import OcpiCallFailed, OcpiResult, PartnerUrlRefused

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


@dataclass(frozen=True)
class Verdict:
    outcome: str
    error: str = ""  # why it failed, for the Delivery and the partner's health
    answer: str = ""  # what the partner said (its status_message, else its body's start)
    warning: str = ""  # a success that did not follow the protocol


# OCPI 2.2.1, Status codes, 4xxx (hub errors): 4001 "unknown receiver" will not change by
# itself; a timeout (4002) or connection problem (4003) at the hub, or a generic hub error,
# is the hub's or the receiving party's trouble of the moment.
_PERMANENT_HUB_CODES = frozenset({4001})


def classify(result: OcpiResult) -> Verdict:
    """What an answer means (see the module docstring)."""
    answer = _answer(result)
    error = f"HTTP {result.http_status}"
    if result.ocpi_status is not None:
        error += f" OCPI {result.ocpi_status}"
    error = (f"{error}: {answer}" if answer else error)[:500]
    if result.ok:
        return Verdict(Outcome.SUCCESS, answer=answer)
    if 200 <= result.http_status < 300 and result.ocpi_status is None:
        # Many receivers answer a push with an empty body or their own JSON: the HTTP status
        # says it was taken. Not retried (it would be retried for hours), but noted.
        return Verdict(Outcome.SUCCESS, answer=answer, warning="No OCPI envelope in the answer")
    if _transient(result):
        return Verdict(Outcome.TRANSIENT, error=error, answer=answer)
    return Verdict(Outcome.PERMANENT, error=error, answer=answer)


def classify_no_answer(failure: OcpiCallFailed) -> Verdict:
    """A call that got no answer: always worth another try, except a partner URL we refuse
    to call (it will not change until the partner registers a usable one)."""
    if isinstance(failure, PartnerUrlRefused):
        return Verdict(Outcome.PERMANENT, error=failure.reason[:500])
    return Verdict(Outcome.TRANSIENT, error=failure.reason[:500])


def _answer(result: OcpiResult) -> str:
    text = result.status_message or result.body_excerpt
    return " ".join(text.split())[:300]


def _transient(result: OcpiResult) -> bool:
    http, ocpi = result.http_status, result.ocpi_status
    if http >= 500 or http in (408, 429):
        return True
    if ocpi is not None and 4000 <= ocpi < 5000:
        return ocpi not in _PERMANENT_HUB_CODES
    return 200 <= http < 300 and ocpi is not None and 3000 <= ocpi < 4000


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
    """After a refused PATCH, or a refused PUT of an EVSE or Connector, queue a PUT of the
    whole Location (see the module docstring); never of one the partner may no longer see
    (roaming agreements), nor after a refused retirement (a PUT of the whole Location)."""
    if (method != Method.PATCH and parked.level == Level.LOCATION) or parked.retire:
        return
    if not may_see(parked.location_id, lane.partner_id):
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
