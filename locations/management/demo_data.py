"""Realistic, spec-valid demo sites for `manage.py ocpi_demo_data` (valid against OCPI 2.2.1,
Locations module, 8.3 Object description and 8.4 Data types).

Everything comes from one `random.Random(seed)` consumed in site order, so the same seed
gives the same data whatever the batch size. Ids derive from the seed and the site number
(`DEMO-<seed>-<n>`), so runs with different seeds add sites side by side and a repeated
run with the same seed is refused as a duplicate.
"""

import random
from datetime import datetime, timedelta

from locations.enums import (
    Capability,
    ConnectorFormat,
    ConnectorType,
    EnergySourceCategory,
    EnvironmentalImpactCategory,
    ImageCategory,
    ParkingRestriction,
    ParkingType,
    PowerType,
    Status,
)
from locations.models import EVSE, Connector, Location

from .demo_tables import (
    COUNTRIES,
    DC_RATINGS,
    DIRECTIONS,
    EPOCH,
    EXTRA_CAPABILITIES,
    FACILITIES,
    OWNERS,
    PARKING,
    SITE_KINDS,
    STATUSES,
    SUPPLIERS,
)


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _ocpi_datetime(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class DemoSiteFactory:
    """Builds unsaved (Location, [(EVSE, [Connector])]) tuples for `locations_bulk_create`."""

    def __init__(
        self,
        *,
        seed: int,
        country_code: str,
        party_id: str,
        operator_name: str,
        operator_website: str = "",
        evses_per_location: int = 4,
        connectors_per_evse: int = 2,
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
        self.seed = seed
        self.country_code = country_code.upper()
        self.party_id = party_id.upper()
        self.operator_name = operator_name or "Demo CPO"
        self.operator_website = operator_website or "https://www.example.com"
        self.evses_per_location = evses_per_location
        self.connectors_per_evse = connectors_per_evse
        # The CPO's own country gets most sites, its neighbours the rest.
        self.country_weights = [(c, 50 if c.alpha2 == self.country_code else 10) for c in COUNTRIES]

    # --- ids --------------------------------------------------------------------------------

    def location_id(self, n: int) -> str:
        return f"DEMO-{self.seed}-{n:06d}"

    def id_prefix(self) -> str:
        return f"DEMO-{self.seed}-"

    def evse_id_prefix(self) -> str:
        return f"{self.country_code}*{self.party_id}*E{self.seed}D"

    # --- sub-objects -----------------------------------------------------------------------

    def _coordinate(self, value: float, decimals: int) -> str:
        return f"{value:.{decimals}f}"

    def _point(self, lat: float, lon: float, spread: float) -> dict:
        rng = self.rng
        decimals = rng.choice((5, 6, 7))
        return {
            "latitude": self._coordinate(lat + rng.uniform(-spread, spread), decimals),
            "longitude": self._coordinate(lon + rng.uniform(-spread, spread), decimals),
        }

    def _postal_code(self, template: str) -> str:
        rng = self.rng
        first = True
        out = []
        for ch in template:
            if ch == "9":
                out.append(str(rng.randint(1 if first else 0, 9)))
                first = False
            elif ch == "A":
                out.append(rng.choice("ABCDEGHJKLMNPRSTVWXZ"))
            else:
                out.append(ch)
        return "".join(out)

    def _image(self, category: str, name: str) -> dict:
        image = {
            "url": f"https://images.example.com/{name}.jpg",
            "category": category,
            "type": "jpeg",
            "width": 1024,
            "height": 768,
        }
        if self.rng.random() < 0.5:
            image["thumbnail"] = f"https://images.example.com/{name}-thumb.jpg"
        return image

    def _opening_times(self) -> tuple[dict | None, bool | None]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            return {"twentyfourseven": True}, None
        if roll < 0.7:
            return None, None
        begin, end = rng.choice((("06:00", "22:00"), ("07:00", "23:00"), ("08:00", "20:00")))
        regular = [{"weekday": d, "period_begin": begin, "period_end": end} for d in range(1, 6)]
        regular.append({"weekday": 6, "period_begin": "08:00", "period_end": "18:00"})
        if rng.random() < 0.5:
            regular.append({"weekday": 7, "period_begin": "10:00", "period_end": "17:00"})
        hours: dict = {"twentyfourseven": False, "regular_hours": regular}
        if rng.random() < 0.3:
            hours["exceptional_closings"] = [
                {"period_begin": "2027-12-24T23:00:00Z", "period_end": "2027-12-26T23:00:00Z"}
            ]
        return hours, rng.random() < 0.5

    def _energy_mix(self) -> dict | None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            return None
        supplier, product = rng.choice(SUPPLIERS)
        if roll < 0.85:
            solar = rng.randrange(0, 101, 5)
            return {
                "is_green_energy": True,
                "energy_sources": [
                    {"source": EnergySourceCategory.SOLAR, "percentage": solar},
                    {"source": EnergySourceCategory.WIND, "percentage": 100 - solar},
                ],
                "supplier_name": supplier,
                "energy_product_name": product,
            }
        return {
            "is_green_energy": False,
            "energy_sources": [
                {"source": EnergySourceCategory.GENERAL_GREEN, "percentage": 35.5},
                {"source": EnergySourceCategory.GAS, "percentage": 30},
                {"source": EnergySourceCategory.COAL, "percentage": 19.5},
                {"source": EnergySourceCategory.NUCLEAR, "percentage": 15},
            ],
            "environ_impact": [
                {"category": EnvironmentalImpactCategory.CARBON_DIOXIDE, "amount": 372},
                {"category": EnvironmentalImpactCategory.NUCLEAR_WASTE, "amount": 0.0006},
            ],
            "supplier_name": supplier,
        }

    # --- connectors ------------------------------------------------------------------------

    def _ac_connectors(self) -> list[Connector]:
        rng = self.rng
        three_phase = rng.random() < 0.75
        amperage = rng.choice((16, 32))
        main_format = ConnectorFormat.SOCKET if rng.random() < 0.8 else ConnectorFormat.CABLE
        tariffs = ["AC-STD"] if rng.random() < 0.7 else ["AC-STD", "AC-ADHOC"]
        templates = [
            {
                "standard": ConnectorType.IEC_62196_T2,
                "format": main_format,
                "power_type": PowerType.AC_3_PHASE if three_phase else PowerType.AC_1_PHASE,
                "max_voltage": 230,
                "max_amperage": amperage,
                # 3 × 230 V × 16/32 A = 11 040/22 080 W; the usual rating is a bit lower.
                "max_electric_power": (11_000 if amperage == 16 else 22_000)
                if three_phase
                else None,
            },
            {
                "standard": ConnectorType.DOMESTIC_F,
                "format": ConnectorFormat.SOCKET,
                "power_type": PowerType.AC_1_PHASE,
                "max_voltage": 230,
                "max_amperage": 16,
                "max_electric_power": 3_680,
            },
        ]
        return self._connectors(templates, tariffs)

    def _dc_connectors(self) -> list[Connector]:
        rng = self.rng
        volts, amps, power = rng.choice(DC_RATINGS)
        tariffs = ["DC-FAST"] if power <= 150_000 else ["DC-HPC"]
        templates = [
            {
                "standard": ConnectorType.IEC_62196_T2_COMBO,
                "format": ConnectorFormat.CABLE,
                "power_type": PowerType.DC,
                "max_voltage": volts,
                "max_amperage": amps,
                "max_electric_power": power,
            },
            {
                "standard": ConnectorType.CHADEMO,
                "format": ConnectorFormat.CABLE,
                "power_type": PowerType.DC,
                "max_voltage": 500,
                "max_amperage": 125,
                "max_electric_power": 50_000,
                "tariff_ids": ["DC-FAST"],
            },
            {
                "standard": ConnectorType.IEC_62196_T2,
                "format": ConnectorFormat.CABLE,
                "power_type": PowerType.AC_3_PHASE,
                "max_voltage": 230,
                "max_amperage": 63,
                "max_electric_power": 43_000,
                "tariff_ids": ["AC-STD"],
            },
        ]
        return self._connectors(templates, tariffs)

    def _connectors(self, templates: list[dict], tariffs: list[str]) -> list[Connector]:
        connectors = []
        for k in range(self.connectors_per_evse):
            template = dict(templates[k % len(templates)])
            connectors.append(
                Connector(
                    id=str(k + 1),
                    tariff_ids=list(template.pop("tariff_ids", tariffs)),
                    terms_and_conditions=(
                        "https://www.example.com/terms" if self.rng.random() < 0.2 else ""
                    ),
                    **template,
                )
            )
        return connectors

    # --- EVSEs and sites -------------------------------------------------------------------

    def _evse(self, n: int, k: int, dc: bool, lat: float, lon: float, garage: bool) -> EVSE:
        rng = self.rng
        status = _weighted(rng, STATUSES)
        capabilities = [Capability.RFID_READER, Capability.REMOTE_START_STOP_CAPABLE]
        capabilities += rng.sample(EXTRA_CAPABILITIES, rng.randint(0, 3))
        if dc and Capability.CREDIT_CARD_PAYABLE not in capabilities:
            capabilities.append(Capability.CREDIT_CARD_PAYABLE)
        if self.connectors_per_evse > 1:
            capabilities.append(Capability.START_SESSION_CONNECTOR_REQUIRED)
        schedule = []
        if status == Status.PLANNED:
            start = EPOCH + timedelta(days=rng.randint(200, 500))
            schedule = [{"period_begin": _ocpi_datetime(start), "status": Status.AVAILABLE}]
        restrictions = []
        if rng.random() < 0.5:
            restrictions.append(ParkingRestriction.EV_ONLY)
        if rng.random() < 0.1:
            restrictions.append(ParkingRestriction.DISABLED)
        return EVSE(
            uid=f"{self.location_id(n)}-{k + 1}",
            evse_id=f"{self.evse_id_prefix()}{n:06d}*{k + 1}",
            status=status,
            status_schedule=schedule,
            capabilities=capabilities,
            floor_level=rng.choice(("-1", "-2", "0")) if garage else "",
            coordinates=self._point(lat, lon, 0.0003) if rng.random() < 0.5 else None,
            physical_reference=f"{'DC' if dc else 'AC'}-{k + 1:02d}",
            parking_restrictions=restrictions,
            images=(
                [self._image(ImageCategory.CHARGER, f"chargers/{'dc' if dc else 'ac'}")]
                if rng.random() < 0.1
                else []
            ),
        )

    def site(self, n: int) -> tuple[Location, list[tuple[EVSE, list[Connector]]]]:
        rng = self.rng
        country = _weighted(rng, self.country_weights)
        city, state, lat0, lon0 = rng.choice(country.cities)
        kind = _weighted(rng, SITE_KINDS)
        coordinates = self._point(lat0, lon0, 0.03)
        lat, lon = float(coordinates["latitude"]), float(coordinates["longitude"])
        street = rng.choice(country.streets)
        parking_type = rng.choice(PARKING[kind])
        garage = parking_type in {ParkingType.PARKING_GARAGE, ParkingType.UNDERGROUND_GARAGE}
        facilities = rng.sample(FACILITIES[kind], rng.randint(0, 3))
        opening_times, charging_when_closed = self._opening_times()
        publish = rng.random() >= 0.03
        publish_allowed_to = []
        if not publish and rng.random() < 0.5:
            publish_allowed_to = [{"group_id": f"FLEET-{rng.randint(1, 99):02d}"}]
        operator = None
        if rng.random() < 0.6:
            operator = {"name": self.operator_name, "website": self.operator_website}
            if rng.random() < 0.5:
                operator["logo"] = self._image(ImageCategory.OPERATOR, "logos/operator")
        owner = {"name": rng.choice(OWNERS)} if rng.random() < 0.25 else None
        suboperator = {"name": "Regional Charging Services"} if rng.random() < 0.05 else None
        directions = []
        if rng.random() < 0.3:
            directions = [{"language": country.language, "text": DIRECTIONS[country.language]}]
            if country.language != "en":
                directions.append({"language": "en", "text": DIRECTIONS["en"]})
        related = []
        if rng.random() < 0.1:
            related = [
                {
                    **self._point(lat, lon, 0.0005),
                    "name": {"language": "en", "text": "Entrance"},
                }
            ]
        motorway = parking_type == ParkingType.ALONG_MOTORWAY
        name_prefix = {"ac_street": street, "ac_destination": "Destination", "dc_hub": "Fast Hub",
                       "mixed": "Mobility Hub"}[kind]  # fmt: skip
        location = Location(
            country_code=self.country_code,
            party_id=self.party_id,
            id=self.location_id(n),
            publish=publish,
            publish_allowed_to=publish_allowed_to,
            name=f"{name_prefix} {city} {n}",
            address=f"{street} {rng.randint(1, 250)}",
            city=city,
            postal_code=""
            if motorway and rng.random() < 0.5
            else self._postal_code(country.postal_code),
            state=state,
            country=country.alpha3,
            coordinates=coordinates,
            related_locations=related,
            parking_type=parking_type,
            directions=directions,
            operator=operator,
            suboperator=suboperator,
            owner=owner,
            facilities=facilities,
            time_zone=country.time_zone,
            opening_times=opening_times,
            charging_when_closed=charging_when_closed,
            images=(
                [self._image(ImageCategory.LOCATION, f"sites/{kind}")] if rng.random() < 0.2 else []
            ),
            energy_mix=self._energy_mix(),
        )
        evses = []
        for k in range(self.evses_per_location):
            dc = kind == "dc_hub" or (kind == "mixed" and k % 2 == 0)
            connectors = self._dc_connectors() if dc else self._ac_connectors()
            evses.append((self._evse(n, k, dc, lat, lon, garage), connectors))
        return location, evses
