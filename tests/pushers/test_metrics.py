"""Push figures of /metrics: read from the rows at scrape time, the same from any process."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from locations import services
from locations.enums import Status
from locations.models import EVSE
from pushers import metrics, retention
from pushers.models import Delivery, DeliveryAttempt, PushTally

from .conftest import add_push_partner, build_site

pytestmark = pytest.mark.usefixtures("eager")

TOKEN = "scraper-token"


@pytest.fixture(autouse=True)
def _metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape() -> dict[tuple[str, tuple], float]:
    """Every push sample of /metrics: {(name, sorted labels without partner ids): value}."""
    response = Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            if s.name.startswith("ocpi_push_"):
                labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "partner_id"))
                samples[(s.name, labels)] = s.value
    return samples


def of(samples, name: str, partner: str, **labels) -> float:
    return samples[(name, tuple(sorted({"partner": partner, **labels}.items())))]


def _set_status(evse: EVSE, status: str) -> None:
    evse.status = status
    services.evse_update(evse=evse)


def _latency(delivery: Delivery) -> float:
    return (delivery.finished_at - delivery.queued_at).total_seconds()


def test_after_a_push_the_metrics_count_the_call_the_delivery_and_its_latency(
    push_partner, receiver, saved
):
    saved(lambda: build_site(n_evses=1))

    samples = scrape()

    who = "Receiving eMSP"
    delivered = Delivery.objects.get()
    assert delivered.status == "succeeded"
    assert of(samples, "ocpi_push_attempts_total", who, outcome="success") == 1
    assert of(samples, "ocpi_push_attempts_total", who, outcome="permanent") == 0
    assert of(samples, "ocpi_push_attempts_total", who, outcome="transient") == 0
    assert of(samples, "ocpi_push_deliveries", who, status="succeeded") == 1
    assert of(samples, "ocpi_push_backlog", who) == 0
    assert of(samples, "ocpi_push_oldest_waiting_seconds", who) == 0
    latency = _latency(delivered)
    assert of(samples, "ocpi_push_delivery_latency_seconds_count", who) == 1
    assert of(samples, "ocpi_push_delivery_latency_seconds_sum", who) == pytest.approx(latency)
    for bound in metrics.LATENCY_BUCKETS:
        expected = 1 if latency <= bound else 0
        assert of(samples, "ocpi_push_delivery_latency_seconds_bucket", who, le=str(bound)) == (
            expected
        ), bound
    assert of(samples, "ocpi_push_delivery_latency_seconds_bucket", who, le="+Inf") == 1


def test_after_a_refusal_the_metrics_count_a_permanent_failure_and_a_parked_delivery(
    push_partner, receiver, saved
):
    site = saved(lambda: build_site(n_evses=1))
    receiver.answer_next((400, 2001))  # the partner refuses the next message

    saved(lambda: _set_status(EVSE.objects.get(location=site), Status.CHARGING))

    samples = scrape()
    who = "Receiving eMSP"
    assert Delivery.objects.filter(status="failed").count() == 1
    assert of(samples, "ocpi_push_attempts_total", who, outcome="permanent") == 1
    assert of(samples, "ocpi_push_deliveries", who, status="failed") == 1
    # The refused PATCH is healed with a PUT of the whole Location (docs/push.md, Messages).
    successes = DeliveryAttempt.objects.filter(outcome="success").count()
    assert of(samples, "ocpi_push_attempts_total", who, outcome="success") == successes
    # Only changes that reached the partner are in the latency histogram.
    succeeded = Delivery.objects.filter(status="succeeded", full_sync__isnull=True)
    assert of(samples, "ocpi_push_delivery_latency_seconds_count", who) == succeeded.count()


def test_backlog_and_the_oldest_waiting_delivery_of_a_partner_that_is_down(
    push_partner, receiver, saved
):
    site = saved(lambda: build_site(n_evses=3))
    receiver.answer_next(*[(503, 3000)] * 3)
    for evse in EVSE.objects.filter(location=site):
        saved(lambda evse=evse: _set_status(evse, Status.CHARGING))
    Delivery.objects.filter(status="pending").update(
        created_at=timezone.now() - timedelta(seconds=300)
    )

    samples = scrape()

    who = "Receiving eMSP"
    assert of(samples, "ocpi_push_backlog", who) == 3
    assert of(samples, "ocpi_push_deliveries", who, status="pending") == 3
    assert 300 <= of(samples, "ocpi_push_oldest_waiting_seconds", who) < 400
    assert of(samples, "ocpi_push_attempts_total", who, outcome="transient") >= 1


def test_the_counters_do_not_go_down_when_retention_deletes_old_history(
    push_partner, receiver, saved, settings
):
    site = saved(lambda: build_site(n_evses=2))
    receiver.answer_next((400, 2001))
    saved(lambda: _set_status(EVSE.objects.filter(location=site).first(), Status.CHARGING))
    before = scrape()
    long_ago = timezone.now() - timedelta(days=settings.PUSH_KEEP_DAYS + 1)
    DeliveryAttempt.objects.update(started_at=long_ago)
    for delivery in Delivery.objects.filter(status="succeeded"):  # keeps each one's latency
        Delivery.objects.filter(pk=delivery.pk).update(
            queued_at=long_ago - (delivery.finished_at - delivery.queued_at), finished_at=long_ago
        )

    succeeded = Delivery.objects.filter(status="succeeded").count()

    purged = retention.purge(now=timezone.now())

    after = scrape()
    assert purged.deliveries == succeeded > 0
    assert list(Delivery.objects.values_list("status", flat=True)) == ["failed"]  # kept
    assert not DeliveryAttempt.objects.exists()
    assert PushTally.objects.exists()
    counters = {
        k: v
        for k, v in before.items()
        if k[0].startswith(("ocpi_push_attempts_total", "ocpi_push_delivery_latency_seconds"))
    }
    assert {k: after[k] for k in counters} == pytest.approx(counters)


def test_a_scrape_costs_the_same_queries_whatever_the_number_of_partners(
    db, receiver, saved, django_assert_num_queries
):
    for i in range(3):
        add_push_partner(receiver, name=f"eMSP {i}", party_id=f"EM{i}")
    saved(lambda: build_site(n_evses=2))

    # Partners, deliveries by status, attempts by outcome, latency buckets, tallies,
    # latest full syncs.
    with django_assert_num_queries(6):
        figures = metrics.partner_figures()

    assert [(f.name, f.deliveries, f.attempts) for f in figures] == [
        (f"eMSP {i}", {"succeeded": 1}, {"success": 1}) for i in range(3)
    ]
