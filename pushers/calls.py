"""One call of a round: the partner read again before it, the HTTP call through the one
outbound client (`versions.client`), and what its answer means (`outcomes`). Used by the
one-lane rounds (`lanes`) and the many-lane rounds (`drain`).
"""

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from partners.routing import Party, sent_by
from versions.client import OcpiCallFailed, join_url, ocpi_request
from versions.logcontext import log_ids

from . import clock, lane_sql, outcomes, targets
from .messages import Message, Skip
from .models import Delivery, DeliveryAttempt, Lane
from .rounds import Sent
from .targets import Target

Outcome = DeliveryAttempt.Outcome

# What a call whose worker was lost (killed, or stopped by its time limit) is recorded as.
LOST = "No answer recorded: the worker sending it stopped (killed or past its time limit)."


def call_max() -> float:
    """The longest one call can take (its total deadline), plus a margin."""
    deadline = getattr(settings, "OCPI_HTTP_DEADLINE", None)
    if deadline is None:
        deadline = settings.OCPI_HTTP_CONNECT_TIMEOUT + settings.OCPI_HTTP_READ_TIMEOUT
    return float(deadline) + 1


def target_now(lane: Lane) -> Target | None:
    """The partner as it is now (state, token, endpoint, pause, roles): read again before
    each call after a round's first, so nothing goes out after an unregistering or a pause,
    and a rotated token is used from the next call on. None: send nothing more."""
    now = lane_sql.partner_now(lane.partner_id)
    if now is None or now.paused:
        return None
    lane.consecutive_failures = now.consecutive_failures
    return targets.target(partner=now.partner, receiver_url=now.receiver_url, roles=now.roles)


def send(delivery: Delivery, message: Message | Skip | None, target: Target) -> Sent:
    if isinstance(message, Skip) or message is None:
        # No call: the object is gone (its parent's PUT carries it), or the partner may no
        # longer see it (roaming agreements).
        skipped = message.reason if message is not None else ""
        return Sent(
            delivery=delivery, message=None, started=clock.now(), gone=True, skipped=skipped
        )
    item = Sent(delivery=delivery, message=message, started=clock.now())
    item.url = join_url(target.receiver_url, *message.segments)
    try:
        with log_ids(delivery_id=delivery.pk):
            item.result = ocpi_request(
                message.method,
                item.url,
                token=target.token,
                base64_token=target.base64_token,
                body=message.body,
                # From the Location's owner (its first two segments): one of our parties.
                routing=sent_by(target.routing, Party(*message.segments[:2])),
            )
    except OcpiCallFailed as exc:
        verdict = outcomes.classify_no_answer(exc)
    except SoftTimeLimitExceeded:
        # Should not happen (the budget), but if it does the call is written down as failed.
        verdict = outcomes.Verdict(Outcome.TRANSIENT, error=LOST)
    else:
        verdict = outcomes.classify(item.result)
    item.outcome, item.error = verdict.outcome, verdict.error
    item.answer, item.warning = verdict.answer, verdict.warning
    return item
