"""Import of OCPI 2.2.1 Locations JSON, or of the CSV of `locations.csv_columns`
(`manage.py ocpi_import`, the admin's Import… page).

The input is what a Sender serves (OCPI 2.2.1, Locations module, 8.2.1 Sender Interface,
GET List): a JSON list of Location objects, or the OCPI envelope around it
(`{"data": [...], "status_code": 1000, ...}`; OCPI 2.2.1, Transport and format, Response
format). Each Location is created or brought up to date through `locations.services`, so
every change is validated like an admin edit, stamped, recorded in the push outbox and
pushed to partners.

An imported Location replaces the stored one, like a PUT of the Location (OCPI 2.2.1,
Locations module, 8.2.2 Receiver Interface, PUT Method): fields left out of the file are
cleared, connectors left out are deleted, and EVSEs left out get status REMOVED (EVSEs are
never deleted: 8.1 Flow and Lifecycle). `last_updated` of the file is not taken over: the
services stamp each real change with the time it is saved, so that partners see it as new.

The checks without the database are `locations.import_checks`; reading the input is
`locations.import_files` (JSON) and `locations.import_csv` (CSV).

Each Location is all or nothing: its own transaction. A refused Location (bad value,
unknown party, duplicate id in the file, a rule of the services) is reported with the
object and the field and nothing of it is saved; the others go on. A dry run does exactly
the same work and rolls every Location's transaction back, so what it reports is what a
real run would do.

Memory does not grow with the file: the file is read twice, streamed with ijson (once to
check that it is JSON at all, count the Locations and find duplicate ids, keeping only the
ids; then once more to import BATCH Locations at a time). A URL is first downloaded to a
temporary file (streamed, with a size cap and a deadline).

Speed: the new Locations of a batch are first created together (`bulk.locations_bulk_create`,
the same rules as `location_create` without queries per object); only when that is refused
is each written alone, so that the refused one is found and named and the others are saved.
Updates are always written one Location at a time through the services.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Upper

from versions.parties import our_parties_text
from versions.schema_validation import SchemaError

from . import selectors, services
from .bulk import locations_bulk_create
from .enums import Status
from .import_checks import check_location, is_our_party, tidy
from .import_csv import Unreadable, read_csv_locations, scan_csv
from .import_files import location_key, read_locations, scan
from .models import (
    CONNECTOR_COLUMNS,
    EVSE,
    EVSE_COLUMNS,
    LOCATION_COLUMNS,
    Connector,
    Location,
)
from .serializers import location_dicts_from_rows

# Locations read and checked together; new ones among them are created together.
BATCH = 100


def _instance(model: Any, columns: tuple[str, ...], data: dict) -> Any:
    """A model instance with the file's values; members left out (or null) get the empty
    value of their column, as a PUT would leave them."""
    return model(**{name: data[name] for name in columns if data.get(name) is not None})


# --- Importing -----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What happened (or would happen, in a dry run) to one Location of the input."""

    position: int  # 1-based place in the input
    key: str  # COUNTRY*PARTY*ID, or "#position" when the object has no readable id
    action: str  # created / updated / unchanged / refused
    changes: list[str] = field(default_factory=list)
    message: str = ""

    def describe(self) -> str:
        if self.action == "refused":
            return f"refused    {self.key}: {self.message}"
        if self.action == "updated":
            return f"updated    {self.key}: {'; '.join(self.changes)}"
        if self.action == "created":
            return f"created    {self.key} ({self.message})"
        return f"unchanged  {self.key}"


class _Refused(Exception):
    pass


def _flat(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(messages)}" if name != "__all__" else " ".join(messages)
            for name, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


def _in(where: str, call: Callable[[], Any]) -> Any:
    """Run a service call; a refusal names the object it was about."""
    try:
        return call()
    except ValidationError as exc:
        raise _Refused(f"{where}: {_flat(exc)}" if where else _flat(exc)) from exc


def _duplicate_message(key: str, duplicates: dict[str, int]) -> str:
    return (
        f"id: this Location occurs {duplicates[key]} times in the file; none of them is imported."
    )


def _checked(data: Any, position: int, duplicates: dict[str, int]) -> tuple[Outcome, Any]:
    """The checks that need no database: duplicates in the file, the spec's schema, our
    party. Returns the outcome so far (action "refused" when one failed) and the data."""
    if isinstance(data, Unreadable):  # a CSV Location whose rows could not be read
        refused = Outcome(position, data.key, "refused", message=data.message)
        if data.key in duplicates:
            refused.message = _duplicate_message(data.key, duplicates)
        return refused, None
    if isinstance(data, dict) and all(
        isinstance(data.get(name), str) for name in ("country_code", "party_id", "id")
    ):
        key = location_key(data["country_code"], data["party_id"], data["id"])
    else:
        key = f"#{position}"
    outcome = Outcome(position, key, "checked")
    data = tidy(data)
    try:
        if key in duplicates:
            raise _Refused(_duplicate_message(key, duplicates))
        try:
            check_location(data, "")
        except SchemaError as exc:
            raise _Refused(str(exc)) from exc
        if not is_our_party(data["country_code"], data["party_id"]):
            ours = our_parties_text()
            raise _Refused(
                f"country_code/party_id: {data['country_code']}*{data['party_id']} is not "
                f"a party of this platform ({ours}); nothing of it is imported."
            )
    except _Refused as exc:
        outcome.action, outcome.message = "refused", str(exc)
    return outcome, data


