"""How an object is named to operators by its OCPI ids: `NL*EXA*LOC1 / EVSE 3 / Connector 1`
(the Location's `country_code*party_id*id`, the EVSE's `uid`, the Connector's `id`). One
rule, used by the data-quality report, the Deliveries list and the dashboard."""

from typing import Protocol


class _LocationIds(Protocol):
    country_code: str
    party_id: str
    id: str


def location_label(location: _LocationIds) -> str:
    return f"{location.country_code}*{location.party_id}*{location.id}"


def object_label(
    location: _LocationIds, evse_uid: str | None = None, connector_id: str | None = None
) -> str:
    """The Location's label, then ` / EVSE uid` and ` / Connector id` for the levels given."""
    label = location_label(location)
    if evse_uid is not None:
        label += f" / EVSE {evse_uid}"
        if connector_id is not None:
            label += f" / Connector {connector_id}"
    return label
