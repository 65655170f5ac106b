"""The admin lists at scale (locations/admin_scale.py; docs/admin.md, "Large lists").

Every list, search and filter page costs the same number of queries at two sizes; searches
find what they should (and each row once) on SQLite and PostgreSQL; on PostgreSQL the
search's lookups can use their indexes and long lists are counted from estimates; the last
page is read from the end; selections of more rows than Django's default form limit reach
the actions.
"""

import io
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from locations import admin_scale as scale
from locations.enums import Status
from locations.models import EVSE, Connector, Location
from partners.models import Partner
from pushers.models import Delivery, Lane
from tests.locations.test_admin import (
    CONNECTOR_LIST,
    EVSE_LIST,
    LOCATION_LIST,
    messages_of,
    page_text,
)

DELIVERY_LIST = "/admin/pushers/delivery/"
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's indexes and statistics"
)


def add_sites(count: int, seed: int) -> None:
    """`count` demo Locations of 4 EVSEs with 2 Connectors each (`ocpi_demo_data`)."""
    call_command(
        "ocpi_demo_data", "--locations", str(count), "--seed", str(seed), stdout=io.StringIO()
    )


def add_deliveries() -> None:
    """One Delivery (a PATCH of its status) per EVSE that has none yet."""
    partner, _ = Partner.objects.get_or_create(name="Receiver")
    for location_id in Location.objects.values_list("pk", flat=True):
        Lane.objects.get_or_create(partner=partner, location_id=location_id)
    lanes = dict(Lane.objects.values_list("location_id", "pk"))
    Delivery.objects.bulk_create(
        Delivery(
            partner=partner,
            lane_id=lanes[evse.location_id],
            level="evse",
            method="PATCH",
            fields=["status"],
            object_key=f"E:{evse.pk}",
            location_id=evse.location_id,
            evse_id=evse.pk,
            status=Delivery.Status.SUCCEEDED,
            finished_at=timezone.now(),
        )
        for evse in EVSE.objects.exclude(pk__in=Delivery.objects.values("evse_id"))
    )


@pytest.fixture
def small_pages(monkeypatch):
    """Three rows per page on every list, so that a few sites make many pages."""
    for model in (Location, EVSE, Connector, Delivery):
        monkeypatch.setattr(admin.site._registry[model], "list_per_page", 3)


def q(term: str) -> str:
    return "?" + urlencode({"q": term})


def pages_of(first: Location) -> list[str]:
    """Every list, search and filter page, with search terms that match `first`."""
    evse = first.evses.order_by("pk").first()
    name, city, country = f'"{first.name}"', first.city, first.country
    return [
        LOCATION_LIST,
        LOCATION_LIST + "?p=last",
        LOCATION_LIST + q(first.id),
        LOCATION_LIST + q(evse.evse_id),
        LOCATION_LIST + q(name),
        LOCATION_LIST + q(city),
        LOCATION_LIST + "?evses__status__exact=AVAILABLE",
        LOCATION_LIST + f"?country={country}",
        LOCATION_LIST + "?evses__connectors__power_type__exact=AC_3_PHASE",
        LOCATION_LIST + f"?publish__exact=1&parking_type__exact={first.parking_type}",
        LOCATION_LIST + f"?city={city}",
        LOCATION_LIST + "?" + urlencode({"last_updated__gte": "2000-01-01T00:00:00+00:00"}),
        EVSE_LIST,
        EVSE_LIST + "?p=last",
        EVSE_LIST + q(evse.uid),
        EVSE_LIST + q(evse.evse_id),
        EVSE_LIST + q(name),
        EVSE_LIST + q(city),
        EVSE_LIST + "?status__exact=AVAILABLE",
        EVSE_LIST + f"?location__country={country}",
        EVSE_LIST + f"?location__city={city}",
        EVSE_LIST + "?connectors__power_type__exact=AC_3_PHASE",
        CONNECTOR_LIST,
        CONNECTOR_LIST + "?p=last",
        CONNECTOR_LIST + q(first.id),
        CONNECTOR_LIST + q(evse.evse_id),
        CONNECTOR_LIST + q(name),
        CONNECTOR_LIST + q(city),
        CONNECTOR_LIST + "?evse__status__exact=AVAILABLE",
        CONNECTOR_LIST + f"?evse__location__country={country}",
        CONNECTOR_LIST + "?power_type__exact=AC_3_PHASE",
        DELIVERY_LIST,
        DELIVERY_LIST + "?p=last",
        DELIVERY_LIST + "?status__exact=succeeded",
        DELIVERY_LIST + q(first.id),
        DELIVERY_LIST + q(f"E:{evse.pk}"),
    ]


