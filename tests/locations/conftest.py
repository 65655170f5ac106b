"""Fixtures of the Locations Sender API tests: sites built through `locations.services`."""

from datetime import UTC, datetime

import pytest

from locations import enums, services
from locations.models import EVSE, Connector, Location
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory

# The timestamp every object of `full_site` / `minimal_site` is pinned to.
PINNED = datetime(2024, 3, 1, 10, 0, 0, tzinfo=UTC)


def pin_last_updated(location: Location, when: datetime) -> Location:
    """Set `last_updated` of the Location, its EVSEs and their Connectors to `when`.

    The services stamp the current time; tests that compare whole documents or probe the
    date filter edges need known timestamps.
    """
    Location.objects.filter(pk=location.pk).update(last_updated=when)
    EVSE.objects.filter(location=location).update(last_updated=when)
    Connector.objects.filter(evse__location=location).update(last_updated=when)
    location.refresh_from_db()
    return location


def create_site(*, evses: int = 1, connectors_per_evse: int = 1, **location_fields) -> Location:
    """A Location with `evses` EVSEs of `connectors_per_evse` Connectors each."""
    return services.location_create(
        location=LocationFactory.build(**location_fields),
        evses=[
            (
                EVSEFactory.build(),
                [ConnectorFactory.build(id=str(n + 1)) for n in range(connectors_per_evse)],
            )
            for _ in range(evses)
        ],
    )


@pytest.fixture
def full_site(db) -> Location:
    """A Location with all 26 fields, one EVSE with all 13, one Connector with all 10."""
    location = LocationFactory.build(
        country_code="NL",
        party_id="EXA",
        id="LOC-FULL",
        publish=False,
        publish_allowed_to=[
            {"uid": "012345678", "type": "RFID"},
            {"visual_number": "NL-EXA-000001-X", "issuer": "Example eMSP", "group_id": "G1"},
        ],
        name="Station Square P1",
        address="Stationsplein 1",
        city="Utrecht",
        postal_code="3511 ED",
        state="Utrecht",
        country="NLD",
        coordinates={"latitude": "52.089444", "longitude": "5.110278"},
        related_locations=[
            {
                "latitude": "52.089500",
                "longitude": "5.110300",
                "name": {"language": "nl", "text": "Ingang Jaarbeursplein"},
            }
        ],
        parking_type=enums.ParkingType.PARKING_GARAGE,
        directions=[{"language": "en", "text": "Level -1, follow the green signs"}],
        operator={
            "name": "Example Charging",
            "website": "https://charging.example.com",
            "logo": {
                "url": "https://charging.example.com/logo.png",
                "thumbnail": "https://charging.example.com/logo-small.png",
                "category": "OPERATOR",
                "type": "png",
                "width": 512,
                "height": 512,
            },
        },
        suboperator={"name": "Example Garages"},
        owner={"name": "City of Utrecht", "website": "https://utrecht.example.org"},
        facilities=[enums.Facility.TRAIN_STATION, enums.Facility.WIFI],
        time_zone="Europe/Amsterdam",
        opening_times={
            "twentyfourseven": False,
            "regular_hours": [{"weekday": 1, "period_begin": "07:00", "period_end": "23:00"}],
            "exceptional_openings": [
                {"period_begin": "2024-12-24T06:00:00Z", "period_end": "2024-12-24T07:00:00Z"}
            ],
            "exceptional_closings": [
                {"period_begin": "2024-12-25T00:00:00Z", "period_end": "2024-12-26T00:00:00Z"}
            ],
        },
        charging_when_closed=False,
        images=[
            {
                "url": "https://charging.example.com/site.jpg",
                "category": "LOCATION",
                "type": "jpeg",
            }
        ],
        energy_mix={
            "is_green_energy": True,
            "energy_sources": [
                {"source": "SOLAR", "percentage": 40},
                {"source": "WIND", "percentage": 60},
            ],
            "environ_impact": [{"category": "CARBON_DIOXIDE", "amount": 0}],
            "supplier_name": "Green Power",
            "energy_product_name": "Green 100",
        },
    )
    evse = EVSEFactory.build(
        uid="EVSE-FULL",
        evse_id="NL*EXA*E0001*1",
        status=enums.Status.AVAILABLE,
        status_schedule=[
            {
                "period_begin": "2024-06-01T00:00:00Z",
                "period_end": "2024-06-02T00:00:00Z",
                "status": "INOPERATIVE",
            }
        ],
        capabilities=[enums.Capability.RFID_READER, enums.Capability.REMOTE_START_STOP_CAPABLE],
        floor_level="-1",
        coordinates={"latitude": "52.089450", "longitude": "5.110290"},
        physical_reference="A1",
        directions=[{"language": "en", "text": "Second bay on the left"}],
        parking_restrictions=[enums.ParkingRestriction.EV_ONLY],
        images=[
            {
                "url": "https://charging.example.com/charger.jpg",
                "category": "CHARGER",
                "type": "jpeg",
                "width": 800,
                "height": 600,
            }
        ],
    )
    connector = ConnectorFactory.build(
        id="1",
        standard=enums.ConnectorType.IEC_62196_T2,
        format=enums.ConnectorFormat.CABLE,
        power_type=enums.PowerType.AC_3_PHASE,
        max_voltage=230,
        max_amperage=32,
        max_electric_power=22000,
        tariff_ids=["AC-STD", "AC-GREEN"],
        terms_and_conditions="https://charging.example.com/terms",
    )
    site = services.location_create(location=location, evses=[(evse, [connector])])
    return pin_last_updated(site, PINNED)


@pytest.fixture
def minimal_site(db) -> Location:
    """A Location, EVSE and Connector with only the required fields filled."""
    location = Location(
        country_code="NL",
        party_id="EXA",
        id="LOC-MIN",
        publish=True,
        address="Dorpsstraat 2",
        city="Ergens",
        country="NLD",
        coordinates={"latitude": "52.00000", "longitude": "5.00000"},
        time_zone="Europe/Amsterdam",
    )
    evse = EVSE(uid="EVSE-MIN", status=enums.Status.UNKNOWN)
    connector = Connector(
        id="1",
        standard=enums.ConnectorType.DOMESTIC_F,
        format=enums.ConnectorFormat.SOCKET,
        power_type=enums.PowerType.AC_1_PHASE,
        max_voltage=230,
        max_amperage=10,
    )
    site = services.location_create(location=location, evses=[(evse, [connector])])
    return pin_last_updated(site, PINNED)
