"""The OCPI messages of Deliveries: one builder of PUT and PATCH requests, from the current
database state (OCPI 2.2.1, Locations module, "Receiver Interface").

A Delivery only says which object changed and how (PUT, or PATCH of some fields); the body
is built when it is sent, so a late delivery never carries stale data. A PATCH carries the
changed fields and `last_updated` (mandatory in every PATCH); a field that was emptied
cannot be sent in a PATCH (an absent field means "unchanged"), so then the object is PUT
whole (OCPI 2.2.1, Transport and format, "PATCH").

Roaming agreements (`locations.sharing`): the read of the Location says whether the lane's
partner may see it now, so nothing of a Location withdrawn from a partner goes out, even a
Delivery fanned out just before the withdrawal; the one message that does is its retirement,
a PUT of the Location with every EVSE REMOVED (OCPI 2.2.1, Locations module, 8.1 Flow and
Lifecycle: an EVSE is "deleted" by setting its status to REMOVED).
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Prefetch

from locations.enums import Status
from locations.models import EVSE, Connector, Location
from locations.selectors import location_page_children, location_rows
from locations.serializers import (
    connector_data,
    evse_data,
    location_data,
    location_dicts_from_rows,
)
from locations.sharing import visible_to

from .models import ChangeRecord, Delivery

Level = ChangeRecord.Level
Method = ChangeRecord.Method


@dataclass
class Message:
    method: str
    segments: list[str]  # the object's URL path below the receiver's endpoint
    body: dict[str, Any]


@dataclass(frozen=True)
class Skip:
    """No call for this Delivery, and why (written down as its outcome)."""

    reason: str


GONE = Skip("The object is gone; its parent's PUT carries it.")
HIDDEN = Skip("Not shared with this partner any more (roaming agreements).")
SHARED_AGAIN = Skip("Shared with this partner again: a PUT of the Location follows.")


@dataclass
class _State:
    """What was read of one Location: the whole tree, or only what the Deliveries name."""

    location: Location | None
    evses: dict[int, EVSE]
    connectors: dict[int, tuple[Connector, EVSE]] | None  # None: the tree was not read
    visible: bool = True  # the partner may see the Location now (roaming agreements)

    @property
    def tree(self) -> bool:
        return self.connectors is not None


class _NeedsTree(Exception):
    """A PATCH turned into a PUT needs children that were not read."""


def build_messages(location_id: int, deliveries: list[Delivery]) -> dict[int, Message | Skip]:
    """The message of each Delivery (by id) of one Location (all of one partner); a Skip when
    there is nothing to send any more: a Connector deleted since (its EVSE's PUT carries the
    news), a Location its partner may no longer see, a retirement of one shared again.

    One read of the current state: the whole tree (3 queries) when a PUT or a Connector is
    among them, else the EVSEs named (1 query) and/or the Location's columns (1 query); the
    tree is read afterwards only for a PATCH that must become a PUT.
    """
    state = _read(location_id, deliveries, tree=_needs_tree(deliveries))
    out: dict[int, Message | Skip] = {}
    later: list[Delivery] = []
    for delivery in deliveries:
        try:
            out[delivery.pk] = _message(delivery, state)
        except _NeedsTree:
            later.append(delivery)
    if later:
        state = _read(location_id, later, tree=True)
        for delivery in later:
            out[delivery.pk] = _message(delivery, state)
    return out


def build_many(partner_id: int, deliveries: dict[int, list[Delivery]]) -> dict[int, Message | Skip]:
    """`build_messages` for the Deliveries of many Locations of one partner (Location id →
    its Deliveries): the Locations whose Deliveries are all whole-Location PUTs (a full
    sync, a retirement) are read from rows as the Sender's GET list reads a page
    (`locations.selectors.location_rows`, `location_page_children`,
    `locations.serializers.location_dicts_from_rows`), with whether the partner may see
    each: 4 queries for all of them; the others one Location at a time."""
    puts = {
        location_id
        for location_id, items in deliveries.items()
        if all(d.level == Level.LOCATION and d.method == Method.PUT for d in items)
    }
    out: dict[int, Message | Skip] = {}
    if puts:
        rows = list(location_rows().filter(row_id__in=sorted(puts)))
        data = dict(
            zip(
                (row[0] for row in rows),
                location_dicts_from_rows(rows, *location_page_children(rows)),
                strict=True,
            )
        )
        visible = set(
            Location.objects.filter(row_id__in=puts)
            .filter(visible_to(partner_id))
            .values_list("row_id", flat=True)
        )
        for location_id in puts:
            for delivery in deliveries[location_id]:
                out[delivery.pk] = _location_put(
                    delivery, data.get(location_id), location_id in visible
                )
    for location_id, items in deliveries.items():
        if location_id not in puts:
            out.update(build_messages(location_id, items))
    return out


def _needs_tree(deliveries: list[Delivery]) -> bool:
    return any(d.method == Method.PUT or d.level == Level.CONNECTOR for d in deliveries)


def _visible(partner_id: int, path: str = "") -> ExpressionWrapper:
    """The partner may see the Location, as a column of the same read (no query more)."""
    return ExpressionWrapper(visible_to(partner_id, path), output_field=BooleanField())


def _read(location_id: int, deliveries: list[Delivery], *, tree: bool) -> _State:
    partner_id = deliveries[0].partner_id
    if tree:
        return _read_tree(location_id, partner_id)
    evses: dict[int, EVSE] = {}
    visible = True
    evse_ids = [d.evse_id for d in deliveries if d.level == Level.EVSE and d.evse_id is not None]
    if evse_ids:
        rows = (
            EVSE.objects.select_related("location")
            .filter(pk__in=evse_ids)
            .annotate(partner_may_see=_visible(partner_id, "location__"))
        )
        evses = {e.pk: e for e in rows}
        visible = all(getattr(e, "partner_may_see", True) for e in evses.values())
    location: Location | None
    if any(d.level == Level.LOCATION for d in deliveries):
        # A PATCH of Location columns needs no EVSEs.
        location = (
            Location.objects.prefetch_related(Prefetch("evses", queryset=EVSE.objects.none()))
            .filter(pk=location_id)
            .annotate(partner_may_see=_visible(partner_id))
            .first()
        )
        visible = getattr(location, "partner_may_see", visible)
    else:
        location = next(iter(evses.values())).location if evses else None
    return _State(location, evses, None, visible)


def _read_tree(location_id: int, partner_id: int) -> _State:
    location = (
        Location.objects.prefetch_related(
            Prefetch(
                "evses",
                queryset=EVSE.objects.order_by("row_id").prefetch_related(
                    Prefetch("connectors", queryset=Connector.objects.order_by("row_id"))
                ),
            )
        )
        .filter(pk=location_id)
        .annotate(partner_may_see=_visible(partner_id))
        .first()
    )
    if location is None:
        return _State(None, {}, {})
    evses = {evse.pk: evse for evse in location.evses.all()}
    connectors = {c.pk: (c, e) for e in evses.values() for c in e.connectors.all()}
    return _State(location, evses, connectors, location.partner_may_see)


def _retired(data: dict[str, Any]) -> dict[str, Any]:
    """The Location (its JSON) as a partner that may no longer see it keeps it: every EVSE
    REMOVED, as of the withdrawal (the Location's `last_updated`, stamped by it)."""
    for evse in data["evses"]:
        evse["status"] = Status.REMOVED.value
        evse["last_updated"] = data["last_updated"]
    return data


def _location_put(delivery: Delivery, data: dict[str, Any] | None, visible: bool) -> Message | Skip:
    """A whole-Location PUT (or retirement) from the Location's JSON (None: it is gone), by
    the roaming agreements: a retirement only of a Location the partner may not see, a PUT
    only of one it may."""
    if data is None:
        return GONE
    segments = [data["country_code"], data["party_id"], data["id"]]
    if delivery.retire:
        return SHARED_AGAIN if visible else Message(Method.PUT, segments, _retired(data))
    if not visible:
        return HIDDEN
    return Message(Method.PUT, segments, data)


def _message(delivery: Delivery, state: _State) -> Message | Skip:
    location = state.location
    if location is None:
        return GONE
    if delivery.retire:
        return _location_put(delivery, location_data(location), state.visible)
    if not state.visible:
        return HIDDEN
    method, level, fields = delivery.method, delivery.level, delivery.fields
    segments = [location.country_code, location.party_id, location.id]
    evse: EVSE | None = None
    if level == Level.LOCATION:
        data = location_data(location)
    elif level == Level.EVSE:
        evse = state.evses.get(delivery.evse_id or 0)
        if evse is None:
            return GONE
        put = method == Method.PUT
        data = evse_data(evse, connectors=list(evse.connectors.all()) if put else [])
        segments.append(evse.uid)
    else:
        found = (state.connectors or {}).get(delivery.connector_id or 0)
        if found is None:  # deleted since: its EVSE's PUT carries the news
            return GONE
        connector, evse = found
        data = connector_data(connector)
        segments += [evse.uid, connector.id]
    if method == Method.PATCH:
        if all(name in data for name in fields):
            body = {name: data[name] for name in fields}
            body["last_updated"] = data["last_updated"]
            return Message(Method.PATCH, segments, body)
        # An emptied field cannot be PATCHed: the object goes whole, with its children.
        if level != Level.CONNECTOR and not state.tree:
            raise _NeedsTree
        if level == Level.EVSE and evse is not None:
            data = evse_data(evse, connectors=list(evse.connectors.all()))
    return Message(Method.PUT, segments, data)
