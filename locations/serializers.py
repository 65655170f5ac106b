"""Location, EVSE and Connector as OCPI JSON objects (OCPI 2.2.1, Locations module,
8.3 Object description).

Plain functions that build dicts directly: DRF serializers cost too much for a full pull of
tens of thousands of Locations. The dicts hold `datetime` objects for `last_updated`;
`versions.envelope.dumps` renders them as OCPI DateTimes with `Z`.

Omission rules (one rule for every object, so receivers see one shape):
- Required fields (card. `1` and `+`) are always present.
- Optional scalars (card. `?`) are left out when they have no value: `""` for text columns,
  `None` for nullable columns. OCPI has no `null` for "no value" in a Sender response.
- Optional lists (card. `*`) are left out when empty, with one exception: a Location always
  carries `evses`, `[]` when it has none. The EVSE tree is what a pulling receiver
  synchronises on, and an explicit empty list says "this Location has no EVSEs" where an
  absent field could be read as "not sent".
- Sub-objects (GeoLocation, Hours, BusinessDetails, ...) are rendered as stored (the JSON
  columns were validated against the spec's classes on write), except that members stored
  as `null` are left out: the validators accept `null` for an optional member, and a
  Sender response carries no `null`s.
- Field order is the spec's order (LOCATION_FIELDS / EVSE_FIELDS / CONNECTOR_FIELDS).

Two ways in, one output:
- `location_data`, `evse_data`, `connector_data` take model instances (single objects, the
  push engine);
- `location_dicts_from_rows` takes the plain rows of `selectors.location_rows` and
  `selectors.location_page_children` (the GET list): no model instances, JSON columns
  decoded from their text with orjson, nulls stripped only from JSON texts that contain
  `null`, and each distinct DateTime of the page formatted once. It renders exactly what
  `location_data` renders (tests/locations/test_api.py compares the two).
"""

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from versions.datetimes import format_ocpi_datetime

from .models import EVSE, Connector, Location


