"""Paging of the Sender GET list (locations/paging.py; OCPI 2.2.1, Transport and format,
Pagination): keyset pages behind `offset`, the count cached per data version.

Every answer is compared whole with the plain COUNT + OFFSET paging it replaces
(`versions.pagination.paginated_response` on the same rows, served next to it here)."""

import socket
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import include, path, re_path

from locations import services, sharing
from locations.api import FunctionalModuleView, LocationFilterSet, _render_page
from locations.models import Location
from locations.selectors import location_rows
from partners.services import partner_create
from tests.conftest import token_header
from versions.filters import filter_queryset_or_2001
from versions.pagination import paginated_response

from .conftest import PINNED, create_site, pin_last_updated
from .test_api import URL, body_without_timestamp

REFERENCE = "/ocpi/reference/locations"


class OffsetLocationList(FunctionalModuleView):
    """The list as it was paged before: COUNT and OFFSET on every page."""

    def get(self, request):
        rows = location_rows(visible_to=request.user.pk)
        queryset = filter_queryset_or_2001(LocationFilterSet, request, rows)
        return paginated_response(request, queryset, _render_page)


urlpatterns = [
    path("", include("locations.urls")),
    re_path(r"^ocpi/reference/locations/?$", OffsetLocationList.as_view()),
]
pytestmark = pytest.mark.urls(__name__)

# Token + partner, roles, the data version, the page, its EVSEs, their Connectors; COUNT
# once per data version (tests/locations/test_api.py says the same for other page shapes).
PAGE_QUERIES = 6
COUNTING_PAGE_QUERIES = 7
# Past the end: token + partner, roles, the data version (and COUNT when not cached).
PAST_THE_END_QUERIES = 3


def _sites(count: int, *, start: int = 0):
    """LOC-n, created in order, pinned to PINNED + n minutes (last_updated)."""
    return [
        pin_last_updated(create_site(id=f"LOC-{n}"), PINNED + timedelta(minutes=n))
        for n in range(start, start + count)
    ]


def _rename(location: Location) -> None:
    """A real change through the services: the Location's `last_updated` is stamped now."""
    stored = Location.objects.get(pk=location.pk)
    stored.name = f"{stored.name} (renamed)"
    services.location_update(location=stored)


def _ids(response) -> list[str]:
    return [location["id"] for location in body_without_timestamp(response)["data"]]


def _headers(response, path: str = URL) -> dict:
    """The Pagination headers, the Link's path made the list's own."""
    found = {name: response.get(name) for name in ("X-Total-Count", "X-Limit", "Link")}
    if found["Link"]:
        found["Link"] = found["Link"].replace(path, URL)
    return found


def _next(response) -> str | None:
    link = response.get("Link")
    return link[1 : link.index(">")].removeprefix("http://testserver.example") if link else None


def _crawl(client, query: str = "limit=2", between=None, urls=None) -> list:
    """Follow the Links from the first page; `between(page_number)` runs after each page;
    the URLs asked for are appended to `urls`."""
    responses, url = [], f"{URL}?{query}"
    while url:
        if urls is not None:
            urls.append(url)
        responses.append(client.get(url))
        if between:
            between(len(responses))
        url = _next(responses[-1])
    return responses


def _assert_same_as_offset_paging(client, query: str) -> None:
    ours = client.get(f"{URL}?{query}")
    reference = client.get(f"{REFERENCE}?{query}")
    assert ours.status_code == reference.status_code == 200
    assert body_without_timestamp(ours) == body_without_timestamp(reference)
    assert _headers(ours) == _headers(reference, REFERENCE)


# --- The same answers as COUNT + OFFSET ------------------------------------------------------


