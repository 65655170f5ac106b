"""A refused push of part of a Location is healed by a PUT of the whole Location: a refused
PATCH, and a refused PUT of an EVSE or a Connector (the receiver may lack the Location; OCPI
2.2.1, Transport and format, "PATCH": when a PATCH fails, GET the object and PUT it if the
receiver lacks it). A refused PUT of a whole Location is only parked."""

import pytest

from locations import services
from locations.models import EVSE
from pushers.models import Delivery
from tests.factories import ConnectorFactory, EVSEFactory

from .conftest import build_site, ours, theirs

pytestmark = pytest.mark.usefixtures("eager")


@pytest.fixture
def forgotten_site(push_partner, receiver, saved):
    """A Location we pushed, which the receiver then lost (e.g. its database was reset)."""
    site = saved(lambda: build_site(n_evses=1, connectors=1))
    receiver.locations.clear()
    receiver.requests.clear()
    return site


def sent(receiver) -> list[tuple[str, str, int]]:
    prefix = "/ocpi/emsp/2.2.1/locations/"
    return [(r.method, r.path.removeprefix(prefix)) for r in receiver.pushes()]


def test_a_refused_evse_put_is_healed_by_a_put_of_its_location(forgotten_site, receiver, saved):
    site = forgotten_site

    new = saved(
        lambda: services.evse_create(
            evse=EVSEFactory.build(location=site, uid="EVSE-NEW"),
            connectors=[ConnectorFactory.build(id="1")],
        )
    )

    assert sent(receiver) == [
        ("PUT", f"NL/EXA/{site.id}/EVSE-NEW"),  # 404 2003: the receiver lacks the Location
        ("PUT", f"NL/EXA/{site.id}"),  # the heal: the whole Location
    ]
    parked = Delivery.objects.get(evse=new, method="PUT")
    assert (parked.status, parked.last_error) == (
        "failed",
        "HTTP 404 OCPI 2003: unknown location",
    )
    heal = Delivery.objects.filter(location=site, level="location").order_by("pk").last()
    assert (heal.method, heal.status) == ("PUT", "succeeded")
    assert theirs(receiver, site) == ours(site)


def test_a_refused_connector_put_is_healed_by_a_put_of_its_location(
    forgotten_site, receiver, saved
):
    site = forgotten_site
    evse = EVSE.objects.get(location=site)

    saved(lambda: services.connector_create(connector=ConnectorFactory.build(evse=evse, id="9")))

    assert sent(receiver) == [
        ("PUT", f"NL/EXA/{site.id}/{evse.uid}/9"),
        ("PUT", f"NL/EXA/{site.id}"),
    ]
    assert theirs(receiver, site) == ours(site)


def test_a_refused_location_put_is_only_parked(push_partner, receiver, saved):
    receiver.answer_next((400, 2001))

    site = saved(lambda: build_site(n_evses=1, connectors=1))

    assert sent(receiver) == [("PUT", f"NL/EXA/{site.id}")]
    assert Delivery.objects.get(location=site).status == "failed"
    assert theirs(receiver, site) is None
