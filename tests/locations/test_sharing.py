"""Roaming agreements: who may see a Location in the Sender API (OCPI 2.2.1, Locations
module, 8.2.1 Sender Interface; Transport and format, Pagination), and the services that
change them."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from locations import sharing
from locations.models import EVSE, Location, LocationShare
from partners.services import partner_create
from pushers.models import ChangeRecord
from tests.conftest import token_header

from .conftest import PINNED, create_site, pin_last_updated
from .test_api import URL, body_without_timestamp, data_of

# Token + partner, the partner's roles, the data version, the page, its EVSEs, their
# Connectors, and COUNT when it is not cached (locations.paging): the visibility filter is
# part of the COUNT and the page, not a query of its own.
LIST_QUERIES = 6
COUNTING_LIST_QUERIES = 7


@pytest.fixture
def other_partner(db):
    partner, _ = partner_create(name="Other eMSP", country_code="FR", party_id="OTH")
    return partner


def _ids(response) -> list[str]:
    return [location["id"] for location in data_of(response)]


@pytest.fixture
def sites(partner, other_partner):
    """LOC-0 … LOC-5 (creation order), pinned to PINNED + n minutes: LOC-1 and LOC-4 shared
    with the other partner only, LOC-3 with both, LOC-5 with nobody, the rest with all."""
    made = []
    for n in range(6):
        site = create_site(id=f"LOC-{n}", evses=1, connectors_per_evse=2)
        made.append(pin_last_updated(site, PINNED + timedelta(minutes=n)))
    sharing.locations_share_only_with(locations=[made[1], made[4]], partners=[other_partner])
    sharing.locations_share_only_with(locations=[made[3]], partners=[partner, other_partner])
    sharing.locations_share_only_with(locations=[made[5]], partners=[])
    for n, site in enumerate(made):  # the services stamped the changed ones: pin them again
        pin_last_updated(site, PINNED + timedelta(minutes=n))
    return made


# --- The list --------------------------------------------------------------------------------


def test_the_list_holds_only_the_locations_shared_with_the_caller(ocpi_client, sites):
    response = ocpi_client.get(URL)

    assert _ids(response) == ["LOC-0", "LOC-2", "LOC-3"]
    assert response["X-Total-Count"] == "3"


def test_another_partner_sees_its_own_share(other_partner, sites):
    from django.test import Client

    from partners.models import IssuedToken
    from partners.services import issued_token_create

    issued_token_create(partner=other_partner, kind=IssuedToken.Kind.C, token="other-token-1")
    other_partner.state = other_partner.State.REGISTERED
    other_partner.save(update_fields=["state"])
    client = Client(HTTP_AUTHORIZATION=token_header("other-token-1"))

    assert _ids(client.get(URL)) == ["LOC-0", "LOC-1", "LOC-2", "LOC-3", "LOC-4"]


def test_pages_and_their_count_cover_only_what_the_caller_may_see(ocpi_client, sites):
    first = ocpi_client.get(URL, {"limit": 2})
    second = ocpi_client.get(URL, {"limit": 2, "offset": 2})

    assert (_ids(first), first["X-Total-Count"]) == (["LOC-0", "LOC-2"], "3")
    assert first["Link"] == (
        '<http://testserver.example/ocpi/cpo/2.2.1/locations?limit=2&offset=2>; rel="next"'
    )
    assert (_ids(second), second["X-Total-Count"], second.has_header("Link")) == (
        ["LOC-3"],
        "3",
        False,
    )


def test_a_date_from_crawl_holds_only_what_the_caller_may_see(ocpi_client, sites):
    response = ocpi_client.get(URL, {"date_from": "2024-03-01T10:01:00Z"})

    assert (_ids(response), response["X-Total-Count"]) == (["LOC-2", "LOC-3"], "2")


def test_a_location_shared_again_is_found_by_the_next_date_from_crawl(ocpi_client, sites):
    crawled_at = "2024-03-01T10:10:00Z"  # after every pinned stamp
    assert _ids(ocpi_client.get(URL, {"date_from": crawled_at})) == []

    sharing.locations_share_with_all(locations=[sites[4]])

    assert _ids(ocpi_client.get(URL, {"date_from": crawled_at})) == ["LOC-4"]


@pytest.mark.parametrize("limit", [1, 100])
def test_a_page_costs_the_same_queries_when_locations_are_hidden(
    ocpi_client, sites, django_assert_num_queries, limit
):
    query = {"limit": limit, "date_from": "2000-01-01T00:00:00Z"}
    with django_assert_num_queries(COUNTING_LIST_QUERIES):
        response = ocpi_client.get(URL, query)
    with django_assert_num_queries(LIST_QUERIES):
        again = ocpi_client.get(URL, query)

    data = data_of(response)
    assert len(data) == min(limit, 3)
    assert data_of(again) == data


# --- Objects ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/LOC-1", "Unknown Location 'LOC-1'"),
        ("/LOC-1/{uid}", "Unknown Location 'LOC-1'"),
        ("/LOC-1/{uid}/1", "Unknown Location 'LOC-1'"),
        ("/LOC-5", "Unknown Location 'LOC-5'"),
    ],
)
def test_a_location_not_shared_with_the_caller_is_unknown_at_every_depth(
    ocpi_client, sites, path, message
):
    uid = EVSE.objects.get(location__id=path.split("/")[1]).uid

    response = ocpi_client.get(URL + path.format(uid=uid))

    # The same answer as for a Location that does not exist (OCPI 2.2.1, Status codes:
    # 2003 Unknown Location): the caller learns nothing of what it may not see.
    assert response.status_code == 404
    assert body_without_timestamp(response) == {"status_code": 2003, "status_message": message}


def test_a_location_shared_with_the_caller_is_served_at_every_depth(ocpi_client, sites):
    uid = EVSE.objects.get(location__id="LOC-3").uid

    for path in ("/LOC-3", f"/LOC-3/{uid}", f"/LOC-3/{uid}/2"):
        assert ocpi_client.get(URL + path).status_code == 200


@pytest.mark.parametrize(
    ("path", "queries"), [("/LOC-3", 5), ("/LOC-3/{uid}", 4), ("/LOC-3/{uid}/2", 3)]
)
def test_an_object_costs_the_same_queries_with_roaming_agreements(
    ocpi_client, sites, django_assert_num_queries, path, queries
):
    uid = EVSE.objects.get(location__id="LOC-3").uid

    with django_assert_num_queries(queries):
        assert ocpi_client.get(URL + path.format(uid=uid)).status_code == 200


# --- The services ----------------------------------------------------------------------------


def test_withdrawing_a_location_shared_with_all_keeps_it_for_every_other_partner(
    partner, other_partner
):
    site = create_site(id="LOC-W")
    before = Location.objects.get(pk=site.pk).last_updated

    assert sharing.locations_withdraw_from(locations=[site], partners=[partner]) == 1

    site.refresh_from_db()
    assert site.shared_with_all is False
    assert set(LocationShare.objects.filter(location=site).values_list("partner", flat=True)) == {
        other_partner.pk
    }
    assert site.last_updated > before
    record = ChangeRecord.objects.latest("id")
    assert (record.level, record.method, record.shared_with, record.withdrawn_from) == (
        "location",
        "PUT",
        [],
        [partner.pk],
    )
    assert record.last_updated == site.last_updated


def test_sharing_with_all_again_names_the_partners_that_gain_the_location(partner, other_partner):
    site = create_site(id="LOC-A")
    sharing.locations_share_only_with(locations=[site], partners=[other_partner])

    assert sharing.location_set_sharing(location=site, all_partners=True) is True

    record = ChangeRecord.objects.latest("id")
    assert (record.shared_with, record.withdrawn_from) == ([partner.pk], [])
    assert not LocationShare.objects.filter(location=site).exists()


def test_a_change_nobody_sees_is_stored_but_neither_stamped_nor_recorded(partner, other_partner):
    site = create_site(id="LOC-N")
    stamped = Location.objects.get(pk=site.pk).last_updated
    records = ChangeRecord.objects.count()

    changed = sharing.locations_share_only_with(locations=[site], partners=[partner, other_partner])

    assert changed == 1
    assert Location.objects.get(pk=site.pk).last_updated == stamped
    assert ChangeRecord.objects.count() == records
    assert sharing.locations_share_only_with(locations=[site], partners=[partner]) == 1
    assert sharing.locations_share_only_with(locations=[site], partners=[partner]) == 0


def test_an_unknown_partner_is_refused_and_nothing_changes(partner):
    site = create_site(id="LOC-U")

    with pytest.raises(ValidationError, match="No such partner: 999999"):
        sharing.locations_share_only_with(locations=[site], partners=[999999])

    assert Location.objects.get(pk=site.pk).shared_with_all is True


# --- The admin -------------------------------------------------------------------------------


def test_the_location_page_chooses_the_partners_and_shows_the_choice_again(
    admin_client, partner, other_partner
):
    from .test_admin import location_url, page_form, submit

    site = create_site(id="LOC-P")
    data = page_form(admin_client, location_url(site))
    assert data["sharing"] == ["all"]

    response = submit(
        admin_client, location_url(site), data, sharing="chosen", shared_with=[str(partner.pk)]
    )

    assert response.status_code == 302
    site.refresh_from_db()
    assert site.shared_with_all is False
    assert list(LocationShare.objects.filter(location=site).values_list("partner", flat=True)) == [
        partner.pk
    ]
    again = page_form(admin_client, location_url(site))
    assert (again["sharing"], again["shared_with"]) == (["chosen"], [str(partner.pk)])
    record = ChangeRecord.objects.latest("id")
    assert (record.shared_with, record.withdrawn_from) == ([], [other_partner.pk])


def test_the_list_action_withdraws_the_selected_locations_from_a_partner(
    admin_client, partner, other_partner
):
    sites = [create_site(id=f"LOC-B{n}") for n in range(3)]
    pks = [site.pk for site in sites[:2]]

    page = admin_client.post(
        "/admin/locations/location/", {"action": "change_partners", "_selected_action": pks}
    )
    assert page.status_code == 200
    assert "Choose partners for the selected Locations" in page.content.decode()

    done = admin_client.post(
        "/admin/locations/location/",
        {
            "action": "change_partners",
            "_selected_action": pks,
            "apply": "1",
            "operation": "remove",
            "partners": [str(other_partner.pk)],
        },
        follow=True,
    )

    assert "2 Locations changed." in done.content.decode()
    visible_to_other = Location.objects.filter(sharing.visible_to(other_partner.pk))
    assert sorted(visible_to_other.values_list("id", flat=True)) == ["LOC-B2"]
    visible_to_partner = Location.objects.filter(sharing.visible_to(partner.pk))
    assert visible_to_partner.count() == 3


def test_the_list_action_asks_again_when_no_partner_is_ticked(admin_client, partner):
    site = create_site(id="LOC-E")

    page = admin_client.post(
        "/admin/locations/location/",
        {
            "action": "change_partners",
            "_selected_action": [site.pk],
            "apply": "1",
            "operation": "add",
        },
    )

    assert page.status_code == 200
    assert "Tick at least one partner." in page.content.decode()
    assert Location.objects.get(pk=site.pk).shared_with_all is True
