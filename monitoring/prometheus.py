"""The Prometheus side of `/metrics`.

Two sources, rendered one after the other:
- request latency per OCPI endpoint, measured in each web process (`middleware`). With
  PROMETHEUS_MULTIPROC_DIR set (an empty folder, before the processes start) prometheus-client
  writes them to files there and a scrape of any worker process sums every process of the
  machine; without it a scrape shows only the process that answered it (docs/operations.md).
- push figures, read from the database at scrape time (`pushers.metrics`), so any web
  process on any machine shows the same totals.
"""

import os
from collections.abc import Iterator

from django.conf import settings
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.multiprocess import MultiProcessCollector

from pushers import metrics as push_metrics

_REQUESTS = CollectorRegistry()
REQUEST_SECONDS = Histogram(
    "ocpi_http_request_duration_seconds",
    "Time to answer an OCPI request, by OCPI module and route (URL name).",
    ["module", "route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=_REQUESTS,
)
REQUESTS = Counter(
    "ocpi_http_requests",
    "OCPI requests answered, by OCPI module, route, method and HTTP status.",
    ["module", "route", "method", "status"],
    registry=_REQUESTS,
)


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class PushCollector:
    """Push figures per partner, from the rows (a fixed number of queries per scrape)."""

    def describe(self) -> list[Metric]:
        return []  # no collect() at registration: that would query the database

    def collect(self) -> Iterator[Metric]:
        figures = push_metrics.partner_figures()
        now = timezone.now()
        labels = ["partner_id", "partner"]

        deliveries = GaugeMetricFamily(
            "ocpi_push_deliveries",
            "Deliveries kept (PUSH_KEEP_DAYS), by partner and status.",
            labels=[*labels, "status"],
        )
        attempts = CounterMetricFamily(
            "ocpi_push_attempts",
            "Push calls made, by partner and outcome (success, transient, permanent).",
            labels=[*labels, "outcome"],
        )
        backlog = GaugeMetricFamily(
            "ocpi_push_backlog",
            "Deliveries waiting to be sent (pending or sending).",
            labels=labels,
        )
        oldest = GaugeMetricFamily(
            "ocpi_push_oldest_waiting_seconds",
            "Age of the oldest waiting delivery (0 when none waits).",
            labels=labels,
        )
        latency = HistogramMetricFamily(
            "ocpi_push_delivery_latency_seconds",
            "Save of a change to the partner's receipt of it (succeeded deliveries, full syncs"
            " left out).",
            labels=labels,
        )
        state = GaugeMetricFamily(
            "ocpi_push_partner_state",
            "1 when the partner is in that state (paused, needs_full_sync, degraded).",
            labels=[*labels, "state"],
        )
        failures = GaugeMetricFamily(
            "ocpi_push_consecutive_failures", "Transient failures in a row.", labels=labels
        )
        sync_total = GaugeMetricFamily(
            "ocpi_push_full_sync_locations",
            "Locations in the partner's latest full sync.",
            labels=labels,
        )
        sync_waiting = GaugeMetricFamily(
            "ocpi_push_full_sync_waiting",
            "Locations of the partner's latest full sync not sent yet.",
            labels=labels,
        )
        for f in figures:
            who = [str(f.partner_id), f.name]
            for status in push_metrics.Status.values:
                deliveries.add_metric([*who, status], f.deliveries.get(status, 0))
            for outcome in ("success", "transient", "permanent"):
                attempts.add_metric([*who, outcome], f.attempts.get(outcome, 0))
            backlog.add_metric(who, f.backlog)
            waited = (now - f.oldest_waiting).total_seconds() if f.oldest_waiting else 0.0
            oldest.add_metric(who, max(waited, 0.0))
            buckets = [
                (str(bound), count)
                for bound, count in zip(
                    push_metrics.LATENCY_BUCKETS, f.latency_buckets, strict=True
                )
            ]
            latency.add_metric(who, [*buckets, ("+Inf", f.latency_count)], f.latency_sum)
            degraded = f.consecutive_failures >= settings.PUSH_BREAKER_FAILURES
            for name, on in (
                ("paused", f.paused),
                ("needs_full_sync", f.needs_full_sync),
                ("degraded", degraded),
            ):
                state.add_metric([*who, name], 1 if on else 0)
            failures.add_metric(who, f.consecutive_failures)
            if f.full_sync_total is not None:
                sync_total.add_metric(who, f.full_sync_total)
                sync_waiting.add_metric(who, f.full_sync_waiting)
        yield from (deliveries, attempts, backlog, oldest, latency, state, failures)
        yield from (sync_total, sync_waiting)


def exposition() -> bytes:
    """The text of one scrape (Prometheus text format 0.0.4)."""
    if multiprocess():
        requests = CollectorRegistry()
        MultiProcessCollector(requests)
    else:
        requests = _REQUESTS
    push = CollectorRegistry()
    push.register(PushCollector())
    return generate_latest(requests) + generate_latest(push)
