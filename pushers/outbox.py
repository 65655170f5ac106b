"""Recording changes for push: the listener of `locations.changes`, run inside the
transaction of each change.

The row is the durable part: it commits with the change or not at all. After the commit a
Celery task is queued with the row's id, only to wake a worker up quickly; if the broker is
unreachable at that moment the save still succeeds and the sweeper (`tasks.sweep`, run by
Celery beat) queues the record later.

A bulk change (`locations.bulk_changes`) tells its changes as a `ChangeSet` (the changed
rows as a query): `record_change_set` writes their records with one `INSERT … SELECT`,
whatever their number, the same records `record_changes` would write one by one.
"""

import threading
from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.db.models import DateTimeField, F, IntegerField, JSONField, Value

from locations.changes import Change, ChangeSet, Level

from . import clock
from .models import ChangeRecord
from .queue import enqueue_fan_out

# The change records of one transaction are queued as one fan-out task (in chunks of the
# fan-out batch), not one task each: a transaction saving 500 changes queues one task. Each
# record still registers an on-commit callback (`_Batch.flush`), the first one run queues
# the whole batch and the others find it done. A batch belongs to the outermost atomic block
# it was started in; ids of records rolled back may ride along with a later commit of the
# same block, which is harmless (the fan-out finds no such record).
_current = threading.local()

# Rows per INSERT when a bulk import records many changes at once.
_BULK_BATCH = 2000


class _Batch:
    def __init__(self, outer: object) -> None:
        self.outer, self.flushed = outer, False
        self.ids: list[int] = []

    def flush(self) -> None:
        if not self.flushed:
            self.flushed = True
            enqueue_fan_out(self.ids)


def _record(change: Change) -> ChangeRecord:
    return ChangeRecord(
        level=change.level,
        method=change.method,
        location_id=change.location_row_id,
        evse_id=change.evse_row_id,
        connector_id=change.connector_row_id,
        fields=list(change.fields),
        shared_with=list(change.shared_with),
        withdrawn_from=list(change.withdrawn_from),
        last_updated=change.last_updated,
    )


def record_changes(changes: Sequence[Change]) -> None:
    """Write a ChangeRecord per change and queue their fan-out after the commit."""
    if len(changes) == 1:
        records = [_record(changes[0])]
        records[0].save(force_insert=True)
    else:
        records = ChangeRecord.objects.bulk_create(
            [_record(change) for change in changes], batch_size=_BULK_BATCH
        )
    enqueue_fan_out_after_commit(record.pk for record in records)


def enqueue_fan_out_after_commit(change_ids: Iterable[int]) -> None:
    """Queue the fan-out of these change records once the current transaction commits."""
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


def record_change_set(change_set: ChangeSet) -> None:
    """A ChangeRecord per changed row, in one `INSERT … SELECT` whatever their number (as
    `record_changes` would write them one by one: in Location order), and their fan-out
    queued after the commit."""
    location: F
    evse: F | Value
    if change_set.level == Level.LOCATION:
        location, evse, order = F("pk"), Value(None, output_field=IntegerField()), ["pk"]
    else:
        location, evse, order = F("location_id"), F("pk"), ["location_id", "pk"]
    select = change_set.rows.order_by(*order).values_list(
        Value(str(change_set.level)),
        Value(str(change_set.method)),
        location,
        evse,
        Value(list(change_set.fields), output_field=JSONField()),
        Value([], output_field=JSONField()),
        Value([], output_field=JSONField()),
        Value(change_set.last_updated, output_field=DateTimeField()),
        Value(clock.now(), output_field=DateTimeField()),
    )
    sql, params = select.query.sql_with_params()
    meta = ChangeRecord._meta
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(str(meta.get_field(name).column))  # type: ignore[union-attr]
        for name in (
            "level",
            "method",
            "location",
            "evse",
            "fields",
            "shared_with",
            "withdrawn_from",
            "last_updated",
            "created_at",
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({columns}) {sql} "
            f"RETURNING {quote(str(meta.pk.column))}",
            params,
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    enqueue_fan_out_after_commit(ids)
