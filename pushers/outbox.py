"""Recording changes for push. Called only by `locations.services`, inside its transaction.

The row is the durable part: it commits with the change or not at all. After the commit a
Celery task is queued with the row's id, only to wake a worker up quickly; if the broker is
unreachable at that moment the save still succeeds and the sweeper (`tasks.sweep`, run by
Celery beat) queues the record later.
"""

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from .models import ChangeRecord

logger = logging.getLogger(__name__)


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
    if ids:
        transaction.on_commit(lambda: enqueue_fan_out(ids))


def enqueue_fan_out(change_ids: list[int]) -> bool:
    """Publish the fan-out task; never raises (a broker failure must not fail a save)."""
    from .tasks import fan_out_changes

    try:
        fan_out_changes.apply_async(args=[change_ids])
    except Exception:  # noqa: BLE001 - any broker error; the sweeper re-queues the records
        logger.warning(
            "Could not queue the push of change records %s; the sweeper will.",
            change_ids,
            exc_info=True,
        )
        return False
    return True