@pytest.mark.parametrize(
    "window",
    [
        "",
        "&date_from=2024-03-01T10:03:00Z",
        "&date_to=2024-03-01T10:07:00Z",
        "&date_from=2024-03-01T10:02:00Z&date_to=2024-03-01T10:09:00Z",
        "&date_from=2030-01-01T00:00:00Z",
    ],
)
def test_every_page_of_a_crawl_is_the_page_offset_paging_gives(ocpi_client, window):
    _sites(11)
    urls: list[str] = []
    pages = _crawl(ocpi_client, f"limit=3{window}", urls=urls)

    for url, page in zip(urls, pages, strict=True):
        reference = ocpi_client.get(url.replace(URL, REFERENCE))
        assert body_without_timestamp(page) == body_without_timestamp(reference)
        assert _headers(page) == _headers(reference, REFERENCE)


@pytest.mark.parametrize("offset", [0, 1, 4, 7, 10, 11, 30])
def test_a_page_asked_for_directly_is_the_page_offset_paging_gives(ocpi_client, offset):
    _sites(11)

    _assert_same_as_offset_paging(ocpi_client, f"offset={offset}&limit=4")
    _assert_same_as_offset_paging(
        ocpi_client, f"offset={offset}&limit=4&date_to=2024-03-01T10:08:00Z"
    )


def test_a_crawl_returns_every_location_once_in_creation_order(ocpi_client):
    _sites(11)

    pages = _crawl(ocpi_client, "limit=4")

    assert [_ids(page) for page in pages] == [
        ["LOC-0", "LOC-1", "LOC-2", "LOC-3"],
        ["LOC-4", "LOC-5", "LOC-6", "LOC-7"],
        ["LOC-8", "LOC-9", "LOC-10"],
    ]
    assert [_headers(page) for page in pages] == [
        {
            "X-Total-Count": "11",
            "X-Limit": "100",
            "Link": f'<http://testserver.example{URL}?limit=4&offset=4>; rel="next"',
        },
        {
            "X-Total-Count": "11",
            "X-Limit": "100",
            "Link": f'<http://testserver.example{URL}?limit=4&offset=8>; rel="next"',
        },
        {"X-Total-Count": "11", "X-Limit": "100", "Link": None},
    ]


def test_a_crawl_with_roaming_agreements_pages_through_what_the_partner_may_see(
    ocpi_client, partner
):
    other, _ = partner_create(name="Other eMSP", country_code="FR", party_id="OTH")
    made = _sites(9)
    sharing.locations_share_only_with(locations=made[1::3], partners=[other])
    sharing.locations_share_only_with(locations=made[2::3], partners=[partner, other])

    pages = _crawl(ocpi_client, "limit=2")

    assert [_ids(page) for page in pages] == [
        ["LOC-0", "LOC-2"],
        ["LOC-3", "LOC-5"],
        ["LOC-6", "LOC-8"],
    ]
    assert [page["X-Total-Count"] for page in pages] == ["6", "6", "6"]
    for offset in (0, 2, 4, 6):
        _assert_same_as_offset_paging(ocpi_client, f"offset={offset}&limit=2")


# --- Rows that change between pages ----------------------------------------------------------


def test_a_location_leaving_a_date_to_window_mid_crawl_makes_no_other_one_skipped(ocpi_client):
    made = _sites(8)
    window = "limit=3&date_to=2024-03-01T11:00:00Z"

    def update_a_sent_one(page_number):
        if page_number == 1:  # LOC-1 was on the first page; its change takes it out
            _rename(made[1])

    pages = _crawl(ocpi_client, window, between=update_a_sent_one)

    # With OFFSET the second page would start at LOC-4 and LOC-3 would never be sent (the
    # spec's advice: repeat the previous page with offset - 1).
    assert [_ids(page) for page in pages] == [
        ["LOC-0", "LOC-1", "LOC-2"],
        ["LOC-3", "LOC-4", "LOC-5"],
        ["LOC-6", "LOC-7"],
    ]
    assert [page["X-Total-Count"] for page in pages] == ["8", "7", "7"]