def _without_nulls(value: Any) -> Any:
    """A stored sub-object without its `null` members, at any depth."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _put_object_if(target: dict[str, Any], name: str, value: Any) -> None:
    """Set `name` to a stored sub-object (or list of them) unless it is empty."""
    if value:
        target[name] = _without_nulls(value)


def _put_if(target: dict[str, Any], name: str, value: Any) -> None:
    """Set `name` unless `value` is empty: "" / None for scalars, [] for lists."""
    if value is not None and value != "" and value != []:
        target[name] = value


def connector_data(connector: Connector) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": connector.id,
        "standard": connector.standard,
        "format": connector.format,
        "power_type": connector.power_type,
        "max_voltage": connector.max_voltage,
        "max_amperage": connector.max_amperage,
    }
    _put_if(data, "max_electric_power", connector.max_electric_power)
    _put_if(data, "tariff_ids", connector.tariff_ids)
    _put_if(data, "terms_and_conditions", connector.terms_and_conditions)
    data["last_updated"] = connector.last_updated
    return data


def evse_data(evse: EVSE, connectors: Iterable[Connector] | None = None) -> dict[str, Any]:
    """The EVSE with its Connectors; pass `connectors` or prefetch `connectors`."""
    if connectors is None:
        connectors = evse.connectors.all()
    data: dict[str, Any] = {"uid": evse.uid}
    _put_if(data, "evse_id", evse.evse_id)
    data["status"] = evse.status
    _put_object_if(data, "status_schedule", evse.status_schedule)
    _put_if(data, "capabilities", evse.capabilities)
    data["connectors"] = [connector_data(c) for c in connectors]
    _put_if(data, "floor_level", evse.floor_level)
    _put_object_if(data, "coordinates", evse.coordinates)
    _put_if(data, "physical_reference", evse.physical_reference)
    _put_object_if(data, "directions", evse.directions)
    _put_if(data, "parking_restrictions", evse.parking_restrictions)
    _put_object_if(data, "images", evse.images)
    data["last_updated"] = evse.last_updated
    return data


def location_data(location: Location) -> dict[str, Any]:
    """The whole Location tree; expects `evses__connectors` prefetched (see selectors)."""
    data: dict[str, Any] = {
        "country_code": location.country_code,
        "party_id": location.party_id,
        "id": location.id,
        "publish": location.publish,
    }
    _put_object_if(data, "publish_allowed_to", location.publish_allowed_to)
    _put_if(data, "name", location.name)
    data["address"] = location.address
    data["city"] = location.city
    _put_if(data, "postal_code", location.postal_code)
    _put_if(data, "state", location.state)
    data["country"] = location.country
    data["coordinates"] = _without_nulls(location.coordinates)
    _put_object_if(data, "related_locations", location.related_locations)
    _put_if(data, "parking_type", location.parking_type)
    data["evses"] = [evse_data(evse) for evse in location.evses.all()]
    _put_object_if(data, "directions", location.directions)
    _put_object_if(data, "operator", location.operator)
    _put_object_if(data, "suboperator", location.suboperator)
    _put_object_if(data, "owner", location.owner)
    _put_if(data, "facilities", location.facilities)
    data["time_zone"] = location.time_zone
    _put_object_if(data, "opening_times", location.opening_times)
    _put_if(data, "charging_when_closed", location.charging_when_closed)
    _put_object_if(data, "images", location.images)
    _put_object_if(data, "energy_mix", location.energy_mix)
    data["last_updated"] = location.last_updated
    return data


def locations_data(locations: Iterable[Location]) -> list[dict[str, Any]]:
    return [location_data(location) for location in locations]


# --- The GET list: from plain rows -------------------------------------------------------


def _load_json(text: str | None) -> Any:
    """A JSON column's text as Python, as JSONField.from_db_value would give it, but with
    orjson. The standard library takes over for what orjson refuses (NaN / Infinity, which
    `json` writes and reads), and text that is no JSON at all is returned as it is."""
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text


_MISSING = object()


def _stored_object(text: str | None) -> Any:
    """A stored sub-object from its text, without its `null` members; the walk is skipped
    when the text has no `null` anywhere."""
    value = _load_json(text)
    if value and text and "null" in text:
        return _without_nulls(value)
    return value


_PutStored = Callable[[dict[str, Any], str, str | None], None]


def _stored_putters() -> tuple[_PutStored, _PutStored]:
    """(`put_list`, `put_object`): `_put_if` / `_put_object_if` for JSON column texts.

    Each distinct text is decoded (and stripped of nulls) once per page: pages repeat the
    same capabilities, opening times, images, ... The decoded values are shared between
    the dicts of the page, which are only ever dumped, never changed.
    """
    lists: dict[str, Any] = {}
    objects: dict[str, Any] = {}

    def put_list(target: dict[str, Any], name: str, text: str | None) -> None:
        if text is None:
            return
        value = lists.get(text, _MISSING)
        if value is _MISSING:
            value = _load_json(text)
            if value == "" or value == []:
                value = None  # left out, as by `_put_if`
            lists[text] = value
        if value is not None:
            target[name] = value

    def put_object(target: dict[str, Any], name: str, text: str | None) -> None:
        if text is None:
            return
        value = objects.get(text, _MISSING)
        if value is _MISSING:
            value = _load_json(text)
            if not value:
                value = None  # left out, as by `_put_object_if`
            elif "null" in text:
                value = _without_nulls(value)
            objects[text] = value
        if value is not None:
            target[name] = value

    return put_list, put_object


def _datetime_formatter() -> Callable[[datetime | str], str]:
    """format_ocpi_datetime, computed once per distinct value (a page shares many).

    Takes a datetime, or naive UTC ISO text as `selectors._UtcText` reads it.
    """
    formatted: dict[datetime | str, str] = {}

    def format_once(value: datetime | str) -> str:
        text = formatted.get(value)
        if text is None:
            if isinstance(value, str):
                text = format_ocpi_datetime(datetime.fromisoformat(value).replace(tzinfo=UTC))
            else:
                text = format_ocpi_datetime(value)
            formatted[value] = text
        return text

    return format_once


def location_dicts_from_rows(
    location_rows: Sequence[tuple],
    evse_rows: Sequence[tuple],
    connector_rows: Sequence[tuple],
) -> list[dict[str, Any]]:
    """Whole Locations from the rows of `selectors.location_rows` (LOCATION_ROW) and
    `selectors.location_page_children` (EVSE_ROW, CONNECTOR_ROW), in the order given.

    The same dicts as `location_data` on the same objects, except that DateTimes are
    already OCPI DateTime strings (what `versions.envelope.dumps` would make of them).
    """
    fmt = _datetime_formatter()
    put = _put_if
    put_list, put_object = _stored_putters()

    connectors_of: dict[int, list[dict[str, Any]]] = {}
    for (evse_row_id, cid, standard, plug_format, power_type, volts, amps, power, tariffs, terms,
         updated) in connector_rows:  # fmt: skip
        connector: dict[str, Any] = {
            "id": cid,
            "standard": standard,
            "format": plug_format,
            "power_type": power_type,
            "max_voltage": volts,
            "max_amperage": amps,
        }
        put(connector, "max_electric_power", power)
        put_list(connector, "tariff_ids", tariffs)
        put(connector, "terms_and_conditions", terms)
        connector["last_updated"] = fmt(updated)
        connectors = connectors_of.get(evse_row_id)
        if connectors is None:
            connectors_of[evse_row_id] = [connector]
        else:
            connectors.append(connector)

    evses_of: dict[int, list[dict[str, Any]]] = {}
    for (evse_row_id, location_row_id, uid, evse_id, status, schedule, capabilities, floor,
         coordinates, reference, directions, restrictions, images,
         updated) in evse_rows:  # fmt: skip
        evse: dict[str, Any] = {"uid": uid}
        put(evse, "evse_id", evse_id)
        evse["status"] = status
        put_object(evse, "status_schedule", schedule)
        put_list(evse, "capabilities", capabilities)
        evse["connectors"] = connectors_of.get(evse_row_id, [])
        put(evse, "floor_level", floor)
        put_object(evse, "coordinates", coordinates)
        put(evse, "physical_reference", reference)
        put_object(evse, "directions", directions)
        put_list(evse, "parking_restrictions", restrictions)
        put_object(evse, "images", images)
        evse["last_updated"] = fmt(updated)
        evses = evses_of.get(location_row_id)
        if evses is None:
            evses_of[location_row_id] = [evse]
        else:
            evses.append(evse)

    result = []
    for (row_id, country_code, party_id, lid, publish, allowed, name, address, city,
         postal_code, state, country, coordinates, related, parking_type, directions,
         operator, suboperator, owner, facilities, time_zone, opening_times, when_closed,
         images, energy_mix, updated) in location_rows:  # fmt: skip
        data: dict[str, Any] = {
            "country_code": country_code,
            "party_id": party_id,
            "id": lid,
            "publish": publish,
        }
        put_object(data, "publish_allowed_to", allowed)
        put(data, "name", name)
        data["address"] = address
        data["city"] = city
        put(data, "postal_code", postal_code)
        put(data, "state", state)
        data["country"] = country
        data["coordinates"] = _stored_object(coordinates)
        put_object(data, "related_locations", related)
        put(data, "parking_type", parking_type)
        data["evses"] = evses_of.get(row_id, [])
        put_object(data, "directions", directions)
        put_object(data, "operator", operator)
        put_object(data, "suboperator", suboperator)
        put_object(data, "owner", owner)
        put_list(data, "facilities", facilities)
        data["time_zone"] = time_zone
        put_object(data, "opening_times", opening_times)
        put(data, "charging_when_closed", when_closed)
        put_object(data, "images", images)
        put_object(data, "energy_mix", energy_mix)
        data["last_updated"] = fmt(updated)
        result.append(data)
    return result
