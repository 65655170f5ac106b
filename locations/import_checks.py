"""The checks of an imported Location that need no database (`locations.importing`): the
spec's JSON Schema (the one of the API and the admin, with `last_updated` optional: it is not
imported), optional members sent empty read as left out, and whether its party is ours.
"""

from typing import Any

from versions.parties import our_party
from versions.schema_validation import SchemaSet

from . import schemas

# --- Whose Locations we hold ---------------------------------------------------------------


def is_our_party(country_code: str, party_id: str) -> bool:
    """Whether Locations of this country_code/party_id are ours to hold (`versions.parties`:
    `OCPI_PARTIES`, or `OCPI_COUNTRY_CODE`/`OCPI_PARTY_ID`)."""
    return our_party(country_code, party_id) is not None


# --- Checking one Location -----------------------------------------------------------------


def _lenient_definitions() -> dict[str, Any]:
    """The spec's schemas, but with `last_updated` optional in Location, EVSE and Connector:
    it is not imported (the services stamp their own), so a file need not carry it."""
    definitions = dict(schemas.DEFINITIONS)
    for name in ("Location", "EVSE", "Connector"):
        schema = dict(definitions[name])
        schema["required"] = [m for m in schema["required"] if m != "last_updated"]
        definitions[name] = schema
    return definitions


_SCHEMAS = SchemaSet(_lenient_definitions(), schemas.RULES)
check_location = _SCHEMAS.checker({"$ref": "#/components/schemas/Location"})


def _without_empty(data: dict, required: Any) -> dict:
    """Optional members sent as "" or [] are read as left out (many exports send them)."""
    return {
        name: value
        for name, value in data.items()
        if name in required or (value != "" and value != [])
    }


def tidy(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    data = _without_empty(data, {"evses"})
    if isinstance(data.get("evses"), list):
        evses = []
        for evse in data["evses"]:
            if isinstance(evse, dict):
                evse = _without_empty(evse, {"connectors"})
                if isinstance(evse.get("connectors"), list):
                    evse["connectors"] = [
                        _without_empty(c, ()) if isinstance(c, dict) else c
                        for c in evse["connectors"]
                    ]
            evses.append(evse)
        data["evses"] = evses
    return data