def test_a_location_entering_a_date_from_window_behind_the_crawl_waits_for_the_next_crawl(
    ocpi_client,
):
    made = _sites(8)
    window = "limit=3&date_from=2024-03-01T10:02:00Z"

    def update_an_old_one(page_number):
        if page_number == 1:  # LOC-0 is older than date_from; now it is changed
            _rename(made[0])

    pages = _crawl(ocpi_client, window, between=update_an_old_one)

    # With OFFSET, LOC-4 would be sent twice (everything shifts by one).
    assert [_ids(page) for page in pages] == [
        ["LOC-2", "LOC-3", "LOC-4"],
        ["LOC-5", "LOC-6", "LOC-7"],
    ]
    assert [page["X-Total-Count"] for page in pages] == ["6", "7"]
    crawled_at = Location.objects.get(pk=made[0].pk).last_updated.strftime("%Y-%m-%dT%H:%M:%S")
    assert _ids(ocpi_client.get(URL, {"date_from": crawled_at})) == ["LOC-0"]


def test_a_location_withdrawn_from_the_partner_mid_crawl_makes_no_other_one_skipped(
    ocpi_client,
):
    made = _sites(7)

    def withdraw_a_sent_one(page_number):
        if page_number == 1:
            sharing.locations_share_only_with(locations=[made[0]], partners=[])

    pages = _crawl(ocpi_client, "limit=3", between=withdraw_a_sent_one)

    assert [_ids(page) for page in pages] == [
        ["LOC-0", "LOC-1", "LOC-2"],
        ["LOC-3", "LOC-4", "LOC-5"],
        ["LOC-6"],
    ]
    assert [page["X-Total-Count"] for page in pages] == ["7", "6", "6"]


def test_a_location_created_mid_crawl_is_on_the_last_page(ocpi_client):
    _sites(5)

    def create_one(page_number):
        if page_number == 1:
            create_site(id="LOC-NEW")

    pages = _crawl(ocpi_client, "limit=3", between=create_one)

    assert [_ids(page) for page in pages] == [
        ["LOC-0", "LOC-1", "LOC-2"],
        ["LOC-3", "LOC-4", "LOC-NEW"],
    ]
    assert [page["X-Total-Count"] for page in pages] == ["5", "6"]


def test_a_short_page_has_no_link_even_when_the_count_says_more(ocpi_client):
    made = _sites(6)
    window = "limit=2&date_from=2024-03-01T10:00:00Z"
    first = ocpi_client.get(f"{URL}?{window}")
    for location in made[2:5]:  # older stamps the data version does not see: count kept
        pin_last_updated(location, PINNED - timedelta(hours=1))

    second = ocpi_client.get(_next(first))

    assert _ids(second) == ["LOC-5"]
    assert _headers(second) == {"X-Total-Count": "6", "X-Limit": "100", "Link": None}


# --- Query counts ----------------------------------------------------------------------------


@pytest.mark.parametrize("locations", [8, 24])
def test_a_page_costs_the_same_queries_at_any_size_and_depth(
    ocpi_client, django_assert_num_queries, locations
):
    _sites(locations)
    last = locations - 2

    with django_assert_num_queries(COUNTING_PAGE_QUERIES):
        first = ocpi_client.get(URL, {"limit": 2})
    with django_assert_num_queries(PAGE_QUERIES):
        second = ocpi_client.get(_next(first))
    with django_assert_num_queries(PAGE_QUERIES):  # a jump: no page led there
        deepest = ocpi_client.get(URL, {"limit": 2, "offset": last})
    window = {"limit": 2, "date_from": "2000-01-01T00:00:00Z"}
    with django_assert_num_queries(COUNTING_PAGE_QUERIES):  # another filter, its own count
        ocpi_client.get(URL, window)
    with django_assert_num_queries(PAGE_QUERIES):
        windowed = ocpi_client.get(URL, {**window, "offset": last})
    with django_assert_num_queries(PAST_THE_END_QUERIES):
        past = ocpi_client.get(URL, {"limit": 2, "offset": locations})

    assert _ids(second) == ["LOC-2", "LOC-3"]
    assert (
        _ids(deepest)
        == _ids(windowed)
        == [
            f"LOC-{last}",
            f"LOC-{last + 1}",
        ]
    )
    assert _ids(past) == []