def resolve(admin_client, url: str) -> str:
    if "p=last" not in url:
        return url
    last = admin_client.get(url.replace("?p=last", "")).context["cl"].paginator.num_pages
    return url.replace("p=last", f"p={last}")


# --- Queries: the same at two sizes ------------------------------------------------------


def test_every_list_search_and_filter_page_costs_the_same_queries_at_two_sizes(
    admin_client, small_pages, django_assert_num_queries
):
    add_sites(4, seed=1)
    add_deliveries()
    first = Location.objects.order_by("pk").first()
    urls = [resolve(admin_client, url) for url in pages_of(first)]
    small = {}
    for url in urls:
        admin_client.get(url)  # warm up the session and content types
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(url)
        assert response.status_code == 200, url
        assert response.context["cl"].result_list, f"{url} lists nothing"
        small[url] = len(queries.captured_queries)

    add_sites(12, seed=2)  # four times the rows
    add_deliveries()

    for url in urls:
        with django_assert_num_queries(small[url]):
            response = admin_client.get(url)
        assert response.status_code == 200, url


def test_evse_counts_are_read_for_the_rows_shown_in_one_query(admin_client, small_pages):
    add_sites(2, seed=1)
    removed = EVSE.objects.order_by("pk").first()
    EVSE.objects.filter(pk=removed.pk).update(status=Status.REMOVED)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(LOCATION_LIST)

    reading_evses = [q["sql"] for q in queries.captured_queries if "locations_evse" in q["sql"]]
    assert len(reading_evses) == 1
    assert "GROUP BY" in reading_evses[0]
    assert '"locations_evse"."location_id" IN (' in reading_evses[0]
    assert {row.id: row._evse_count for row in response.context["cl"].result_list} == {
        location.id: location.evses.exclude(status=Status.REMOVED).count()
        for location in Location.objects.all()
    }


# --- Pages: the second half read from the end --------------------------------------------


@pytest.mark.parametrize("url", [LOCATION_LIST, EVSE_LIST, CONNECTOR_LIST])
def test_every_page_lists_the_same_rows_as_an_offset_would(admin_client, small_pages, url):
    add_sites(3, seed=1)  # 3 Locations: 1 page; 12 EVSEs: 4 pages; 24 Connectors: 8 pages
    model = {LOCATION_LIST: Location, EVSE_LIST: EVSE, CONNECTOR_LIST: Connector}[url]
    ids = list(model.objects.order_by("pk").values_list("pk", flat=True))
    pages = admin_client.get(url).context["cl"].paginator.num_pages

    listed = []
    for number in range(1, pages + 1):
        response = admin_client.get(f"{url}?p={number}")
        listed.append([row.pk for row in response.context["cl"].result_list])

    assert listed == [ids[n : n + 3] for n in range(0, len(ids), 3)]


def test_the_last_page_is_read_backwards_without_an_offset(admin_client, small_pages):
    add_sites(3, seed=1)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(EVSE_LIST + "?p=4")

    page_query = next(q["sql"] for q in queries.captured_queries if "LIMIT 3" in q["sql"])
    assert "OFFSET" not in page_query
    assert 'ORDER BY "locations_evse"."row_id" DESC' in page_query
    assert [row.pk for row in response.context["cl"].result_list] == list(
        EVSE.objects.order_by("pk").values_list("pk", flat=True)[9:12]
    )


# --- Counts: estimates on PostgreSQL -----------------------------------------------------


@postgresql_only
def test_a_large_unfiltered_list_shows_the_statistics_estimate(
    admin_client, small_pages, monkeypatch
):
    add_sites(3, seed=1)  # ocpi_demo_data runs ANALYZE: 12 EVSEs in the statistics
    monkeypatch.setattr(scale, "ESTIMATE_ABOVE", 10)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(EVSE_LIST)

    cl = response.context["cl"]
    assert (cl.paginator.estimated, cl.result_count) == (True, 12)
    assert "about</span> 12 EVSEs" in page_text(response)
    assert not any('COUNT(*)' in q["sql"] and "locations_evse" in q["sql"]
                   for q in queries.captured_queries)  # fmt: skip
    last = admin_client.get(EVSE_LIST + "?p=4").context["cl"].result_list
    assert [row.pk for row in last] == list(
        EVSE.objects.order_by("pk").values_list("pk", flat=True)[9:12]
    )


