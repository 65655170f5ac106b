"""Bulk import: many new Locations with their EVSEs and Connectors in one transaction, with
the rules of `services.location_create` but without a query per object (imports, demo
data). Bulk inserts send no model signals, so the history records of the audit trail (one
"created" record per object) are written here too, in bulk.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Upper
from simple_history.utils import get_history_manager_for_model

from .changes import Change, Level, Method, record_changes
from .enums import Status
from .locking import current_time as _now
from .models import EVSE, Connector, Location
from .services import _normalise_location, _validate_connectors_of_new_evse

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
    if name == "location_unique_id":
        column, queryset = "id", Location.objects.all()
        wanted = {loc.id.upper() for loc, _ in sites}
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
    location_keys: set[str] = set()
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
            key = location.id.upper()  # unique on the whole platform
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
    Location gets one recorded change (PUT of the Location, `locations.changes`), exactly
    as `location_create` records it, so partners get the new sites pushed. Returns the
    number of Locations.
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
            for model, objects in (
                (Location, locations),
                (EVSE, all_evses),
                (Connector, all_connectors),
            ):
                get_history_manager_for_model(model).bulk_history_create(
                    objects, batch_size=_BULK_BATCH, default_date=now
                )
            record_changes(
                [
                    Change(
                        level=Level.LOCATION,
                        method=Method.PUT,
                        location_row_id=location.pk,
                        last_updated=now,
                    )
                    for location in locations
                ]
            )
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