def _write(outcome: Outcome, data: dict, *, dry_run: bool) -> Outcome:
    """Create or update one checked Location (with its EVSEs and Connectors) in its own
    transaction; rolled back in a dry run."""
    try:
        with transaction.atomic():
            outcome.action, outcome.changes, outcome.message = _apply(data)
            if dry_run:
                transaction.set_rollback(True)
    except _Refused as exc:
        outcome.action, outcome.message = "refused", str(exc)
    except IntegrityError as exc:  # a race with another writer; the rules above missed it
        outcome.action, outcome.message = "refused", f"the database refused it: {exc}"
    return outcome


def _stored_documents(checked: list[tuple[Outcome, dict]]) -> dict[str, dict]:
    """The stored ones of these Locations as the Sender renders them, by key (three
    queries: `selectors.location_rows` and `location_page_children`)."""
    ids = {data["id"].upper() for _, data in checked}
    rows = list(selectors.location_rows().alias(uid=Upper("id")).filter(uid__in=ids))
    evse_rows, connector_rows = selectors.location_page_children(rows)
    documents = location_dicts_from_rows(rows, evse_rows, connector_rows)
    return {location_key(d["country_code"], d["party_id"], d["id"]): d for d in documents}


def _without_stamps(value: Any) -> Any:
    """A Location document without its `last_updated` members (at every level)."""
    if isinstance(value, dict):
        return {k: _without_stamps(v) for k, v in value.items() if k != "last_updated"}
    if isinstance(value, list):
        return [_without_stamps(v) for v in value]
    return value


def _sites(data: dict) -> list[tuple[EVSE, list[Connector]]]:
    return [
        (
            _instance(EVSE, EVSE_COLUMNS, evse),
            [_instance(Connector, CONNECTOR_COLUMNS, c) for c in evse["connectors"]],
        )
        for evse in data["evses"]
    ]


def _create_together(new: list[tuple[Outcome, dict]], *, dry_run: bool) -> bool:
    """Create new Locations in one transaction with `bulk.locations_bulk_create` (the rules of
    `location_create`, one PUT recorded per Location, a few queries for the whole batch).
    False when any of them is refused: nothing is saved, and the caller takes them one by
    one to find which."""
    sites = [(_instance(Location, LOCATION_COLUMNS, data), _sites(data)) for _, data in new]
    try:
        with transaction.atomic():
            locations_bulk_create(sites=sites)
            if dry_run:
                transaction.set_rollback(True)
    except (ValidationError, IntegrityError):
        return False
    for (outcome, _), (_, evses) in zip(new, sites, strict=True):
        count = sum(len(c) for _, c in evses)
        outcome.action, outcome.message = "created", f"{len(evses)} EVSEs, {count} connectors"
    return True


def import_batch(
    batch: list[tuple[int, Any]], *, duplicates: dict[str, int], dry_run: bool
) -> list[Outcome]:
    """Import a few Locations (position, data); their outcomes in the order of the input.

    Each Location is still all or nothing: the new ones are first tried together (fast),
    and if that is refused, each is written in its own transaction like the updates."""
    outcomes = []
    checked = []
    for position, data in batch:
        outcome, data = _checked(data, position, duplicates)
        outcomes.append(outcome)
        if outcome.action != "refused":
            checked.append((outcome, data))
    if checked:
        stored = _stored_documents(checked)
        new = [(o, d) for o, d in checked if o.key not in stored]
        if len(new) > 1 and _create_together(new, dry_run=dry_run):
            checked = [(o, d) for o, d in checked if o.key in stored]
        for outcome, data in checked:
            # What we serve already, value for value: nothing to write (the common case of
            # a re-import, without a dozen validating queries per Location). Anything else
            # goes through the services, which decide what changed.
            document = stored.get(outcome.key)
            if document is not None and _without_stamps(document) == _without_stamps(data):
                outcome.action = "unchanged"
                continue
            _write(outcome, data, dry_run=dry_run)
    return outcomes


def _stored_location(data: dict) -> Location | None:
    return (
        Location.objects.alias(cc=Upper("country_code"), pid=Upper("party_id"), uid=Upper("id"))
        .filter(
            cc=data["country_code"].upper(),
            pid=data["party_id"].upper(),
            uid=data["id"].upper(),
        )
        .first()
    )


