"""Location, EVSE and Connector as OCPI JSON objects (locations.md §6-8).

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
"""

from collections.abc import Iterable
from typing import Any

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
