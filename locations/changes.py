"""The domain's change journal: every change of a Location, EVSE or Connector, told to the
apps that listen, inside the transaction of the change.

`locations.services` calls `record_change` (or `record_changes`, or `record_change_set` for
the same change of many rows) in the transaction of every change; a listener (the push
outbox, `pushers.outbox`, registered by the pushers app when it is ready) writes what it
needs in that same transaction, so a change is recorded exactly when it commits. The
domain names the lowest level that changed and the OCPI message that level needs (OCPI
2.2.1, Locations module, "Receiver Interface": PUT of a new or replaced object, PATCH of
some fields); it does not know who listens.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
from django.db.models import QuerySet


class Level(models.TextChoices):
    LOCATION = "location"
    EVSE = "evse"
    CONNECTOR = "connector"


class Method(models.TextChoices):
    PUT = "PUT"
    PATCH = "PATCH"


@dataclass(frozen=True)
class Change:
    """One committed change: internal row ids of the changed object and its parents."""

    level: str
    method: str
    location_row_id: int
    last_updated: datetime
    evse_row_id: int | None = None
    connector_row_id: int | None = None
    fields: list[str] = field(default_factory=list)  # the OCPI fields a PATCH carries
    # A change of the Location's roaming agreements (`locations.sharing`), not of its data:
    # the partners that may see it since this change, and those that may no longer.
    shared_with: tuple[int, ...] = ()
    withdrawn_from: tuple[int, ...] = ()


@dataclass(frozen=True)
class ChangeSet:
    """The same change of many objects of one level (a bulk action: "Set status", publish):
    the changed rows as a query, so that a listener writes its rows for all of them with one
    statement (`INSERT … SELECT`), whatever their number, instead of one `Change` each.

    `rows`: a QuerySet of the changed Locations (level LOCATION) or EVSEs (level EVSE); each
    one stands for a `Change` of this level, method, fields and `last_updated`.
    """

    level: str
    method: str
    last_updated: datetime
    rows: QuerySet
    fields: list[str] = field(default_factory=list)


Listener = Callable[[Sequence[Change]], None]
SetListener = Callable[[ChangeSet], None]
_listeners: list[Listener] = []
_set_listeners: list[SetListener] = []


def register_change_listener(listener: Listener, set_listener: SetListener) -> None:
    """`listener` is told each batch of `Change`s, `set_listener` each `ChangeSet`: the same
    changes, told as rows."""
    if listener not in _listeners:
        _listeners.append(listener)
    if set_listener not in _set_listeners:
        _set_listeners.append(set_listener)


def record_change_set(change_set: ChangeSet) -> None:
    """Tell every listener; must run inside the transaction of the changes, after them."""
    for listener in _set_listeners:
        listener(change_set)


def record_changes(changes: Sequence[Change]) -> None:
    """Tell every listener; must run inside the transaction of the changes."""
    if changes:
        for listener in _listeners:
            listener(changes)


def record_change(
    *,
    level: str,
    method: str,
    location_row_id: int,
    last_updated: datetime,
    evse_row_id: int | None = None,
    connector_row_id: int | None = None,
    fields: list[str] | None = None,
) -> None:
    record_changes(
        [
            Change(
                level=level,
                method=method,
                location_row_id=location_row_id,
                last_updated=last_updated,
                evse_row_id=evse_row_id,
                connector_row_id=connector_row_id,
                fields=list(fields or []),
            )
        ]
    )