def _as_stored(instance: Any, pk: int) -> None:
    """Make a built instance stand for the stored row `pk` (so that its validation does
    not take the row itself for a duplicate)."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = "default"


def _name_the_refused_child(sites: list[tuple[EVSE, list[Connector]]]) -> None:
    """Check the EVSEs and Connectors of a refused new Location one by one, so that the
    refusal names the EVSE (location_create says only what was wrong)."""
    for evse, connectors in sites:
        where = f"EVSE {evse.uid!r}"
        _in(where, partial(evse.full_clean, exclude=["last_updated", "location"]))
        for connector in connectors:
            _in(
                f"{where}, connector {connector.id!r}",
                partial(connector.full_clean, exclude=["last_updated", "evse"]),
            )


def _apply(data: dict) -> tuple[str, list[str], str]:
    location = _instance(Location, LOCATION_COLUMNS, data)
    sites = _sites(data)
    stored = _stored_location(data)
    if stored is None:
        try:
            services.location_create(location=location, evses=sites)
        except ValidationError as exc:
            _name_the_refused_child(_sites(data))  # raises _Refused naming the object
            raise _Refused(_flat(exc)) from exc
        count = sum(len(c) for _, c in sites)
        return "created", [], f"{len(sites)} EVSEs, {count} connectors"

    changes: list[str] = []
    _as_stored(location, stored.pk)
    changed = _in("", lambda: services.location_update(location=location))
    if changed:
        changes.append(", ".join(changed))
    stored_evses = {evse.uid.upper(): evse for evse in stored.evses.prefetch_related("connectors")}
    for evse, connectors in sites:
        changes += _apply_evse(stored, stored_evses.pop(evse.uid.upper(), None), evse, connectors)
    for old in stored_evses.values():  # left out of the file: removed, never deleted
        if old.status != Status.REMOVED:
            _in(f"EVSE {old.uid!r}", partial(services.evse_remove, evse=old))
            changes.append(f"EVSE {old.uid!r} removed (status REMOVED)")
    return ("updated", changes, "") if changes else ("unchanged", [], "")


def _apply_evse(
    stored: Location, old: EVSE | None, evse: EVSE, connectors: list[Connector]
) -> list[str]:
    where = f"EVSE {evse.uid!r}"
    evse.location_id = stored.pk
    if old is None:
        _in(where, lambda: services.evse_create(evse=evse, connectors=connectors))
        return [f"{where} added"]
    changes = []
    _as_stored(evse, old.pk)
    changed = _in(where, lambda: services.evse_update(evse=evse))
    if changed:
        changes.append(f"{where}: {', '.join(changed)}")
    old_connectors = {c.id.upper(): c for c in old.connectors.all()}
    for connector in connectors:
        there = f"{where}, connector {connector.id!r}"
        connector.evse_id = old.pk
        previous = old_connectors.pop(connector.id.upper(), None)
        if previous is None:
            _in(there, partial(services.connector_create, connector=connector))
            changes.append(f"{there} added")
            continue
        _as_stored(connector, previous.pk)
        changed = _in(there, partial(services.connector_update, connector=connector))
        if changed:
            changes.append(f"{there}: {', '.join(changed)}")
    for previous in old_connectors.values():  # after the additions: an EVSE keeps one
        there = f"{where}, connector {previous.id!r}"
        _in(there, partial(services.connector_delete, connector=previous))
        changes.append(f"{there} deleted")
    return changes


@dataclass
class Totals:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.action, getattr(self, outcome.action) + 1)


def import_stream(
    stream: IO[bytes],
    *,
    dry_run: bool = False,
    on_outcome: Callable[[Outcome], None] = lambda outcome: None,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
    batch_size: int = BATCH,
    format: str = "json",
) -> Totals:
    """Import every Location of a seekable binary stream (OCPI JSON, or the CSV of
    `locations.csv_columns` with format="csv"); returns the counts.

    Raises ImportFileError (before anything is saved) when the input is not JSON, not a
    list of Locations nor an envelope, or an envelope of a failure (CSV: not CSV, or not
    our columns)."""
    found = scan_csv(stream) if format == "csv" else scan(stream)
    locations = (
        read_csv_locations(stream) if format == "csv" else read_locations(stream, found.prefix)
    )
    totals = Totals()
    batch: list[tuple[int, Any]] = []

    def flush() -> None:
        for outcome in import_batch(batch, duplicates=found.duplicates, dry_run=dry_run):
            totals.add(outcome)
            on_outcome(outcome)
        on_progress(batch[-1][0], found.count)
        batch.clear()

    for position, data in enumerate(locations, start=1):
        batch.append((position, data))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return totals
