"""The OCPI messages of Deliveries: one builder of PUT and PATCH requests, from the current
database state (OCPI 2.2.1, Locations module, "Receiver Interface").

A Delivery only says which object changed and how (PUT, or PATCH of some fields); the body
is built when it is sent, so a late delivery never carries stale data. A PATCH carries the
changed fields and `last_updated` (mandatory in every PATCH); a field that was emptied
cannot be sent in a PATCH (an absent field means "unchanged"), so then the object is PUT
whole (OCPI 2.2.1, Transport and format, "PATCH").
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch

from locations.models import EVSE, Connector, Location
from locations.serializers import connector_data, evse_data, location_data

from .models import ChangeRecord, Delivery

Level = ChangeRecord.Level
Method = ChangeRecord.Method


@dataclass
class Message:
    method: str
    segments: list[str]  # the object's URL path below the receiver's endpoint
    body: dict[str, Any]


@dataclass
class _State:
    """What was read of one Location: the whole tree, or only what the Deliveries name."""

    location: Location | None
    evses: dict[int, EVSE]
    connectors: dict[int, tuple[Connector, EVSE]] | None  # None: the tree was not read

    @property
    def tree(self) -> bool:
        return self.connectors is not None


class _NeedsTree(Exception):
    """A PATCH turned into a PUT needs children that were not read."""


def build_messages(location_id: int, deliveries: list[Delivery]) -> dict[int, Message | None]:
    """The message of each Delivery (by id) of one Location; None when there is nothing to
    send any more (a Connector deleted since: its EVSE's PUT carries the news).

    One read of the current state: the whole tree (3 queries) when a PUT or a Connector is
    among them, else the EVSEs named (1 query) and/or the Location's columns (1 query); the
    tree is read afterwards only for a PATCH that must become a PUT.
    """
    state = _read(location_id, deliveries, tree=_needs_tree(deliveries))
    out: dict[int, Message | None] = {}
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


def _needs_tree(deliveries: list[Delivery]) -> bool:
    return any(d.method == Method.PUT or d.level == Level.CONNECTOR for d in deliveries)


def _read(location_id: int, deliveries: list[Delivery], *, tree: bool) -> _State:
    if tree:
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
            .first()
        )
        if location is None:
            return _State(None, {}, {})
        evses = {evse.pk: evse for evse in location.evses.all()}
        connectors = {c.pk: (c, e) for e in evses.values() for c in e.connectors.all()}
        return _State(location, evses, connectors)
    evses = {}
    evse_ids = [d.evse_id for d in deliveries if d.level == Level.EVSE and d.evse_id is not None]
    if evse_ids:
        evses = {e.pk: e for e in EVSE.objects.select_related("location").filter(pk__in=evse_ids)}
    if any(d.level == Level.LOCATION for d in deliveries):
        # A PATCH of Location columns needs no EVSEs.
        location = (
            Location.objects.prefetch_related(Prefetch("evses", queryset=EVSE.objects.none()))
            .filter(pk=location_id)
            .first()
        )
    else:
        location = next(iter(evses.values())).location if evses else None
    return _State(location, evses, None)


def _message(delivery: Delivery, state: _State) -> Message | None:
    location = state.location
    if location is None:
        return None
    method, level, fields = delivery.method, delivery.level, delivery.fields
    segments = [location.country_code, location.party_id, location.id]
    evse: EVSE | None = None
    if level == Level.LOCATION:
        data = location_data(location)
    elif level == Level.EVSE:
        evse = state.evses.get(delivery.evse_id or 0)
        if evse is None:
            return None
        put = method == Method.PUT
        data = evse_data(evse, connectors=list(evse.connectors.all()) if put else [])
        segments.append(evse.uid)
    else:
        found = (state.connectors or {}).get(delivery.connector_id or 0)
        if found is None:  # deleted since: its EVSE's PUT carries the news
            return None
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
