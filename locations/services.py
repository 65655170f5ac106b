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

Lost updates: the update/delete functions take the `seen_version` of the object as the
operator's form showed it; under the Location's lock a different stored version refuses
the save (`locations.concurrency.StaleEdit`, naming what changed meanwhile), before anything
is written or recorded. Callers that render no form (API, commands) pass none. A real change
of an object's own fields increments its `version`.

History: single saves are recorded by the audit trail's model signals (the `audit` app,
django-simple-history). The bulk changes (`evses_set_status`, `locations_set_publish`) are in
`locations.bulk_changes`: set-based, a constant number of statements per batch of rows, with
their history and change records written the same way.
"""

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model

# The bulk changes (one field of many rows, set-based) are services too.
from .bulk_changes import evses_set_status
from .bulk_changes import locations_set_publish as locations_set_publish
from .changes import Level, Method, record_change
from .concurrency import check_version
from .enums import Status
from .locking import current_time as _now
from .locking import lock_location_of_evse as _lock_location_of_evse
from .locking import lock_locations as _lock_locations
from .locking import stamp as _stamp
from .models import CONNECTOR_COLUMNS, EVSE, EVSE_COLUMNS, LOCATION_COLUMNS, Connector, Location


def location_label(location: Location) -> str:
    return f"Location {location.id}"


def evse_label(evse: EVSE) -> str:
    return f"EVSE {evse.evse_id} (uid {evse.uid})" if evse.evse_id else f"EVSE {evse.uid}"


def connector_label(connector: Connector, evse: EVSE | None = None) -> str:
    evse = evse or connector.evse
    return f"Connector {connector.id} of EVSE {evse.evse_id or evse.uid}"


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
def location_update(*, location: Location, seen_version: int | None = None) -> list[str]:
    """Save the Location's new values; returns the OCPI fields that really changed.

    `seen_version`: the version the operator's form showed (refused when older)."""
    stored = Location.objects.select_for_update(no_key=True).get(pk=location.pk)
    check_version(stored, seen_version, location_label(stored))
    _refuse_changes(location, stored, ["country_code", "party_id", "id"])
    _validate_location(location)
    changed = _changed_fields(location, stored, LOCATION_COLUMNS)
    if not changed:
        location.last_updated, location.version = stored.last_updated, stored.version
        return []
    now = _stamp({stored.pk: stored.last_updated}, stored.pk)
    location.last_updated, location.version = now, stored.version + 1
    location.save(update_fields=[*changed, "last_updated", "version"])
    record_change(
        level=Level.LOCATION,
        method=Method.PATCH,
        location_row_id=location.pk,
        fields=changed,
        last_updated=now,
    )
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
def evse_update(*, evse: EVSE, seen_version: int | None = None) -> list[str]:
    """Save the EVSE's new values; returns the OCPI fields that really changed.

    `seen_version`: the version the operator's form showed (refused when older)."""
    locked = _lock_locations([evse.location_id])
    # Under the Location's lock nobody else changes this EVSE: a plain read is current.
    stored = EVSE.objects.get(pk=evse.pk)
    check_version(stored, seen_version, evse_label(stored))
    _refuse_changes(evse, stored, ["uid"])
    if evse.location_id != stored.location_id:
        raise ValidationError({"location": "An EVSE cannot move to another Location."})
    if stored.status == Status.REMOVED and evse.status != Status.REMOVED:
        raise ValidationError(
            {"status": "A removed EVSE stays removed; create a new EVSE with a new uid instead."}
        )
    _validate_evse(evse)
    changed = _changed_fields(evse, stored, EVSE_COLUMNS)
    if not changed:
        evse.last_updated, evse.version = stored.last_updated, stored.version
        return []
    now = _stamp(locked, evse.location_id)
    evse.last_updated, evse.version = now, stored.version + 1
    evse.save(update_fields=[*changed, "last_updated", "version"])
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
def connector_update(*, connector: Connector, seen_version: int | None = None) -> list[str]:
    """Save the Connector's new values; returns the OCPI fields that really changed.

    `seen_version`: the version the operator's form showed (refused when older)."""
    location_id, locked = _lock_location_of_evse(connector.evse_id)
    stored = Connector.objects.select_related("evse").get(pk=connector.pk)
    check_version(stored, seen_version, connector_label(stored))
    _refuse_changes(connector, stored, ["id"])
    if connector.evse_id != stored.evse_id:
        raise ValidationError({"evse": "A connector cannot move to another EVSE."})
    connector.full_clean(exclude=["last_updated"])
    changed = _changed_fields(connector, stored, CONNECTOR_COLUMNS)
    if not changed:
        connector.last_updated, connector.version = stored.last_updated, stored.version
        return []
    now = _stamp(locked, location_id)
    connector.last_updated, connector.version = now, stored.version + 1
    connector.save(update_fields=[*changed, "last_updated", "version"])
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
def connector_delete(*, connector: Connector, seen_version: int | None = None) -> None:
    """Remove a Connector; its EVSE must keep at least one (OCPI 2.2.1, Locations
    module, 8.3.2 EVSE Object: connectors, cardinality +).

    OCPI has no delete: partners get a PUT of the EVSE with the remaining connectors.
    `seen_version`: the version the operator's form showed (refused when older).
    """
    location_id, locked = _lock_location_of_evse(connector.evse_id)
    evse = EVSE.objects.get(pk=connector.evse_id)
    if seen_version is not None:
        stored = Connector.objects.get(pk=connector.pk)
        check_version(stored, seen_version, connector_label(stored, evse))
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