@postgresql_only
def test_a_long_filtered_list_is_counted_up_to_a_limit_then_estimated(
    admin_client, small_pages, monkeypatch
):
    add_sites(3, seed=1)
    monkeypatch.setattr(scale, "EXACT_UP_TO", 5)

    few = admin_client.get(EVSE_LIST + q(Location.objects.first().id)).context["cl"]
    many = admin_client.get(EVSE_LIST + q(EVSE.objects.first().evse_id[:6]))  # all 12

    assert (few.paginator.estimated, few.result_count) == (False, 4)
    assert many.context["cl"].paginator.estimated
    assert many.context["cl"].result_count >= 6
    assert "about</span>" in page_text(many)


def test_small_lists_are_counted_exactly(admin_client, small_pages):
    add_sites(2, seed=1)

    response = admin_client.get(EVSE_LIST)

    cl = response.context["cl"]
    assert (cl.paginator.estimated, cl.result_count) == (False, 8)
    assert "about</span>" not in page_text(response)


# --- Search --------------------------------------------------------------------------------


def listed(admin_client, url: str) -> list[str]:
    response = admin_client.get(url)
    assert response.status_code == 200
    return [str(row.pk) for row in response.context["cl"].result_list]


def pks(queryset) -> list[str]:
    return [str(pk) for pk in queryset.order_by("pk").values_list("pk", flat=True)]


def test_location_search_finds_ids_by_prefix_and_words_anywhere(admin_client):
    add_sites(6, seed=1)
    first = Location.objects.order_by("pk").first()
    evse = first.evses.order_by("pk").first()
    word = first.name.split()[-2].lower()  # the city in the name, lower case

    assert listed(admin_client, LOCATION_LIST + q(first.id.lower())) == [str(first.pk)]
    assert listed(admin_client, LOCATION_LIST + q(first.id[:-1])) == pks(
        Location.objects.filter(id__istartswith=first.id[:-1])
    )
    assert listed(admin_client, LOCATION_LIST + q(first.id[2:])) == []  # not a prefix
    assert listed(admin_client, LOCATION_LIST + q(evse.evse_id)) == [str(first.pk)]
    assert listed(admin_client, LOCATION_LIST + q(evse.evse_id.rsplit("*", 1)[0])) == [
        str(first.pk)  # four EVSEs match; the Location is listed once
    ]
    assert listed(admin_client, LOCATION_LIST + q(word)) == pks(
        Location.objects.filter(name__icontains=word)
        | Location.objects.filter(address__icontains=word)
        | Location.objects.filter(city__icontains=word)
    )
    assert listed(admin_client, LOCATION_LIST + q(f'"{first.name}"')) == [str(first.pk)]
    assert listed(admin_client, LOCATION_LIST + q(f"{first.city} {first.id}")) == [
        str(first.pk)  # every word must match (each in any field)
    ]
    assert listed(admin_client, LOCATION_LIST + q(f"{first.id} nowhere-to-be-found")) == []


def test_evse_connector_and_delivery_searches_find_their_rows(admin_client):
    add_sites(4, seed=1)
    add_deliveries()
    first = Location.objects.order_by("pk").first()
    evse = first.evses.order_by("pk").first()

    assert listed(admin_client, EVSE_LIST + q(evse.uid)) == [str(evse.pk)]
    assert listed(admin_client, EVSE_LIST + q(evse.evse_id)) == [str(evse.pk)]
    assert listed(admin_client, EVSE_LIST + q(f'"{first.name}"')) == pks(first.evses.all())
    assert sorted(listed(admin_client, CONNECTOR_LIST + q(first.id))) == sorted(
        pks(Connector.objects.filter(evse__location=first))
    )
    assert sorted(listed(admin_client, CONNECTOR_LIST + q(evse.evse_id))) == sorted(
        pks(evse.connectors.all())
    )
    assert listed(admin_client, DELIVERY_LIST + q(f"e:{evse.pk}")) == pks(
        Delivery.objects.filter(evse=evse)
    )
    assert sorted(listed(admin_client, DELIVERY_LIST + q(first.id))) == sorted(
        pks(Delivery.objects.filter(location=first))
    )
    assert listed(admin_client, DELIVERY_LIST + q("E:99999999999999999999")) == []


