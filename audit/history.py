"""Reading the audit trail: the changes shown on an object's History page, and what changed
since a given version (the message of a refused stale form, `locations.concurrency`).

A history record is a copy of the object after a change; the old → new values of a change
are the differences between a record and the one before it of the same object.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Max, Model, Q
from simple_history.exceptions import NotHistoricalModelError
from simple_history.utils import get_history_model_for_model

from locations.concurrency import ChangedMeanwhile
from locations.models import EVSE, Connector, Location
from partners.models import Partner

# Changes shown on a History page, newest first.
HISTORY_LIMIT = 200
# Longer values are cut in the table and in messages.
VALUE_MAX_CHARS = 120

_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass
class Entry:
    """One row of a History page."""

    when: datetime
    what: str
    action: str
    who: str
    via: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    earlier_unknown: bool = False  # a change whose record before is missing (pre-audit data)
    model: type[Model] | None = None  # the object's model and primary key (for a link)
    pk: Any = None
    evse_pk: Any = None  # a Connector's EVSE


def show(value: Any) -> str:
    """A value as the operator reads it in a change ("—" for none)."""
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    if text == "":
        return '""'
    return text if len(text) <= VALUE_MAX_CHARS else text[: VALUE_MAX_CHARS - 1] + "…"


def _who(record) -> tuple[str, str]:
    """(who, via): the user and the source, or the source alone when there was no user
    ("" when nothing told who: a change outside any request, command or task)."""
    if record.history_user_id is not None and record.history_user is not None:
        return record.history_user.get_username(), record.history_source
    return record.history_source, ""


def _diff(record, before) -> list[tuple[str, str, str]]:
    delta = record.diff_against(before)
    return [(change.field, show(change.old), show(change.new)) for change in delta.changes]


def _label(model: type[Model], record, evse_labels: dict[int, str]) -> str:
    if model is Location:
        return f"Location {record.id}"
    if model is EVSE:
        return f"EVSE {record.evse_id or record.uid}"
    if model is Connector:
        return f"Connector {record.id} of {evse_labels.get(record.evse_id, 'an EVSE')}"
    if model is Partner:
        return f"Partner {record.name}"
    return f"{str(model._meta.verbose_name).capitalize()} {record.history_object}"


def _sources(obj: Model) -> list[tuple[type[Model], Q]]:
    """The history shown on `obj`'s page: its own, and that of the objects under it."""
    if isinstance(obj, Location):
        return [
            (Location, Q(row_id=obj.pk)),
            (EVSE, Q(location_id=obj.pk)),
            (Connector, Q(evse_id__in=EVSE.objects.filter(location_id=obj.pk).values("pk"))),
        ]
    if isinstance(obj, EVSE):
        return [(EVSE, Q(row_id=obj.pk)), (Connector, Q(evse_id=obj.pk))]
    if isinstance(obj, (Connector, Partner)):
        return [(type(obj), Q(**{type(obj)._meta.pk.attname: obj.pk}))]
    return []


def _evse_labels(connector_records) -> dict[int, str]:
    evses = EVSE.objects.filter(pk__in={record.evse_id for record in connector_records})
    return {
        pk: f"EVSE {evse_id or uid}"
        for pk, evse_id, uid in evses.values_list("pk", "evse_id", "uid")
    }


def _entries_of(model: type[Model], where: Q, limit: int = HISTORY_LIMIT) -> list[Entry]:
    """The newest `limit` records of `model` matching `where`, each compared with the
    record before it of the same object. At most four queries whatever the number of
    records."""
    history = get_history_model_for_model(model)
    pk_name = model._meta.pk.attname
    newest = list(
        history.objects.filter(where).select_related("history_user").order_by("-history_id")[:limit]
    )
    if not newest:
        return []
    records = newest[::-1]
    # Every record of these objects from the oldest one shown on is in `records`; the one
    # before an object's first record shown is older than all of them.
    cutoff = records[0].history_id
    previous: dict[Any, Any] = {}
    firsts: dict[Any, Any] = {}
    for record in records:
        firsts.setdefault(getattr(record, pk_name), record)
    wanted = [pk for pk, record in firsts.items() if record.history_type != "+"]
    if wanted:
        ids = (
            history.objects.filter(**{f"{pk_name}__in": wanted}, history_id__lt=cutoff)
            .values(pk_name)
            .annotate(last=Max("history_id"))
            .values_list("last", flat=True)
        )
        for record in history.objects.filter(history_id__in=list(ids)):
            previous[getattr(record, pk_name)] = record
    evse_labels = _evse_labels(records) if model is Connector else {}
    entries = []
    for record in records:
        key = getattr(record, pk_name)
        before = previous.get(key)
        previous[key] = record
        who, via = _who(record)
        entry = Entry(
            when=record.history_date,
            what=_label(model, record, evse_labels),
            action=_ACTIONS.get(record.history_type, record.history_type),
            who=who,
            via=via,
            model=model,
            pk=key,
            evse_pk=record.evse_id if model is Connector else None,
        )
        if record.history_type == "~":
            if before is None:
                entry.earlier_unknown = True
            else:
                entry.changes = _diff(record, before)
        entries.append(entry)
    return entries


def entries_for(obj: Model) -> tuple[list[Entry], bool]:
    """The changes of `obj` (and of the objects under it), newest first, and whether older
    ones were left out."""
    entries = [entry for model, where in _sources(obj) for entry in _entries_of(model, where)]
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries[:HISTORY_LIMIT], len(entries) > HISTORY_LIMIT


def recent_entries(limit: int = 10) -> list[Entry]:
    """The newest `limit` changes of all Locations, EVSEs and Connectors, newest first (the
    dashboard's "Recent changes"): at most twelve queries, each reading the newest records
    of a history table by its primary key, whatever the size of the tables."""
    entries = [
        entry for model in (Location, EVSE, Connector) for entry in _entries_of(model, Q(), limit)
    ]
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries[:limit]


def changed_since(stored: Model, seen_version: int) -> ChangedMeanwhile | None:
    """Who changed `stored` after `seen_version`, when, and each field's value then and now
    (the describer of `locations.concurrency`). None for a model without history."""
    try:
        history = get_history_model_for_model(type(stored))
    except NotHistoricalModelError:
        return None
    records = list(
        history.objects.filter(
            **{type(stored)._meta.pk.attname: stored.pk}, version__gte=seen_version
        )
        .select_related("history_user")
        .order_by("history_id")
    )
    seen = [record for record in records if record.version == seen_version]
    later = records[records.index(seen[-1]) + 1 :] if seen else records
    if not later:
        return None
    whos = []
    for record in later:
        who, _ = _who(record)
        if who and who not in whos:
            whos.append(who)
    return ChangedMeanwhile(
        who=", ".join(whos),
        when=later[-1].history_date,
        changes=_diff(later[-1], seen[-1]) if seen else [],
    )