def test_a_date_filtered_crawl_costs_the_same_queries_on_every_page(
    ocpi_client, django_assert_num_queries
):
    _sites(12)
    url = f"{URL}?limit=2&date_from=2024-03-01T10:04:00Z"

    counts = []
    while url:
        with django_assert_num_queries(PAGE_QUERIES if counts else COUNTING_PAGE_QUERIES):
            response = ocpi_client.get(url)
        counts.append(len(_ids(response)))
        url = _next(response)

    assert counts == [2, 2, 2, 2]


# --- The count cache -------------------------------------------------------------------------


def test_the_count_follows_a_new_location_at_once(ocpi_client):
    _sites(3)
    assert ocpi_client.get(URL)["X-Total-Count"] == "3"

    create_site(id="LOC-NEW")

    assert ocpi_client.get(URL)["X-Total-Count"] == "4"


def test_the_count_of_a_window_follows_a_change_at_once(ocpi_client):
    made = _sites(3)
    window = {"date_from": "2024-03-01T10:02:00Z"}
    assert ocpi_client.get(URL, window)["X-Total-Count"] == "1"

    _rename(made[0])

    assert ocpi_client.get(URL, window)["X-Total-Count"] == "2"


def test_the_count_is_per_partner(ocpi_client, partner, client):
    made = _sites(3)
    partner_create(name="Other eMSP", country_code="FR", party_id="OTH", token="other-token-1")
    sharing.locations_share_only_with(locations=[made[0]], partners=[partner])

    mine = ocpi_client.get(URL)
    theirs = client.get(URL, HTTP_AUTHORIZATION=token_header("other-token-1"))

    assert (mine["X-Total-Count"], theirs["X-Total-Count"]) == ("3", "2")


def test_a_change_the_data_version_misses_is_counted_after_the_max_age(ocpi_client):
    made = _sites(3)
    assert ocpi_client.get(URL, {"date_to": "2024-03-01T10:01:00Z"})["X-Total-Count"] == "1"
    # An older stamp on a Location that is not the newest: neither MAX moves.
    pin_last_updated(made[1], PINNED - timedelta(minutes=1))

    cached = ocpi_client.get(URL, {"date_to": "2024-03-01T10:01:00Z"})
    cache.clear()  # what OCPI_LIST_COUNT_MAX_AGE does after that many seconds
    counted = ocpi_client.get(URL, {"date_to": "2024-03-01T10:01:00Z"})

    # Until then the page keeps to what was counted (its bounds come with the count).
    assert (cached["X-Total-Count"], _ids(cached)) == ("1", ["LOC-0"])
    assert (counted["X-Total-Count"], _ids(counted)) == ("2", ["LOC-0", "LOC-1"])


def test_without_a_count_max_age_every_page_counts(
    ocpi_client, settings, django_assert_num_queries
):
    settings.OCPI_LIST_COUNT_MAX_AGE = 0  # Django's cache: a timeout of 0 keeps nothing
    _sites(3)
    ocpi_client.get(URL)

    with django_assert_num_queries(COUNTING_PAGE_QUERIES):
        response = ocpi_client.get(URL)

    assert response["X-Total-Count"] == "3"


def test_a_cache_that_is_down_changes_nothing_but_the_cost(ocpi_client, settings):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _sites(5)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }

    pages = _crawl(ocpi_client, "limit=2")

    assert [_ids(page) for page in pages] == [["LOC-0", "LOC-1"], ["LOC-2", "LOC-3"], ["LOC-4"]]
    assert [page["X-Total-Count"] for page in pages] == ["5", "5", "5"]
