"""The data-quality rules (`locations.quality` runs them): each checks one field of one
kind of object and says what is wrong, with its severity, profile and the source it follows.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from . import coordinates, country_boxes, enums
from .models import EVSE, Connector, Location
from .validators import EVSE_ID_RE

Severity = Literal["error", "warning"]
Level = Literal["location", "evse", "connector"]

ERROR: Severity = "error"
WARNING: Severity = "warning"

# Profile key -> title (the keys are what `manage.py ocpi_quality --profile` takes).
PROFILES: dict[str, str] = {
    "ocpi": "OCPI 2.2.1 (specification)",
    "ocpi-released": "OCPI 2.2.1 (released lengths)",
    "gireve": "Gireve",
    "afir": "AFIR / NDW",
    "hubject": "Hubject-style consistency",
}

# Phases that multiply voltage × amperage (`max_voltage` is line to neutral for AC_3_PHASE,
# OCPI 2.2.1, Locations module, 8.3.3 Connector Object).
PHASES: dict[str, int] = {
    enums.PowerType.AC_1_PHASE: 1,
    enums.PowerType.AC_2_PHASE: 2,
    enums.PowerType.AC_2_PHASE_SPLIT: 2,
    enums.PowerType.AC_3_PHASE: 3,
    enums.PowerType.DC: 1,
}
# `max_electric_power` may be lower than voltage × amperage × phases (a capped unit) but not
# higher; 5 % covers rounding (230 V × 16 A × 3 = 11,040 W sold as "11 kW").
POWER_TOLERANCE = Decimal("0.05")
VOLTAGE_RANGE = (100, 1500)  # V: domestic sockets to the fastest DC units
AMPERAGE_RANGE = (1, 1000)  # A
MAX_POWER = 1_000_000  # W: 1 MW (megawatt charging)
# Line-to-line voltages that are entered by mistake for AC_3_PHASE (it wants line to neutral).
LINE_TO_LINE_VOLTAGES = range(380, 481)

DC_STANDARDS = {
    enums.ConnectorType.CHADEMO,
    enums.ConnectorType.CHAOJI,
    enums.ConnectorType.GBT_DC,
    enums.ConnectorType.IEC_62196_T1_COMBO,
    enums.ConnectorType.IEC_62196_T2_COMBO,
}
AC_STANDARDS = {
    standard
    for standard in enums.ConnectorType
    if standard.startswith(("DOMESTIC_", "IEC_60309_", "NEMA_"))
} | {
    enums.ConnectorType.GBT_AC,
    enums.ConnectorType.IEC_62196_T1,
    enums.ConnectorType.IEC_62196_T2,
    enums.ConnectorType.IEC_62196_T3A,
    enums.ConnectorType.IEC_62196_T3C,
}


@dataclass(frozen=True)
class Issue:
    """One finding: which object (OCPI ids), which field, which rule, how bad, what."""

    object: str  # e.g. "NL*EXA*LOC1 / EVSE 3 / Connector 1"
    field: str
    rule: str
    severity: Severity
    message: str


@dataclass(frozen=True)
class Rule:
    id: str
    profile: str
    severity: Severity
    levels: tuple[Level, ...]
    field: str
    check: Callable[[Any], str | None]  # the message, or None when the object passes
    source: str  # the document that makes it a rule


# --- checks (each takes a Location, EVSE or Connector and returns a message or None) ---


def _coordinate(coordinates: Any, name: str) -> Any:
    """The stored latitude or longitude; None when missing (rows of any age: any JSON)."""
    return coordinates.get(name) if isinstance(coordinates, dict) else None


def _coordinates_out_of_range(obj: Location | EVSE) -> str | None:
    # The validators' range rule (`locations.coordinates`), for rows stored before it.
    if not obj.coordinates:
        return None
    problems = []
    for name in ("latitude", "longitude"):
        problem = coordinates.range_problem(name, _coordinate(obj.coordinates, name))
        if problem:
            problems.append(f"{name}: {problem}")
    return "; ".join(problems) or None


def _null_island(obj: Location | EVSE) -> str | None:
    if not obj.coordinates:
        return None
    latitude = coordinates.degrees(_coordinate(obj.coordinates, "latitude"))
    if latitude == 0 == coordinates.degrees(_coordinate(obj.coordinates, "longitude")):
        return "0,0 (Null Island) is in the Gulf of Guinea: coordinates were probably not set"
    return None


def _outside_country(obj: Location | EVSE) -> str | None:
    """Coordinates outside the boxes of the Location's `country` (`locations.country_boxes`).

    Out of range and 0,0 are the other two rules' findings; an unknown country (no box) is
    not checked. An EVSE reads its Location's country (prefetched with it: no query).
    """
    if not obj.coordinates:
        return None
    latitude = coordinates.degrees(_coordinate(obj.coordinates, "latitude"))
    longitude = coordinates.degrees(_coordinate(obj.coordinates, "longitude"))
    if latitude is None or longitude is None or latitude == 0 == longitude:
        return None
    if abs(latitude) > coordinates.LIMITS["latitude"]:
        return None
    if abs(longitude) > coordinates.LIMITS["longitude"]:
        return None
    country = obj.country if isinstance(obj, Location) else obj.location.country
    if country_boxes.contains(country, float(latitude), float(longitude)) is not False:
        return None
    message = f"{latitude}, {longitude} is outside {country}"
    if country_boxes.contains(country, float(longitude), float(latitude)):
        return f"{message}: latitude and longitude look swapped"
    return f"{message}: check the coordinates and the Location's country"


def _evse_id_format(evse: EVSE) -> str | None:
    if not evse.evse_id or EVSE_ID_RE.match(evse.evse_id):
        return None
    return (
        f"{evse.evse_id!r} is not an eMI3 EVSE ID such as NL*ABC*E12345*1 "
        "(the power outlet id after E starts with a letter or digit)"
    )


def _not_zero(name: str) -> Callable[[Connector], str | None]:
    def check(connector: Connector) -> str | None:
        if getattr(connector, name) == 0:
            return f"{name} is 0: a connector that delivers nothing"
        return None

    return check


def _longer_than(name: str, limit: int, allowed: int) -> Callable[[Location], str | None]:
    def check(location: Location) -> str | None:
        length = len(getattr(location, name))
        if length > limit:
            return (
                f"{name} has {length} characters: receivers built on the released 2.2.1 text "
                f"refuse more than {limit} (the corrected text allows {allowed})"
            )
        return None

    return check


def _missing_name(name: str) -> Callable[[Location], str | None]:
    def check(location: Location) -> str | None:
        details = getattr(location, name)
        if not isinstance(details, dict) or not details.get("name"):
            return f"{name}.name is missing: Gireve requires it"
        return None

    return check


def _missing(name: str, who: str) -> Callable[[Any], str | None]:
    def check(obj: Any) -> str | None:
        value = getattr(obj, name)
        if value is None or value == [] or value == {}:
            return f"{name} is missing: {who} requires it"
        return None

    return check


def _power_consistency(connector: Connector) -> str | None:
    power, voltage, amperage = (
        connector.max_electric_power,
        connector.max_voltage,
        connector.max_amperage,
    )
    phases = PHASES.get(connector.power_type)
    if not power or not voltage or not amperage or phases is None:
        return None
    expected = voltage * amperage * phases
    if power > expected * (1 + POWER_TOLERANCE):
        return (
            f"max_electric_power {power} W is more than {voltage} V × {amperage} A × "
            f"{phases} phase{'s' if phases > 1 else ''} = {expected} W"
        )
    return None


def _out_of_range(name: str, low: int, high: int, unit: str) -> Callable[[Connector], str | None]:
    def check(connector: Connector) -> str | None:
        value = getattr(connector, name)
        # 0 is the specification rule's finding (an error), not also a plausibility warning.
        if value and not low <= value <= high:
            return f"{name} {value} {unit} is outside the plausible {low}–{high} {unit}"
        return None

    return check


def _line_to_line_voltage(connector: Connector) -> str | None:
    if (
        connector.power_type == enums.PowerType.AC_3_PHASE
        and connector.max_voltage in LINE_TO_LINE_VOLTAGES
    ):
        return (
            f"max_voltage {connector.max_voltage} V looks line to line: for AC_3_PHASE "
            "OCPI wants line to neutral (e.g. 230 V)"
        )
    return None


def _standard_power_type(connector: Connector) -> str | None:
    is_dc = connector.power_type == enums.PowerType.DC
    if is_dc and connector.standard in AC_STANDARDS:
        return f"standard {connector.standard} is an AC connector but power_type is DC"
    if not is_dc and connector.standard in DC_STANDARDS:
        return (
            f"standard {connector.standard} is a DC connector but power_type is "
            f"{connector.power_type}"
        )
    return None


LOCATIONS_MODULE = "OCPI 2.2.1, Locations module"
GEOLOCATION = f"{LOCATIONS_MODULE}, 8.4.13 GeoLocation class"
EVSE_OBJECT = f"{LOCATIONS_MODULE}, 8.3.2 EVSE Object"
COUNTRY_BOXES = (
    f"{LOCATIONS_MODULE}, 8.3.1 Location Object (country, coordinates); country boxes from "
    "Natural Earth 1:50m map subunits (locations/country_boxes.py)"
)
CONNECTOR_OBJECT = f"{LOCATIONS_MODULE}, 8.3.3 Connector Object"
RELEASED = (
    f"{LOCATIONS_MODULE}, 8.3.1 Location Object, as released (tags 2.2.1 and 2.2.1-d2): "
    "address string(45), state string(20)"
)
GIREVE = "Gireve OCPI 2.2.1 CPO Locations requirements"
AFIR = "EU AFIR (Regulation 2023/1804) data for national access points, e.g. NDW"
HUBJECT = "Hubject-style EVSE data-quality checks (voltage, amperage, power, plug type)"

RULES: tuple[Rule, ...] = (
    # Values the specification forbids (OCPI 2.2.1, Locations module).
    Rule("ocpi.coordinates_range", "ocpi", ERROR, ("location", "evse"), "coordinates",
         _coordinates_out_of_range, GEOLOCATION),
    Rule("ocpi.coordinates_null_island", "ocpi", WARNING, ("location", "evse"), "coordinates",
         _null_island, GEOLOCATION),
    Rule("ocpi.coordinates_country", "ocpi", WARNING, ("location", "evse"), "coordinates",
         _outside_country, COUNTRY_BOXES),
    Rule("ocpi.evse_id_format", "ocpi", ERROR, ("evse",), "evse_id", _evse_id_format, EVSE_OBJECT),
    Rule("ocpi.max_voltage_zero", "ocpi", ERROR, ("connector",), "max_voltage",
         _not_zero("max_voltage"), CONNECTOR_OBJECT),
    Rule("ocpi.max_amperage_zero", "ocpi", ERROR, ("connector",), "max_amperage",
         _not_zero("max_amperage"), CONNECTOR_OBJECT),
    Rule("ocpi.max_electric_power_zero", "ocpi", ERROR, ("connector",), "max_electric_power",
         _not_zero("max_electric_power"), CONNECTOR_OBJECT),
    # The released 2.2.1 documents (tags 2.2.1 and 2.2.1-d2): address string(45) and state
    # string(20); the corrected text allows 255 and 45.
    Rule("released.address_length", "ocpi-released", WARNING, ("location",), "address",
         _longer_than("address", 45, 255), RELEASED),
    Rule("released.state_length", "ocpi-released", WARNING, ("location",), "state",
         _longer_than("state", 20, 45), RELEASED),
    # Gireve: optional in OCPI, required by the hub.
    Rule("gireve.owner_name", "gireve", WARNING, ("location",), "owner.name",
         _missing_name("owner"), GIREVE),
    Rule("gireve.operator_name", "gireve", WARNING, ("location",), "operator.name",
         _missing_name("operator"), GIREVE),
    Rule("gireve.evse_capabilities", "gireve", WARNING, ("evse",), "capabilities",
         _missing("capabilities", "Gireve"), GIREVE),
    Rule("gireve.connector_tariff_ids", "gireve", WARNING, ("connector",), "tariff_ids",
         _missing("tariff_ids", "Gireve"), GIREVE),
    # EU AFIR national access points (NDW in the Netherlands).
    Rule("afir.opening_times", "afir", WARNING, ("location",), "opening_times",
         _missing("opening_times", "AFIR / NDW"), AFIR),
    Rule("afir.energy_mix", "afir", WARNING, ("location",), "energy_mix",
         _missing("energy_mix", "AFIR / NDW"), AFIR),
    Rule("afir.parking_restrictions", "afir", WARNING, ("evse",), "parking_restrictions",
         _missing("parking_restrictions", "AFIR / NDW"), AFIR),
    Rule("afir.max_electric_power", "afir", WARNING, ("connector",), "max_electric_power",
         _missing("max_electric_power", "AFIR / NDW"), AFIR),
    Rule("afir.tariff_ids", "afir", WARNING, ("connector",), "tariff_ids",
         _missing("tariff_ids", "AFIR / NDW"), AFIR),
    # Consistency and plausibility, as Hubject scores EVSE data.
    Rule("hubject.power_consistency", "hubject", WARNING, ("connector",), "max_electric_power",
         _power_consistency, HUBJECT),
    Rule("hubject.voltage_range", "hubject", WARNING, ("connector",), "max_voltage",
         _out_of_range("max_voltage", *VOLTAGE_RANGE, "V"), HUBJECT),
    Rule("hubject.amperage_range", "hubject", WARNING, ("connector",), "max_amperage",
         _out_of_range("max_amperage", *AMPERAGE_RANGE, "A"), HUBJECT),
    Rule("hubject.power_range", "hubject", WARNING, ("connector",), "max_electric_power",
         _out_of_range("max_electric_power", 1, MAX_POWER, "W"), HUBJECT),
    Rule("hubject.line_to_line_voltage", "hubject", WARNING, ("connector",), "max_voltage",
         _line_to_line_voltage, HUBJECT),
    Rule("hubject.standard_power_type", "hubject", WARNING, ("connector",), "power_type",
         _standard_power_type, HUBJECT),
)  # fmt: skip
RULES_BY_ID = {rule.id: rule for rule in RULES}


def rules_for(profiles: Iterable[str] | None = None) -> tuple[Rule, ...]:
    """The rules of these profile keys (all profiles when None), in `RULES` order."""
    if profiles is None:
        return RULES
    wanted = set(profiles)
    unknown = wanted - PROFILES.keys()
    if unknown:
        raise ValueError(f"Unknown profile(s): {', '.join(sorted(unknown))}")
    return tuple(rule for rule in RULES if rule.profile in wanted)
