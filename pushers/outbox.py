"""Recording changes for push. Called only by `locations.services`, inside its transaction.

The row is the durable part: it commits with the change or not at all. After the commit a
Celery task is queued with the row's id, only to wake a worker up quickly; if the broker is
unreachable at that moment the save still succeeds and the sweeper (`tasks.sweep`, run by
Celery beat) queues the record later.
"""

import logging
import threading
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from .models import ChangeRecord

logger = logging.getLogger(__name__)

# The change records of one transaction are queued as one fan-out task (in chunks of the
# fan-out batch), not one task each: a transaction saving 500 changes queues one task. Each
# record still registers an on-commit callback (`_Batch.flush`), the first one run queues
# the whole batch and the others find it done. A batch belongs to the outermost atomic block
# it was started in; ids of records rolled back may ride along with a later commit of the
# same block, which is harmless (the fan-out finds no such record).
_current = threading.local()


class _Batch:
    def __init__(self, outer) -> None:
        self.outer, self.ids, self.flushed = outer, [], False

    def flush(self) -> None:
        if not self.flushed:
            self.flushed = True
            enqueue_fan_out(self.ids)


def record_change(
    *,
    level: str,
    method: str,
    location_row_id: int,
    last_updated: datetime,
    evse_row_id: int | None = None,
    connector_row_id: int | None = None,
    fields: list[str] | None = None,
) -> ChangeRecord:
    record = ChangeRecord.objects.create(
        level=level,
        method=method,
        location_id=location_row_id,
        evse_id=evse_row_id,
        connector_id=connector_row_id,
        fields=fields or [],
        last_updated=last_updated,
    )
    enqueue_fan_out_after_commit([record.pk])
    return record


def enqueue_fan_out_after_commit(change_ids: Iterable[int]) -> None:
    """Queue the fan-out of these change records once the current transaction commits.

    For code that writes ChangeRecords itself (e.g. a bulk import with bulk_create).
    """
    ids = list(change_ids)
    if not ids:
        return
    connection = transaction.get_connection()
    outer = connection.atomic_blocks[0] if connection.in_atomic_block else None
    batch = getattr(_current, "batch", None)
    if outer is None or batch is None or batch.flushed or batch.outer is not outer:
        batch = _Batch(outer)
        _current.batch = batch
    batch.ids.extend(ids)
    transaction.on_commit(batch.flush)


def enqueue_fan_out(change_ids: list[int]) -> bool:
    """Publish the fan-out task(s), one per FAN_OUT_BATCH ids (what one run claims of its
    own); never raises (a broker failure must not fail a save)."""
    from .services import FAN_OUT_BATCH
    from .tasks import fan_out_changes

    try:
        for start in range(0, len(change_ids), FAN_OUT_BATCH):
            fan_out_changes.apply_async(args=[change_ids[start : start + FAN_OUT_BATCH]])
    except Exception:  # noqa: BLE001 - any broker error; the sweeper re-queues the records
        logger.warning(
            "Could not queue the push of change records %s; the sweeper will.",
            change_ids,
            exc_info=True,
        )
        return False
    return True
