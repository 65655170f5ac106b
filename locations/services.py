"""Every write to Locations, EVSEs and Connectors.

The admin, the management commands and any future API go through these functions, which
- validate (model validators, constraints and the rules between fields),
- set `last_updated` only on a real change and bubble it up: a Connector change bumps its
  EVSE and Location, an EVSE change its Location (OCPI 2.2.1, Locations module, 8.2.1 Sender
  Interface: the date filter relies on it), all in one transaction,
- record the change (`locations.changes`, which the push outbox listens to) in that same
  transaction.

Every change of a Location or of anything under it first locks the Location's row, before any
other row, and only then takes its `last_updated` (never older than the stored one). So the
changes of one Location commit one after the other in the order of their `last_updated`, and
the Location's `last_updated` never goes back: without the lock, two transactions changing
two EVSEs of one Location could commit in the opposite order of their stamps, leaving the
Location with the older one and recording the older change after the newer (the chaos run's
"ours …28.559Z, theirs …28.471Z"). Bulk changes lock all their Locations first, in
primary-key order, so that two of them never wait for each other (no deadlock).

Each function takes model instances carrying the wanted values (e.g. from a ModelForm) and
compares them with what is stored, so that saving an unchanged form changes nothing.
"""

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from versions.datetimes import truncate_to_millis

from .changes import Level, Method, record_change
from .enums import Status
from .models import CONNECTOR_FIELDS, EVSE, EVSE_FIELDS, LOCATION_FIELDS, Connector, Location

# Stored OCPI fields of each model (children and last_updated are not columns to compare).
_LOCATION_COLUMNS = tuple(f for f in LOCATION_FIELDS if f not in {"evses", "last_updated"})
_EVSE_COLUMNS = tuple(f for f in EVSE_FIELDS if f not in {"connectors", "last_updated"})
_CONNECTOR_COLUMNS = tuple(f for f in CONNECTOR_FIELDS if f != "last_updated")


def _now() -> datetime:
    return truncate_to_millis(timezone.now())


# Locked Location rows of the running transaction → their newest `last_updated`.
Locked = dict[int, datetime]


def _lock_locations(location_ids: Iterable[int]) -> Locked:
    """Lock these Locations' rows until the transaction ends, in primary-key order (one
    statement), before any other row of their trees.

    FOR NO KEY UPDATE, not FOR UPDATE: it still makes the writers of one Location wait for
    each other, but not for push workers inserting rows that refer to the Location (a
    foreign key check takes FOR KEY SHARE, which only FOR UPDATE blocks). SQLite has no row
    locks; its writers take turns anyway (settings: IMMEDIATE transactions)."""
    return dict(
        Location.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(set(location_ids)))
        .order_by("pk")
        .values_list("pk", "last_updated")
    )


def _lock_location_of_evse(evse_row_id: int) -> tuple[int, Locked]:
    """Lock the Location of this EVSE (see `_lock_locations`); its id and the lock."""
    found = (
        Location.objects.select_for_update(no_key=True, of=("self",))
        .filter(evses__pk=evse_row_id)
        .values_list("pk", "last_updated")
        .first()
    )
    if found is None:
        raise ValidationError({"evse": f"There is no EVSE {evse_row_id}."})
    return found[0], {found[0]: found[1]}


def _stamp(locked: Locked, location_id: int) -> datetime:
    """The `last_updated` of a change under a locked Location: now, but never older than the
    Location's stored one (clocks of web machines may differ), so that a Location's stamps
    follow the order in which its changes commit."""
    now = _now()
    stored = locked.get(location_id)  # None: no such Location (validation refuses it)
    if stored is not None and stored > now:
        now = stored
    locked[location_id] = now
    return now


def _changed_fields(instance: Model, stored: Model, columns: Iterable[str]) -> list[str]:
    return [name for name in columns if getattr(instance, name) != getattr(stored, name)]


def _refuse_changes(instance: Model, stored: Model, names: Iterable[str]) -> None:
    errors = {
        name: f"{name} never changes once created (it was {getattr(stored, name)!r})."
        for name in names
        if str(getattr(instance, name)).upper() != str(getattr(stored, name)).upper()
    }
    if errors:
        raise ValidationError(errors)


def _bump_location(location_row_id: int, now: datetime) -> None:
    Location.objects.filter(pk=location_row_id).update(last_updated=now)


