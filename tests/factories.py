"""Factories for the domain objects. Build unsaved instances; services save them."""

import factory

from locations import enums
from locations.models import EVSE, Connector, Location
from versions.client import OcpiResult


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    country_code = "NL"
    party_id = "EXA"
    id = factory.Sequence(lambda n: f"LOC-{n:05d}")
    publish = True
    name = factory.Sequence(lambda n: f"Station Square P{n}")
    address = "Stationsplein 1"
    city = "Utrecht"
    postal_code = "3511 ED"
    country = "NLD"
    coordinates = factory.LazyFunction(lambda: {"latitude": "52.089444", "longitude": "5.110278"})
    time_zone = "Europe/Amsterdam"


class EVSEFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EVSE

    uid = factory.Sequence(lambda n: f"EVSE-{n:05d}")
    evse_id = factory.Sequence(lambda n: f"NL*EXA*E{n:05d}")
    status = enums.Status.AVAILABLE


class ConnectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connector

    id = "1"
    standard = enums.ConnectorType.IEC_62196_T2
    format = enums.ConnectorFormat.SOCKET
    power_type = enums.PowerType.AC_3_PHASE
    max_voltage = 230
    max_amperage = 16


def ocpi_result(
    http_status: int, ocpi_status: int | None, *, message: str = "", body: bytes = b""
) -> OcpiResult:
    """An answer of the outbound client with these statuses (and status_message or body)."""
    return OcpiResult(
        http_status=http_status,
        ocpi_status=ocpi_status,
        data=None,
        status_message=message,
        body_excerpt=body.decode(errors="replace")[:500],
        duration_ms=1,
        request_id="r",
    )
