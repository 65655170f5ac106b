"""The lock and the stamp every write of a Location's tree takes (`locations.services`,
`locations.bulk`, `locations.sharing`).

Every change of a Location or of anything under it first locks the Location's row, before
any other row, and only then takes its `last_updated` (never older than the stored one). So
the changes of one Location commit one after the other in the order of their `last_updated`,
and the Location's `last_updated` never goes back. Bulk changes lock all their Locations
first, in primary-key order, so that two of them never wait for each other (no deadlock).
"""

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from versions.datetimes import truncate_to_millis

from .models import Location


def current_time() -> datetime:
    return truncate_to_millis(timezone.now())


# Locked Location rows of the running transaction → their newest `last_updated`.
Locked = dict[int, datetime]


def lock_locations(location_ids: Iterable[int] | QuerySet) -> Locked:
    """Lock these Locations' rows until the transaction ends, in primary-key order (one
    statement), before any other row of their trees. `location_ids` may be a query giving
    them (e.g. the `location_id` of some EVSEs), read in the same statement.

    FOR NO KEY UPDATE, not FOR UPDATE: it still makes the writers of one Location wait for
    each other, but not for push workers inserting rows that refer to the Location (a
    foreign key check takes FOR KEY SHARE, which only FOR UPDATE blocks). SQLite has no row
    locks; its writers take turns anyway (settings: IMMEDIATE transactions)."""
    ids = location_ids if isinstance(location_ids, QuerySet) else sorted(set(location_ids))
    return dict(
        Location.objects.select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "last_updated")
    )


def lock_location_of_evse(evse_row_id: int) -> tuple[int, Locked]:
    """Lock the Location of this EVSE (see `lock_locations`); its id and the lock."""
    found = (
        Location.objects.select_for_update(no_key=True, of=("self",))
        .filter(evses__pk=evse_row_id)
        .values_list("pk", "last_updated")
        .first()
    )
    if found is None:
        raise ValidationError({"evse": f"There is no EVSE {evse_row_id}."})
    return found[0], {found[0]: found[1]}


def stamp(locked: Locked, location_id: int) -> datetime:
    """The `last_updated` of a change under a locked Location: now, but never older than the
    Location's stored one (clocks of web machines may differ), so that a Location's stamps
    follow the order in which its changes commit."""
    now = current_time()
    stored = locked.get(location_id)  # None: no such Location (validation refuses it)
    if stored is not None and stored > now:
        now = stored
    locked[location_id] = now
    return now


def stamp_all(locked: Locked) -> datetime:
    """One `last_updated` for a bulk change of all these locked Locations: now, but never
    older than any of their stored ones (see `stamp`)."""
    now = max([current_time(), *locked.values()])
    for location_id in locked:
        locked[location_id] = now
    return now