def _bump_evse_and_location(evse_row_id: int, location_row_id: int, now: datetime) -> None:
    EVSE.objects.filter(pk=evse_row_id).update(last_updated=now)
    _bump_location(location_row_id, now)


def _normalise_location(location: Location) -> None:
    location.country_code = location.country_code.upper()
    location.party_id = location.party_id.upper()


def _validate_location(location: Location) -> None:
    _normalise_location(location)
    location.full_clean(exclude=["last_updated"])


# --- Location ------------------------------------------------------------------------------


@transaction.atomic
def location_create(
    *, location: Location, evses: Iterable[tuple[EVSE, list[Connector]]] = ()
) -> Location:
    """Create a Location, optionally with its EVSEs and their Connectors, as one change.

    Partners get one PUT of the whole Location (with its EVSEs), not one message per object.
    """
    evses = list(evses)
    _validate_location(location)
    now = _now()
    location.last_updated = now
    location.save(force_insert=True)
    for evse, connectors in evses:
        evse.location = location
        _evse_insert(evse, connectors, now)
    record_change(
        level=Level.LOCATION, method=Method.PUT, location_row_id=location.pk, last_updated=now
    )
    return location


@transaction.atomic
def location_update(*, location: Location) -> list[str]:
    """Save the Location's new values; returns the OCPI fields that really changed."""
    stored = Location.objects.select_for_update(no_key=True).get(pk=location.pk)
    _refuse_changes(location, stored, ["country_code", "party_id", "id"])
    _validate_location(location)
    changed = _changed_fields(location, stored, _LOCATION_COLUMNS)
    if not changed:
        location.last_updated = stored.last_updated
        return []
    now = _stamp({stored.pk: stored.last_updated}, stored.pk)
    location.last_updated = now
    location.save(update_fields=[*changed, "last_updated"])
    record_change(
        level=Level.LOCATION,
        method=Method.PATCH,
        location_row_id=location.pk,
        fields=changed,
        last_updated=now,
    )
    return changed


@transaction.atomic
def locations_set_publish(*, locations: Iterable[Location], publish: bool) -> int:
    """Bulk publish/unpublish. Unpublishing keeps `publish_allowed_to`; publishing requires it
    to be empty (the spec allows it only for unpublished Locations)."""
    locations = list(locations)
    _lock_locations(location.pk for location in locations)
    changed = 0
    for location in locations:
        location.publish = publish
        if location_update(location=location):
            changed += 1
    return changed


# --- EVSE ----------------------------------------------------------------------------------


def _validate_evse(evse: EVSE, *, exclude: list[str] | None = None) -> None:
    evse.full_clean(exclude=["last_updated", *(exclude or [])])


def _validate_connectors_of_new_evse(connectors: list[Connector]) -> None:
    if not connectors:
        raise ValidationError("An EVSE needs at least one connector.")
    seen: set[str] = set()
    for connector in connectors:
        if connector.id.upper() in seen:
            raise ValidationError(f"Two connectors of this EVSE have the id {connector.id!r}.")
        seen.add(connector.id.upper())


def _evse_insert(evse: EVSE, connectors: list[Connector], now: datetime) -> None:
    _validate_connectors_of_new_evse(connectors)
    _validate_evse(evse)
    evse.last_updated = now
    evse.save(force_insert=True)
    for connector in connectors:
        connector.evse = evse
        connector.full_clean(exclude=["last_updated"])
        connector.last_updated = now
        connector.save(force_insert=True)


@transaction.atomic
def evse_create(*, evse: EVSE, connectors: list[Connector]) -> EVSE:
    """Add an EVSE (with at least one Connector) to an existing Location."""
    now = _stamp(_lock_locations([evse.location_id]), evse.location_id)
    _evse_insert(evse, connectors, now)
    _bump_location(evse.location_id, now)
    record_change(
        level=Level.EVSE,
        method=Method.PUT,
        location_row_id=evse.location_id,
        evse_row_id=evse.pk,
        last_updated=now,
    )
    return evse


@transaction.atomic
def evse_update(*, evse: EVSE) -> list[str]:
    """Save the EVSE's new values; returns the OCPI fields that really changed."""
    return _evse_update(evse, _lock_locations([evse.location_id]))


