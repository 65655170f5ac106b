"""Bulk changes of one field of many rows, set-based: "Set status …" and "Mark removed" of
EVSEs, publish/unpublish of Locations (the admin's actions, their queued jobs
`locations.bulk_jobs`, imports and scripts).

The rules of the single-object services (`locations.services`) hold, in a constant number of
statements per batch of `BATCH` rows whatever the batch holds, and nothing per row in Python
beyond its id:

1. lock the batch's Locations (`locking.lock_locations`: primary-key order, before any other
   row; the rows come in the order of their Locations, so a call spanning several batches
   still locks in that order),
2. read the id and the current value of each row (under the lock: current) and keep only the
   rows that really change: a row that has the value already is left alone (not written,
   stamped or recorded), a removed EVSE stays removed (OCPI 2.2.1, Locations module, 8.1 Flow
   and Lifecycle), a Location with `publish_allowed_to` is not published (8.3.1 Location
   Object: only unpublished Locations may have it),
3. one UPDATE of the rows that change: the field, `last_updated` (one stamp: now, never
   older than their Locations' stored one) and `version` + 1 (a form showing the row before
   is refused: `locations.concurrency`),
4. one UPDATE of their Locations' `last_updated` (a change of an EVSE changes its Location's:
   8.2.1 Sender Interface; for a Location it is step 3),
5. one `INSERT … SELECT` of their history records (the audit trail, as a single save records
   them: `audit.models.AuditHistoryManager.bulk_history_copy`),
6. one `INSERT … SELECT` of their change records (`changes.record_change_set`: one PATCH of
   the field per object, as the single save records it), pushed after the commit.

Only the new value is validated (once): nothing else of the rows changes.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from simple_history.utils import get_history_manager_for_model

from .changes import ChangeSet, Level, Method, record_change_set
from .enums import Status
from .locking import lock_locations, stamp_all
from .models import EVSE, Location

# Rows per batch (each id is a parameter of the batch's statements).
BATCH = 2000


@dataclass
class BulkOutcome:
    """What a bulk change did with the rows it was given."""

    changed: int = 0
    already: int = 0  # had the value already: left alone
    refused: int = 0  # left alone by a rule: a removed EVSE, a Location with publish_allowed_to
    refused_ids: list[str] = field(default_factory=list)  # OCPI ids of the refused (first 20)

    def add(self, other: "BulkOutcome") -> None:
        self.changed += other.changed
        self.already += other.already
        self.refused += other.refused
        self.refused_ids += other.refused_ids[: 20 - len(self.refused_ids)]


def _many(ids: list[int]) -> list[int] | RawSQL:
    """The right side of `pk__in` for a batch of ids: one array parameter on PostgreSQL (a
    short statement, no work per id to build or send it), the list elsewhere."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (ids,))
    return ids


