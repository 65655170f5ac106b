"""Onboarding: a partner that registers (either direction) with a Locations Receiver gets
every Location by a full sync queued at registration; a per-partner switch turns it off; the
partner page shows its progress (OCPI 2.2.1, Locations module, Interfaces and endpoints)."""

import io
import re

import pytest
from django.core.management import call_command

from locations import services
from partners.models import Partner
from partners.services import partner_create_pending
from pushers.models import FullSync
from tests.factories import LocationFactory
from tests.ocpi_partner_server import FakeEmsp

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_sites(db):
    for location_id in ("LOC-A", "LOC-B"):
        services.location_create(location=LocationFactory.build(id=location_id))


def pushed(emsp: FakeEmsp) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emsp.requests_to("/ocpi/emsp/2.2.1/locations/")]


EVERY_LOCATION = [
    ("PUT", "/ocpi/emsp/2.2.1/locations/NL/EXA/LOC-A"),
    ("PUT", "/ocpi/emsp/2.2.1/locations/NL/EXA/LOC-B"),
]


def onboarding_lines(admin_client, partner: Partner) -> list[str]:
    """The lines of the read-only Onboarding field of the partner's admin page."""
    page = admin_client.get(f"/admin/partners/partner/{partner.pk}/change/").content.decode()
    field = re.search(r'Onboarding:</label>\s*<div class="readonly">((?:<div>[^<]*</div>)+)', page)
    assert field is not None, "no Onboarding field on the page"
    return re.findall(r"<div>([^<]*)</div>", field.group(1))


def test_a_partner_that_registers_with_us_gets_every_location_at_once(
    our_server, eager_pushes, emsp, two_sites, admin_client
):
    _, token_a = partner_create_pending(name="Newcomer")

    response = emsp.register_with(f"{our_server.url}/ocpi/versions", token_a)

    assert response.json()["status_code"] == 1000
    partner = Partner.objects.get(name="Newcomer")
    [sync] = FullSync.objects.filter(partner=partner)
    assert (sync.requested_by, sync.total) == ("registration", 2)
    assert sorted(pushed(emsp)) == EVERY_LOCATION
    assert onboarding_lines(admin_client, partner) == [
        f"Full sync #{sync.pk} by registration, {sync.created_at:%Y-%m-%d %H:%M} UTC: "
        "2/2 settled: 2 accepted, 0 refused (done)"
    ]


def test_a_partner_we_register_with_gets_every_location_at_once(
    our_server, eager_pushes, emsp, two_sites
):
    call_command(
        "ocpi_register",
        "--versions-url",
        emsp.versions_url,
        "--token",
        emsp.token_a,
        "--name",
        "Fake eMSP",
        stdout=io.StringIO(),
    )

    partner = Partner.objects.get(name="Fake eMSP")
    assert partner.registered_by == "us"
    assert list(FullSync.objects.filter(partner=partner).values_list("requested_by", "total")) == [
        ("registration", 2)
    ]
    assert sorted(pushed(emsp)) == EVERY_LOCATION


def test_a_partner_that_prefers_to_pull_gets_no_full_sync(
    our_server, eager_pushes, emsp, two_sites, admin_client
):
    partner, token_a = partner_create_pending(name="Puller")
    partner.initial_full_sync = False
    partner.save()

    emsp.register_with(f"{our_server.url}/ocpi/versions", token_a)

    partner.refresh_from_db()
    assert partner.state == Partner.State.REGISTERED
    assert not FullSync.objects.exists()
    assert pushed(emsp) == []
    assert onboarding_lines(admin_client, partner) == [
        "No full sync yet (initial full sync switched off: the partner pulls)"
    ]


def test_a_partner_without_a_locations_receiver_gets_no_full_sync(
    our_server, eager_pushes, two_sites
):
    _, token_a = partner_create_pending(name="Pull only")

    with FakeEmsp(locations_receiver=False) as emsp:
        emsp.register_with(f"{our_server.url}/ocpi/versions", token_a)

    assert Partner.objects.get(name="Pull only").state == Partner.State.REGISTERED
    assert not FullSync.objects.exists()


def test_the_switch_is_on_for_a_new_partner():
    assert Partner().initial_full_sync is True