def _evse_update(evse: EVSE, locked: Locked) -> list[str]:
    # Under the Location's lock nobody else changes this EVSE: a plain read is current.
    stored = EVSE.objects.get(pk=evse.pk)
    _refuse_changes(evse, stored, ["uid"])
    if evse.location_id != stored.location_id:
        raise ValidationError({"location": "An EVSE cannot move to another Location."})
    if stored.status == Status.REMOVED and evse.status != Status.REMOVED:
        raise ValidationError(
            {"status": "A removed EVSE stays removed; create a new EVSE with a new uid instead."}
        )
    _validate_evse(evse)
    changed = _changed_fields(evse, stored, _EVSE_COLUMNS)
    if not changed:
        evse.last_updated = stored.last_updated
        return []
    now = _stamp(locked, evse.location_id)
    evse.last_updated = now
    evse.save(update_fields=[*changed, "last_updated"])
    _bump_location(evse.location_id, now)
    record_change(
        level=Level.EVSE,
        method=Method.PATCH,
        location_row_id=evse.location_id,
        evse_row_id=evse.pk,
        fields=changed,
        last_updated=now,
    )
    return changed


@transaction.atomic
def evses_set_status(*, evses: Iterable[EVSE], status: str) -> int:
    """Bulk status change; returns how many EVSEs really changed. Removed EVSEs are skipped
    unless the new status is REMOVED (they stay removed)."""
    if status not in Status.values:
        raise ValidationError(f"{status!r} is not an EVSE status.")
    evses = [evse for evse in evses if evse.status != Status.REMOVED]
    locked = _lock_locations(evse.location_id for evse in evses)
    changed = 0
    for evse in evses:
        evse.status = status
        if _evse_update(evse, locked):
            changed += 1
    return changed


def evse_remove(*, evse: EVSE) -> bool:
    """EVSEs are never deleted (OCPI 2.2.1, Locations module, 8.1 Flow and Lifecycle):
    removing one sets status REMOVED."""
    return evses_set_status(evses=[evse], status=Status.REMOVED) == 1


# --- Connector -----------------------------------------------------------------------------


@transaction.atomic
def connector_create(*, connector: Connector) -> Connector:
    location_id, locked = _lock_location_of_evse(connector.evse_id)
    connector.full_clean(exclude=["last_updated"])
    now = _stamp(locked, location_id)
    connector.last_updated = now
    connector.save(force_insert=True)
    _bump_evse_and_location(connector.evse_id, location_id, now)
    record_change(
        level=Level.CONNECTOR,
        method=Method.PUT,
        location_row_id=location_id,
        evse_row_id=connector.evse_id,
        connector_row_id=connector.pk,
        last_updated=now,
    )
    return connector


@transaction.atomic
def connector_update(*, connector: Connector) -> list[str]:
    location_id, locked = _lock_location_of_evse(connector.evse_id)
    stored = Connector.objects.get(pk=connector.pk)
    _refuse_changes(connector, stored, ["id"])
    if connector.evse_id != stored.evse_id:
        raise ValidationError({"evse": "A connector cannot move to another EVSE."})
    connector.full_clean(exclude=["last_updated"])
    changed = _changed_fields(connector, stored, _CONNECTOR_COLUMNS)
    if not changed:
        connector.last_updated = stored.last_updated
        return []
    now = _stamp(locked, location_id)
    connector.last_updated = now
    connector.save(update_fields=[*changed, "last_updated"])
    _bump_evse_and_location(connector.evse_id, location_id, now)
    record_change(
        level=Level.CONNECTOR,
        method=Method.PATCH,
        location_row_id=location_id,
        evse_row_id=connector.evse_id,
        connector_row_id=connector.pk,
        fields=changed,
        last_updated=now,
    )
    return changed


@transaction.atomic
def connector_delete(*, connector: Connector) -> None:
    """Remove a Connector; its EVSE must keep at least one (OCPI 2.2.1, Locations
    module, 8.3.2 EVSE Object: connectors, cardinality +).

    OCPI has no delete: partners get a PUT of the EVSE with the remaining connectors.
    """
    location_id, locked = _lock_location_of_evse(connector.evse_id)
    evse = EVSE.objects.get(pk=connector.evse_id)
    if evse.connectors.exclude(pk=connector.pk).count() < 1:
        raise ValidationError(
            f"EVSE {evse} needs at least one connector; add another before removing {connector.id}."
        )
    connector.delete()
    now = _stamp(locked, location_id)
    _bump_evse_and_location(evse.pk, location_id, now)
    record_change(
        level=Level.EVSE,
        method=Method.PUT,
        location_row_id=evse.location_id,
        evse_row_id=evse.pk,
        last_updated=now,
    )