def _batches(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield list(ids[start : start + BATCH])


def _write(model, changing: list[int], name: str, value, locked: dict, level: str) -> None:
    """Steps 3–6 of the module docstring: `name` of the rows `changing` of `model` becomes
    `value`; `locked` are their Locations (locked)."""
    now = stamp_all(locked)
    rows = model.objects.filter(pk__in=_many(changing))
    rows.update(**{name: value}, last_updated=now, version=F("version") + 1)
    if model is EVSE:
        Location.objects.filter(pk__in=_many(list(locked))).update(last_updated=now)
    get_history_manager_for_model(model).bulk_history_copy(rows, default_date=now)
    record_change_set(
        ChangeSet(level=level, method=Method.PATCH, last_updated=now, rows=rows, fields=[name])
    )


# --- EVSE status ---------------------------------------------------------------------------


def _evse_status_batch(ids: list[int], status: str) -> BulkOutcome:
    locked = lock_locations(EVSE.objects.filter(pk__in=_many(ids)).values("location_id"))
    outcome, changing, locations = BulkOutcome(), [], set()
    for pk, location_id, uid, stored in EVSE.objects.filter(pk__in=_many(ids)).values_list(
        "pk", "location_id", "uid", "status"
    ):
        if stored == status:
            outcome.already += 1
        elif stored == Status.REMOVED:
            outcome.refused += 1
            if len(outcome.refused_ids) < 20:
                outcome.refused_ids.append(uid)
        else:
            changing.append(pk)
            locations.add(location_id)
    if changing:
        mine = {pk: locked[pk] for pk in locations}
        _write(EVSE, changing, "status", status, mine, Level.EVSE)
        outcome.changed = len(changing)
    return outcome


def set_evses_status(evse_ids: Sequence[int], status: str) -> BulkOutcome:
    """Set the status of these EVSEs (ids in the order of their Locations' row ids, as
    `evse_ids_in_lock_order` gives them), in batches inside the caller's transaction."""
    if status not in Status.values:
        raise ValidationError({"status": f"{status!r} is not an EVSE status."})
    outcome = BulkOutcome()
    with transaction.atomic():
        for batch in _batches(evse_ids):
            outcome.add(_evse_status_batch(batch, status))
    return outcome


def evse_ids_in_lock_order(evses: Iterable[EVSE]) -> list[int]:
    """The ids of these EVSE instances in the order their Locations are locked."""
    return [e.pk for e in sorted(evses, key=lambda e: (e.location_id, e.pk)) if e.pk]


def evses_set_status(*, evses: Iterable[EVSE], status: str) -> int:
    """Bulk status change; returns how many EVSEs really changed.

    Only `status` of the selected rows changes, as stored (read under the lock), whatever
    else the given instances carry; removed EVSEs stay removed. Each changed EVSE gets its
    PATCH of `status` and its history record. A constant number of statements per batch of
    `BATCH` EVSEs."""
    return set_evses_status(evse_ids_in_lock_order(evses), status).changed


# --- Location publish ----------------------------------------------------------------------


def _publish_batch(ids: list[int], publish: bool, *, all_or_nothing: bool) -> BulkOutcome:
    locked = lock_locations(Location.objects.filter(pk__in=_many(ids)).values("pk"))
    outcome, changing = BulkOutcome(), []
    for pk, location_id, stored, allowed_to in Location.objects.filter(
        pk__in=_many(ids)
    ).values_list("pk", "id", "publish", "publish_allowed_to"):
        if stored == publish:
            outcome.already += 1
        elif publish and allowed_to:
            outcome.refused += 1
            if len(outcome.refused_ids) < 20:
                outcome.refused_ids.append(location_id)
        else:
            changing.append(pk)
    if outcome.refused and all_or_nothing:
        raise ValidationError({"publish_allowed_to": _blocked_message(outcome)})
    if changing:
        mine = {pk: locked[pk] for pk in changing}
        _write(Location, changing, "publish", publish, mine, Level.LOCATION)
        outcome.changed = len(changing)
    return outcome


def _blocked_message(outcome: BulkOutcome) -> str:
    more = " …" if outcome.refused > len(outcome.refused_ids) else ""
    return (
        f"Nothing was published: {', '.join(outcome.refused_ids)}{more} "
        f"{'has' if outcome.refused == 1 else 'have'} publish_allowed_to, which OCPI allows "
        "only on unpublished Locations."
    )


def set_locations_publish(
    location_ids: Sequence[int], publish: bool, *, all_or_nothing: bool = False
) -> BulkOutcome:
    """Publish or unpublish these Locations, in batches inside the caller's transaction.
    Those with `publish_allowed_to` are not published: left alone (`refused`), or, with
    `all_or_nothing`, the whole call is refused (ValidationError) and nothing is written."""
    outcome = BulkOutcome()
    with transaction.atomic():
        for batch in _batches(sorted(location_ids)):
            outcome.add(_publish_batch(batch, publish, all_or_nothing=all_or_nothing))
    return outcome


def locations_set_publish(*, locations: Iterable[Location], publish: bool) -> int:
    """Bulk publish/unpublish; returns how many Locations really changed.

    Only `publish` of the selected rows changes, as stored (read under the lock), whatever
    else the given instances carry. Unpublishing keeps `publish_allowed_to`; publishing
    requires it to be empty (the spec allows it only for unpublished Locations): one
    Location with it refuses the whole call, and nothing is written. A constant number of
    statements per batch of `BATCH` Locations, history included.
    """
    ids = [location.pk for location in locations]
    return set_locations_publish(ids, publish, all_or_nothing=True).changed
