"""Every write to Locations, EVSEs and Connectors.

The admin, the management commands and any future API go through these functions, which
- validate (model validators, constraints and the rules between fields),
- set `last_updated` only on a real change and bubble it up: a Connector change bumps its
  EVSE and Location, an EVSE change its Location (locations.md §3.1), all in one transaction,
- record the change for push (`pushers.outbox`) in that same transaction.

Each function takes model instances carrying the wanted values (e.g. from a ModelForm) and
compares them with what is stored, so that saving an unchanged form changes nothing.
"""

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from pushers.models import ChangeRecord
from pushers.outbox import record_change
from versions.datetimes import truncate_to_millis

from .enums import Status
from .models import CONNECTOR_FIELDS, EVSE, EVSE_FIELDS, LOCATION_FIELDS, Connector, Location

Level = ChangeRecord.Level
Method = ChangeRecord.Method

# Stored OCPI fields of each model (children and last_updated are not columns to compare).
_LOCATION_COLUMNS = tuple(f for f in LOCATION_FIELDS if f not in {"evses", "last_updated"})
_EVSE_COLUMNS = tuple(f for f in EVSE_FIELDS if f not in {"connectors", "last_updated"})
_CONNECTOR_COLUMNS = tuple(f for f in CONNECTOR_FIELDS if f != "last_updated")


def _now() -> datetime:
    return truncate_to_millis(timezone.now())


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


def _bump_evse_and_location(evse: EVSE, now: datetime) -> None:
    EVSE.objects.filter(pk=evse.pk).update(last_updated=now)
    _bump_location(evse.location_id, now)


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
    stored = Location.objects.select_for_update().get(pk=location.pk)
    _refuse_changes(location, stored, ["country_code", "party_id", "id"])
    _validate_location(location)
    changed = _changed_fields(location, stored, _LOCATION_COLUMNS)
    if not changed:
        location.last_updated = stored.last_updated
        return []
    now = _now()
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
    now = _now()
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
    stored = EVSE.objects.select_for_update().get(pk=evse.pk)
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
    now = _now()
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
    changed = 0
    for evse in evses:
        if evse.status == Status.REMOVED:
            continue
        evse.status = status
        if evse_update(evse=evse):
            changed += 1
    return changed


def evse_remove(*, evse: EVSE) -> bool:
    """EVSEs are never deleted (locations.md §5): removing one sets status REMOVED."""
    return evses_set_status(evses=[evse], status=Status.REMOVED) == 1


# --- Connector -----------------------------------------------------------------------------


@transaction.atomic
def connector_create(*, connector: Connector) -> Connector:
    connector.full_clean(exclude=["last_updated"])
    now = _now()
    connector.last_updated = now
    connector.save(force_insert=True)
    evse = connector.evse
    _bump_evse_and_location(evse, now)
    record_change(
        level=Level.CONNECTOR,
        method=Method.PUT,
        location_row_id=evse.location_id,
        evse_row_id=evse.pk,
        connector_row_id=connector.pk,
        last_updated=now,
    )
    return connector


@transaction.atomic
def connector_update(*, connector: Connector) -> list[str]:
    stored = Connector.objects.select_for_update().get(pk=connector.pk)
    _refuse_changes(connector, stored, ["id"])
    if connector.evse_id != stored.evse_id:
        raise ValidationError({"evse": "A connector cannot move to another EVSE."})
    connector.full_clean(exclude=["last_updated"])
    changed = _changed_fields(connector, stored, _CONNECTOR_COLUMNS)
    if not changed:
        connector.last_updated = stored.last_updated
        return []
    now = _now()
    connector.last_updated = now
    connector.save(update_fields=[*changed, "last_updated"])
    evse = connector.evse
    _bump_evse_and_location(evse, now)
    record_change(
        level=Level.CONNECTOR,
        method=Method.PATCH,
        location_row_id=evse.location_id,
        evse_row_id=evse.pk,
        connector_row_id=connector.pk,
        fields=changed,
        last_updated=now,
    )
    return changed


@transaction.atomic
def connector_delete(*, connector: Connector) -> None:
    """Remove a Connector; its EVSE must keep at least one (locations.md §5).

    OCPI has no delete: partners get a PUT of the EVSE with the remaining connectors.
    """
    evse = EVSE.objects.select_for_update().get(pk=connector.evse_id)
    if evse.connectors.exclude(pk=connector.pk).count() < 1:
        raise ValidationError(
            f"EVSE {evse} needs at least one connector; add another before removing {connector.id}."
        )
    connector.delete()
    now = _now()
    _bump_evse_and_location(evse, now)
    record_change(
        level=Level.EVSE,
        method=Method.PUT,
        location_row_id=evse.location_id,
        evse_row_id=evse.pk,
        last_updated=now,
    )


# --- Bulk import ---------------------------------------------------------------------------
# (Imports kept here so that this section stays self-contained at the end of the module.)
from django.db import IntegrityError  # noqa: E402
from django.db.models.functions import Upper  # noqa: E402

from pushers.outbox import enqueue_fan_out_after_commit  # noqa: E402

_BULK_BATCH = 2000


def _constraint_messages() -> dict[str, str]:
    return {
        constraint.name: str(constraint.violation_error_message)
        for model in (Location, EVSE, Connector)
        for constraint in model._meta.constraints
    }


def _violated_constraint(exc: IntegrityError) -> str | None:
    """The name of the constraint an IntegrityError reports, if it is one of ours."""
    diag_name = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
    text = str(exc)
    for name in _constraint_messages():
        if name == diag_name or name in text:
            return name
    return None


