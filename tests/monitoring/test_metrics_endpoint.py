"""/metrics: off unless configured, guarded by a token or an address list; request latency
per OCPI endpoint (the push figures: tests/pushers/test_metrics.py)."""

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "scraper-token"


def _scrape(client: Client | None = None, **headers):
    return (client or Client()).get("/metrics", headers=headers)


def _samples(response) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def test_metrics_are_off_by_default(db, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", []

    assert _scrape().status_code == 404
    assert _scrape(Authorization="Bearer anything").status_code == 404


@pytest.mark.parametrize("sent", ["", "Bearer wrong", f"Basic {TOKEN}", TOKEN])
def test_a_scraper_without_the_token_is_refused(db, settings, sent):
    settings.METRICS_TOKEN = TOKEN

    assert _scrape(Authorization=sent).status_code == 403


def test_the_address_list_admits_only_its_networks(db, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", ["10.1.0.0/16", "127.0.0.1"]

    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.2.0.1").get("/metrics").status_code == 403


def test_with_both_set_a_scraper_needs_both(db, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = TOKEN, ["10.1.0.0/16"]

    inside, outside = Client(REMOTE_ADDR="10.1.2.3"), Client(REMOTE_ADDR="10.2.0.1")
    assert _scrape(inside, Authorization=f"Bearer {TOKEN}").status_code == 200
    assert _scrape(inside).status_code == 403
    assert _scrape(outside, Authorization=f"Bearer {TOKEN}").status_code == 403


def test_request_latency_is_counted_per_ocpi_module_and_route_never_per_raw_path(db, settings):
    settings.METRICS_TOKEN = TOKEN
    auth = {"Authorization": f"Bearer {TOKEN}"}
    versions = (("method", "GET"), ("module", "versions"), ("route", "ocpi-versions"))
    unmatched = (("method", "GET"), ("module", "unknown"), ("route", "unmatched"))
    before = _samples(_scrape(**auth))

    client = Client()
    assert client.get("/ocpi/versions").status_code == 401  # no token: answered all the same
    assert client.get("/ocpi/versions/").status_code == 401
    assert client.get("/ocpi/no/such/path-1").status_code == 404
    assert client.get("/ocpi/no/such/path-2").status_code == 404
    assert client.get("/admin/login/").status_code == 200  # not an OCPI endpoint: not counted

    after = _samples(_scrape(**auth))

    def grew(name: str, labels: tuple) -> float:
        key = (name, tuple(sorted(labels)))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("ocpi_http_requests_total", (*versions, ("status", "401"))) == 2
    assert grew("ocpi_http_request_duration_seconds_count", versions) == 2
    assert grew("ocpi_http_request_duration_seconds_bucket", (*versions, ("le", "+Inf"))) == 2
    assert grew("ocpi_http_requests_total", (*unmatched, ("status", "404"))) == 2
    assert not any("admin" in str(labels) for _, labels in after)