@postgresql_only
def test_on_postgresql_each_search_lookup_can_use_its_index(admin_client):
    add_sites(2, seed=1)
    first = Location.objects.order_by("pk").first()
    cl = admin_client.get(LOCATION_LIST + q("hub")).context["cl"]
    evse_cl = admin_client.get(EVSE_LIST + q(first.id)).context["cl"]
    with connection.cursor() as cursor:
        # Tiny tables: rule out scans that need no index condition, to see what can be used.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")

    plan = cl.queryset.explain()
    evse_plan = evse_cl.queryset.explain()

    for index in (
        "location_name_trgm_idx",
        "location_address_trgm_idx",  # (the city's trigram index too, but on a few rows
        # the planner prefers reading the small city btree whole)
        "location_id_prefix_idx",
        "location_postal_code_prefix_idx",
        "evse_evse_id_prefix_idx",
        "evse_uid_prefix_idx",
    ):
        assert index in plan, plan
    assert "evse_uid_prefix_idx" in evse_plan
    assert "location_id_prefix_idx" in evse_plan


# --- Filters -------------------------------------------------------------------------------


def test_country_and_city_choices_are_read_one_value_at_a_time_from_the_index(admin_client):
    add_sites(8, seed=1)
    countries = sorted(set(Location.objects.values_list("country", flat=True)))

    text = page_text(admin_client.get(LOCATION_LIST))

    for country in countries:
        assert f'href="?country={country}"' in text
    assert scale.distinct_values(Location, "country", 1, "default") == countries[:2]
    assert scale.distinct_values(Location, "city", 100, "default") == sorted(
        set(Location.objects.values_list("city", flat=True))
    )


def test_a_column_with_more_values_than_the_limit_offers_no_choices(admin_client, monkeypatch):
    add_sites(8, seed=1)
    cities = sorted(set(Location.objects.values_list("city", flat=True)))
    location_admin = admin.site._registry[Location]
    few_cities = ("city", scale.distinct_values_filter(limit=len(cities) - 1))
    filters = [
        few_cities if isinstance(f, tuple) and f[0] == "city" else f
        for f in location_admin.list_filter
    ]
    monkeypatch.setattr(location_admin, "list_filter", tuple(filters))

    text = page_text(admin_client.get(LOCATION_LIST))
    chosen = admin_client.get(LOCATION_LIST + f"?city={cities[0]}")

    assert f'href="?city={cities[0]}"' not in text
    assert [str(row.pk) for row in chosen.context["cl"].result_list] == pks(
        Location.objects.filter(city=cities[0])
    )  # a city chosen in the URL is still applied, and shown as the choice
    assert f'<li class="selected">\n    <a href="?city={cities[0]}"' in page_text(chosen)


# --- Selections of thousands of rows -------------------------------------------------------


def test_1500_ticked_evses_and_select_all_reach_the_action(admin_client, settings):
    # Written in the request, to see what reached the action (above the threshold the
    # same selection is queued: tests/locations/test_bulk_jobs.py).
    settings.ADMIN_BULK_IN_REQUEST = 2000
    add_sites(375, seed=1)  # 1,500 EVSEs: more form fields than Django's default 1,000
    evses = pks(EVSE.objects.all())
    assert len(evses) == 1500
    removing = EVSE.objects.exclude(status=Status.REMOVED).count()

    ticked = admin_client.post(EVSE_LIST, {"action": "mark_removed", "_selected_action": evses})
    across = admin_client.post(
        EVSE_LIST + "?status__exact=AVAILABLE",
        {"action": "mark_removed", "select_across": "1", "index": "0",
         "_selected_action": evses[:3]},
    )  # fmt: skip

    assert ticked.status_code == 200
    assert f'value="Yes, mark {removing} EVSEs removed"' in page_text(ticked)
    available = EVSE.objects.filter(status=Status.AVAILABLE).count()
    text = page_text(across)
    assert f'value="Yes, mark {available} EVSEs removed"' in text
    assert f"… and {available - 200} more" in text  # the first 200 are named
    assert text.count('name="_selected_action"') == 1  # not one field per EVSE
    assert '<input type="hidden" name="select_across" value="1">' in text

    confirmed = admin_client.post(
        EVSE_LIST + "?status__exact=AVAILABLE",
        {"action": "mark_removed", "select_across": "1", "post": "yes",
         "_selected_action": evses[:1]},
        follow=True,
    )  # fmt: skip

    assert messages_of(confirmed) == [("success", f"{available} EVSEs set to REMOVED.")]
    assert not EVSE.objects.filter(status=Status.AVAILABLE).exists()