def _existing_ids_hint(name: str, sites) -> str:
    """A few of the ids that made a unique constraint fail, found with one query after the
    rollback, so that the operator sees which objects are already there."""
    if name == "location_unique_id_per_party":
        column, wanted = "id", {loc.id.upper() for loc, _ in sites}
        queryset = Location.objects.filter(
            country_code__in={loc.country_code for loc, _ in sites},
            party_id__in={loc.party_id for loc, _ in sites},
        )
    elif name == "evse_unique_uid":
        column, queryset = "uid", EVSE.objects.all()
        wanted = {evse.uid.upper() for _, evses in sites for evse, _ in evses}
    elif name == "evse_unique_active_evse_id":
        column, queryset = "evse_id", EVSE.objects.exclude(status=Status.REMOVED)
        wanted = {evse.evse_id.upper() for _, evses in sites for evse, _ in evses}
    else:
        return ""
    found = sorted(
        queryset.annotate(_key=Upper(column))
        .filter(_key__in=wanted)
        .values_list(column, flat=True)[:5]
    )
    return f" Already stored: {', '.join(found)}{' …' if len(found) == 5 else ''}." if found else ""


def _validate_sites_for_bulk(sites) -> None:
    """The rules of `location_create`, without a database query per object.

    Field validators, choices and `clean()` run through `full_clean`; the unique constraints
    are checked inside the batch here and against stored rows by the database; the one check
    constraint is evaluated in Python (Django would ask the database once per object).
    """
    location_keys: set[tuple[str, str, str]] = set()
    uids: set[str] = set()
    evse_ids: set[str] = set()
    for location, evses in sites:
        _normalise_location(location)
        try:
            location.full_clean(
                exclude=["last_updated"], validate_unique=False, validate_constraints=False
            )
            if location.publish and location.publish_allowed_to:
                message = "publish_allowed_to is only allowed when publish is off."
                raise ValidationError({"publish_allowed_to": message})
            key = (location.country_code, location.party_id, location.id.upper())
            if key in location_keys:
                raise ValidationError({"id": "This id occurs twice in the import."})
            location_keys.add(key)
            for evse, connectors in evses:
                _validate_connectors_of_new_evse(connectors)
                evse.full_clean(
                    exclude=["last_updated", "location"],
                    validate_unique=False,
                    validate_constraints=False,
                )
                if evse.uid.upper() in uids:
                    raise ValidationError({"uid": f"EVSE uid {evse.uid!r} occurs twice."})
                uids.add(evse.uid.upper())
                if evse.evse_id and evse.status != Status.REMOVED:
                    if evse.evse_id.upper() in evse_ids:
                        raise ValidationError(
                            {"evse_id": f"EVSE ID {evse.evse_id!r} occurs twice."}
                        )
                    evse_ids.add(evse.evse_id.upper())
                for connector in connectors:
                    connector.full_clean(
                        exclude=["last_updated", "evse"],
                        validate_unique=False,
                        validate_constraints=False,
                    )
        except ValidationError as exc:
            raise ValidationError(f"Location {location.id!r}: {_flat_message(exc)}") from exc


def _flat_message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


Site = tuple[Location, list[tuple[EVSE, list[Connector]]]]


def locations_bulk_create(*, sites: list[Site]) -> int:
    """Create many new Locations with their EVSEs and Connectors in one transaction.

    For imports and demo data, where `location_create` (a few queries per object) is too
    slow. Every object is validated first with the same rules; nothing is written when one
    is invalid or when an id exists already (then a ValidationError names the problem and,
    for a duplicate, some of the stored ids). All objects share one `last_updated`, and each
    Location gets one ChangeRecord (PUT of the Location), exactly as `location_create`
    records it, so partners get the new sites pushed. Returns the number of Locations.
    """
    sites = [(location, list(evses)) for location, evses in sites]
    if not sites:
        return 0
    _validate_sites_for_bulk(sites)
    now = _now()
    try:
        with transaction.atomic():
            locations = [location for location, _ in sites]
            for location in locations:
                location.last_updated = now
            Location.objects.bulk_create(locations, batch_size=_BULK_BATCH)
            all_evses = []
            for location, evses in sites:
                for evse, _ in evses:
                    evse.location = location
                    evse.last_updated = now
                    all_evses.append(evse)
            EVSE.objects.bulk_create(all_evses, batch_size=_BULK_BATCH)
            all_connectors = []
            for _, evses in sites:
                for evse, connectors in evses:
                    for connector in connectors:
                        connector.evse = evse
                        connector.last_updated = now
                        all_connectors.append(connector)
            Connector.objects.bulk_create(all_connectors, batch_size=_BULK_BATCH)
            records = ChangeRecord.objects.bulk_create(
                [
                    ChangeRecord(
                        level=Level.LOCATION,
                        method=Method.PUT,
                        location_id=location.pk,
                        last_updated=now,
                    )
                    for location in locations
                ],
                batch_size=_BULK_BATCH,
            )
            # Wake the push workers after the commit, as record_change does.
            enqueue_fan_out_after_commit(record.pk for record in records)
    except IntegrityError as exc:
        for location, evses in sites:  # the rollback leaves them looking saved
            location.pk = None
            for evse, connectors in evses:
                evse.pk = None
                for connector in connectors:
                    connector.pk = None
        name = _violated_constraint(exc)
        if name is None:
            raise
        message = _constraint_messages()[name]
        raise ValidationError(
            f"Nothing was imported: {message}{_existing_ids_hint(name, sites)}"
        ) from exc
    return len(sites)
