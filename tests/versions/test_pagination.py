"""The pagination and date-filter plumbing, on a throw-away list endpoint."""

from datetime import UTC, datetime, timedelta

import django_filters
import pytest
from django.contrib.auth.models import User
from django.urls import path
from rest_framework.views import APIView

from tests.versions.test_versions_api import body_without_timestamp
from versions.filters import OcpiDateTimeFilter, filter_queryset_or_2001
from versions.pagination import paginated_response


class UserFilter(django_filters.FilterSet):
    date_from = OcpiDateTimeFilter(field_name="date_joined", lookup_expr="gte")
    date_to = OcpiDateTimeFilter(field_name="date_joined", lookup_expr="lt")


class UserList(APIView):
    def get(self, request):
        queryset = filter_queryset_or_2001(UserFilter, request, User.objects.order_by("pk"))
        return paginated_response(request, queryset, lambda page: [u.username for u in page])


urlpatterns = [path("ocpi/test/users", UserList.as_view())]

START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def users(db):
    # user00 joined at START, user01 a minute later, ...
    return [
        User.objects.create(username=f"user{i:02d}", date_joined=START + timedelta(minutes=i))
        for i in range(7)
    ]


pytestmark = pytest.mark.urls(__name__)


def test_first_page_has_total_limit_and_a_next_link(ocpi_client, users):
    response = ocpi_client.get("/ocpi/test/users?limit=3")

    assert response.status_code == 200
    assert body_without_timestamp(response)["data"] == ["user00", "user01", "user02"]
    assert response["X-Total-Count"] == "7"
    assert response["X-Limit"] == "100"
    assert response["Link"] == (
        '<http://testserver.example/ocpi/test/users?limit=3&offset=3>; rel="next"'
    )


def test_following_the_links_visits_every_object_once(ocpi_client, users):
    seen, url, pages = [], "/ocpi/test/users?limit=3", 0
    while url:
        response = ocpi_client.get(url)
        seen += response.json()["data"]
        pages += 1
        link = response.headers.get("Link")
        url = link[1 : link.index(">")].removeprefix("http://testserver.example") if link else None

    assert seen == [u.username for u in users]
    assert pages == 3


def test_last_page_has_no_link(ocpi_client, users):
    response = ocpi_client.get("/ocpi/test/users?offset=6&limit=3")

    assert response.json()["data"] == ["user06"]
    assert "Link" not in response


def test_offset_past_the_end_is_an_empty_page(ocpi_client, users):
    response = ocpi_client.get("/ocpi/test/users?offset=50")

    assert response.status_code == 200
    assert response.json()["data"] == []
    assert response["X-Total-Count"] == "7"
    assert "Link" not in response


def test_limit_is_capped_at_the_server_maximum_without_error(ocpi_client, users, settings):
    settings.OCPI_MAX_PAGE_SIZE = 2

    response = ocpi_client.get("/ocpi/test/users?limit=2000")

    assert response.status_code == 200
    assert len(response.json()["data"]) == 2
    assert response["X-Limit"] == "2"
    assert response["Link"] == (
        '<http://testserver.example/ocpi/test/users?limit=2&offset=2>; rel="next"'
    )


def test_missing_limit_means_the_server_maximum(ocpi_client, users, settings):
    settings.OCPI_MAX_PAGE_SIZE = 4

    response = ocpi_client.get("/ocpi/test/users")

    assert len(response.json()["data"]) == 4
    assert response["Link"].startswith(
        "<http://testserver.example/ocpi/test/users?offset=4&limit=4>"
    )


def test_link_keeps_every_filter_and_total_counts_after_filters(ocpi_client, users):
    response = ocpi_client.get(
        "/ocpi/test/users?date_from=2024-01-01T00:02:00Z&date_to=2024-01-01T00:06:00&limit=2"
    )

    assert response.json()["data"] == ["user02", "user03"]
    assert response["X-Total-Count"] == "4"
    assert response["Link"] == (
        "<http://testserver.example/ocpi/test/users?date_from=2024-01-01T00%3A02%3A00Z"
        '&date_to=2024-01-01T00%3A06%3A00&limit=2&offset=2>; rel="next"'
    )


def test_date_from_is_inclusive_and_date_to_exclusive(ocpi_client, users):
    response = ocpi_client.get(
        "/ocpi/test/users?date_from=2024-01-01T00:01:00Z&date_to=2024-01-01T00:03:00Z"
    )

    assert response.json()["data"] == ["user01", "user02"]


@pytest.mark.parametrize(
    "query",
    [
        "offset=-1",
        "offset=abc",
        "offset=1.5",
        "limit=0",
        "limit=-5",
        "limit=ten",
        "limit=99999999999999999999999",
        "offset=%00",
        "date_from=2024-01-01T00:00:00%2B01:00",
        "date_from=2024-01-01",
        "date_to=not-a-date",
        "date_from=%27%3B%20DROP%20TABLE%20auth_user%3B--",
    ],
)
def test_invalid_parameters_are_200_with_2001(ocpi_client, users, query):
    response = ocpi_client.get(f"/ocpi/test/users?{query}")

    assert response.status_code == 200
    body = body_without_timestamp(response)
    assert body["status_code"] == 2001
    assert body["status_message"]
    assert "data" not in body
