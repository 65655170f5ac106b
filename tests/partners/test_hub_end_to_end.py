"""End to end with a real loopback hub (tests/partners/hub_server.py): it registers with us
as role HUB (and as HUB plus EMSP), pushes ClientInfo for two parties, forwards their GETs,
and receives our broadcast pushes (OCPI 2.2.1, HubClientInfo module; Transport and format,
Message Routing)."""

import pytest

from locations import services
from locations.enums import Status
from locations.models import EVSE
from partners.models import HubClientInfo, Partner
from partners.services import partner_create_pending
from pushers.models import FullSync
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory
from tests.partners.hub_server import FakeHub

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = [("FR", "MSP"), ("BE", "EMP")]


@pytest.fixture(params=[None, ("DE", "HBE")], ids=["HUB", "HUB and EMSP"])
def hub(request):
    with FakeHub(clients=CLIENTS, also_emsp=request.param) as hub:
        yield hub


def routing(headers) -> tuple:
    return tuple(
        headers.get(f"ocpi-{name}")
        for name in ("from-country-code", "from-party-id", "to-country-code", "to-party-id")
    )


def test_a_hub_registers_announces_two_parties_forwards_their_gets_and_gets_broadcast_pushes(
    our_server, eager_pushes, hub
):
    site = services.location_create(
        location=LocationFactory.build(id="LOC-HUB"),
        evses=[(EVSEFactory.build(uid="EVSE-HUB"), [ConnectorFactory.build(id="1")])],
    )
    _, token_a = partner_create_pending(name="Fake hub")

    # 1. The hub registers with us (credentials handshake, it is the Sender).
    registered = hub.register_with(f"{our_server.url}/ocpi/versions", token_a)

    assert (registered.status_code, registered.json()["status_code"]) == (200, 1000)
    partner = Partner.objects.get(name="Fake hub")
    assert partner.state == Partner.State.REGISTERED
    assert sorted(partner.roles.values_list("role", flat=True)) == (
        ["EMSP", "HUB"] if hub.also_emsp else ["HUB"]
    )

    # 2. Onboarding: the registration queued a full sync, a broadcast push to the hub.
    [sync] = FullSync.objects.filter(partner=partner)
    assert (sync.requested_by, sync.total) == ("registration", 1)
    [put] = hub.pushes()
    assert (put.method, put.path) == ("PUT", "/ocpi/emsp/2.2.1/locations/NL/EXA/LOC-HUB")
    assert routing(put.headers) == ("NL", "EXA", "DE", "HUB")  # addressed to the hub
    assert put.body["id"] == "LOC-HUB"

    # 3. The hub announces the two parties behind it.
    answers = hub.push_client_infos()

    assert [(a.status_code, a.json()["status_code"]) for a in answers] == [(201, 1000)] * 2
    assert sorted(
        HubClientInfo.objects.filter(partner=partner).values_list(
            "country_code", "party_id", "status"
        )
    ) == [("BE", "EMP", "CONNECTED"), ("FR", "MSP", "CONNECTED")]

    # 4. It forwards their GETs; each answer is addressed to the party that asked.
    for country, party in CLIENTS:
        response = hub.forward_get("/LOC-HUB/EVSE-HUB", sender=(country, party))

        assert response.status_code == 200
        body = response.json()
        assert (body["status_code"], body["data"]["uid"]) == (1000, "EVSE-HUB")
        assert routing(response.headers) == ("NL", "EXA", country, party)

    # A party it never announced is refused (not authorised for that party).
    refused = hub.forward_get("/LOC-HUB", sender=("IT", "UNK"))
    assert (refused.status_code, refused.json()["status_code"]) == (401, 2000)
    # One OFFLINE still works: the hub's word on its link, not on this request.
    assert hub.push_client_info("BE", "EMP", status="OFFLINE").status_code == 200
    offline = hub.forward_get("/LOC-HUB", sender=("BE", "EMP"))
    assert (offline.status_code, routing(offline.headers)[2:]) == (200, ("BE", "EMP"))

    # 5. A change is pushed to the hub as a broadcast push: OCPI-to is the hub.
    evse = EVSE.objects.get(location=site)
    evse.status = Status.CHARGING
    services.evse_update(evse=evse)

    assert [(r.method, r.path) for r in hub.pushes()] == [
        ("PUT", "/ocpi/emsp/2.2.1/locations/NL/EXA/LOC-HUB"),
        ("PATCH", "/ocpi/emsp/2.2.1/locations/NL/EXA/LOC-HUB/EVSE-HUB"),
    ]
    patch = hub.pushes()[-1]
    assert patch.body["status"] == "CHARGING"
    assert routing(patch.headers) == ("NL", "EXA", "DE", "HUB")
