"""What `/metrics` shows about push, read from the rows at scrape time.

Pushes run in worker processes on any number of machines, so in-process counters would
each see a part; the rows see everything. A scrape costs the same few queries whatever the
number of partners and deliveries (aggregates grouped by partner). The counters (attempts
by outcome, the latency histogram of succeeded deliveries) would go down when old rows are
deleted, so `retention` first adds what it deletes to `PushTally` (`tally_attempts`,
`tally_deliveries`).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.query import QuerySet

from partners.models import Partner

from .models import Delivery, DeliveryAttempt, FullSync, PushTally

Status = Delivery.Status

# Save → partner receipt, in seconds (upper bounds; +Inf is the count).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0)

_LATENCY = ExpressionWrapper(F("finished_at") - F("queued_at"), output_field=DurationField())


@dataclass
class PartnerFigures:
    partner_id: int
    name: str
    paused: bool = False
    needs_full_sync: bool = False
    consecutive_failures: int = 0
    # Deliveries kept (PUSH_KEEP_DAYS) by status, now: a gauge.
    deliveries: dict[str, int] = field(default_factory=dict)
    oldest_waiting: datetime | None = None  # created_at of the oldest open Delivery
    # Counters, including what the sweeper deleted.
    attempts: dict[str, int] = field(default_factory=dict)
    latency_buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    latency_count: int = 0
    latency_sum: float = 0.0  # seconds
    # The partner's latest full sync: Locations in it, and those still waiting.
    full_sync_total: int | None = None
    full_sync_waiting: int = 0

    @property
    def backlog(self) -> int:
        return sum(self.deliveries.get(s, 0) for s in Delivery.OPEN)


def _latency_aggregates() -> dict:
    buckets = {
        f"le{i}": Count("id", filter=Q(latency__lte=timedelta(seconds=b)))
        for i, b in enumerate(LATENCY_BUCKETS)
    }
    return {**buckets, "n": Count("id"), "total": Sum("latency")}


def _succeeded_changes(deliveries: QuerySet[Delivery]) -> QuerySet:
    # Full syncs are left out: their `queued_at` is the sync's start, not a save.
    return (
        deliveries.filter(status=Status.SUCCEEDED, full_sync__isnull=True)
        .alias(latency=_LATENCY)
        .values("partner_id")
        .order_by()
        .annotate(**_latency_aggregates())
    )


def partner_figures() -> list[PartnerFigures]:
    """Every partner's push figures: 6 queries, whatever the number of partners or rows."""
    figures = {
        row["id"]: PartnerFigures(
            partner_id=row["id"],
            name=row["name"],
            paused=bool(row["push_state__push_paused"]),
            needs_full_sync=bool(row["push_state__needs_full_sync"]),
            consecutive_failures=row["push_state__consecutive_failures"] or 0,
        )
        for row in Partner.objects.order_by("id").values(
            "id",
            "name",
            "push_state__push_paused",
            "push_state__needs_full_sync",
            "push_state__consecutive_failures",
        )
    }

    def of(partner_id: int) -> PartnerFigures | None:
        return figures.get(partner_id)  # None: a partner created since the first query

    for row in (
        Delivery.objects.values("partner_id", "status")
        .order_by()
        .annotate(n=Count("id"), oldest=Min("created_at"))
    ):
        if (f := of(row["partner_id"])) is not None:
            f.deliveries[row["status"]] = row["n"]
            if row["status"] in Delivery.OPEN and (
                f.oldest_waiting is None or row["oldest"] < f.oldest_waiting
            ):
                f.oldest_waiting = row["oldest"]

    for by_outcome in (
        DeliveryAttempt.objects.values("partner_id", "outcome").order_by().annotate(n=Count("id"))
    ):
        if (f := of(by_outcome["partner_id"])) is not None:
            f.attempts[by_outcome["outcome"]] = by_outcome["n"]

    for row in _succeeded_changes(Delivery.objects.all()):
        if (f := of(row["partner_id"])) is not None:
            f.latency_buckets = [row[f"le{i}"] for i in range(len(LATENCY_BUCKETS))]
            f.latency_count = row["n"]
            f.latency_sum = row["total"].total_seconds() if row["total"] else 0.0

    for tally in PushTally.objects.all():
        if (f := of(tally.partner_id)) is not None:
            _add_tally(f, tally.key, tally.value)

    latest = FullSync.objects.filter(partner_id=OuterRef("partner_id")).order_by("-id")
    for sync in FullSync.objects.filter(pk=Subquery(latest.values("pk")[:1])).annotate(
        waiting=Count("deliveries", filter=Q(deliveries__status__in=Delivery.OPEN))
    ):
        if (f := of(sync.partner_id)) is not None:
            f.full_sync_total, f.full_sync_waiting = sync.total, sync.waiting
    return list(figures.values())


def _add_tally(f: PartnerFigures, key: str, value: int) -> None:
    kind, _, label = key.partition(":")
    if kind == "attempt":
        f.attempts[label] = f.attempts.get(label, 0) + value
    elif kind == "latency_le":
        f.latency_buckets[LATENCY_BUCKETS.index(float(label))] += value
    elif kind == "latency_count":
        f.latency_count += value
    elif kind == "latency_sum_us":
        f.latency_sum += value / 1_000_000


# --- Retention's side (rows about to be deleted) ---------------------------------------


def tally_attempts(attempts: QuerySet[DeliveryAttempt]) -> None:
    """Add these attempts (about to be deleted by `retention`, locked) to the tallies, so
    the /metrics counters never go down."""
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for row in attempts.values("partner_id", "outcome").order_by().annotate(n=Count("id")):
        counts[(row["partner_id"], f"attempt:{row['outcome']}")] += row["n"]
    _tally(counts)


def tally_deliveries(deliveries: QuerySet[Delivery]) -> None:
    """Add these Deliveries' save-to-receipt latencies (about to be deleted by `retention`,
    locked) to the tallies."""
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for row in _succeeded_changes(deliveries):
        for i, bound in enumerate(LATENCY_BUCKETS):
            counts[(row["partner_id"], f"latency_le:{bound}")] += row[f"le{i}"]
        counts[(row["partner_id"], "latency_count")] += row["n"]
        total: timedelta = row["total"] or timedelta(0)
        counts[(row["partner_id"], "latency_sum_us")] += total // timedelta(microseconds=1)
    _tally(counts)


def _tally(counts: dict[tuple[int, str], int]) -> None:
    if not counts:
        return
    partner_ids = {partner_id for partner_id, _ in counts}
    existing = {
        (t.partner_id, t.key): t
        for t in PushTally.objects.select_for_update().filter(partner_id__in=partner_ids)
    }
    new, changed = [], []
    for (partner_id, key), value in counts.items():
        if (partner_id, key) in existing:
            existing[(partner_id, key)].value += value
            changed.append(existing[(partner_id, key)])
        elif value:
            new.append(PushTally(partner_id=partner_id, key=key, value=value))
    PushTally.objects.bulk_create(new)
    PushTally.objects.bulk_update(changed, ["value"])
