"""How long the outbox keeps what is done, and its removal (`purge`, a Celery beat task
every PUSH_PURGE_INTERVAL seconds next to the sweeper).

Every change of every object leaves a change record, a Delivery per partner and an attempt
per call: at 100,000 EVSEs that is millions of rows a month, of which only the open ones
matter to the engine. Finished rows are kept for the operator to look at, then deleted in
batches of PUSH_PURGE_BATCH rows (short statements by primary key, each batch its own
transaction, so that a purge never holds long locks), at most PUSH_PURGE_MAX_BATCHES per
kind and run: a backlog of old rows goes over several runs. Each kind is found through an
index on its time column (migration 0006), not by scanning the table.

- Change records: PUSH_KEEP_CHANGES_DAYS after they were fanned out (a record not fanned out
  yet is work to do and stays). Deliveries do not refer to them.
- Deliveries that ended otherwise (succeeded, superseded, expired, discarded), with their
  attempts: PUSH_KEEP_DAYS after they finished.
- Failed (parked) Deliveries: PUSH_KEEP_FAILED_DAYS after they finished, longer by default,
  as they are what an operator investigates (retry or discard in the admin).
- Attempts of any Delivery: PUSH_KEEP_DAYS after they were made (a long-failing Delivery
  keeps its recent attempts only).
Full syncs (a row per sync, shown as a partner's last sync) are kept.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from . import metrics
from .models import ChangeRecord, Delivery, DeliveryAttempt

Status = Delivery.Status


@dataclass
class Purged:
    change_records: int = 0
    deliveries: int = 0
    failed_deliveries: int = 0
    attempts: int = 0

    @property
    def total(self) -> int:
        return self.change_records + self.deliveries + self.failed_deliveries + self.attempts


def cutoffs(now: datetime) -> dict[str, datetime]:
    """The oldest moment each kind of row is kept from (also shown in the admin)."""
    return {
        "change_records": now - timedelta(days=settings.PUSH_KEEP_CHANGES_DAYS),
        "deliveries": now - timedelta(days=settings.PUSH_KEEP_DAYS),
        "failed_deliveries": now - timedelta(days=settings.PUSH_KEEP_FAILED_DAYS),
        "attempts": now - timedelta(days=settings.PUSH_KEEP_DAYS),
    }


def _delete_in_batches(
    rows: QuerySet, oldest_first: str, tally: Callable[[QuerySet], None] | None = None
) -> int:
    """Delete `rows` a batch of primary keys at a time, each batch locked in a transaction
    of its own and added to the /metrics tallies first (`tally`, so that two runs never
    count a row twice and the counters never go down): a constant number of statements per
    batch (a Delivery's attempts go with it, Django's cascade)."""
    size = settings.PUSH_PURGE_BATCH
    deleted = 0
    for _ in range(settings.PUSH_PURGE_MAX_BATCHES):
        with transaction.atomic():
            # Oldest first by the indexed time column: the index serves filter and order.
            ids = list(
                rows.select_for_update().order_by(oldest_first).values_list("pk", flat=True)[:size]
            )
            if not ids:
                break
            # `rows` again: a row that changed meanwhile (a failed Delivery an operator
            # retries now) no longer matches and stays.
            batch = rows.filter(pk__in=ids)
            if tally is not None:
                tally(batch)
            _, per_model = batch.delete()
        deleted += per_model.get(rows.model._meta.label, 0)
        if len(ids) < size:
            break
    return deleted


def purge(*, now: datetime) -> Purged:
    keep = cutoffs(now)
    purged = Purged()
    purged.attempts = _delete_in_batches(
        DeliveryAttempt.objects.filter(started_at__lt=keep["attempts"]),
        "started_at",
        metrics.tally_attempts,
    )
    purged.deliveries = _delete_in_batches(
        Delivery.objects.exclude(status__in=[*Delivery.OPEN, Status.FAILED]).filter(
            finished_at__lt=keep["deliveries"]
        ),
        "finished_at",
        metrics.tally_deliveries,
    )
    purged.failed_deliveries = _delete_in_batches(
        Delivery.objects.filter(status=Status.FAILED, finished_at__lt=keep["failed_deliveries"]),
        "finished_at",
        metrics.tally_deliveries,
    )
    purged.change_records = _delete_in_batches(
        ChangeRecord.objects.filter(
            fanned_out_at__isnull=False, fanned_out_at__lt=keep["change_records"]
        ),
        "fanned_out_at",
    )
    return purged
