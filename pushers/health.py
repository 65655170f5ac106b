"""Push health of each partner, decided in one place (`decide`), for the admin's *Partner push
states* and the dashboard; and the counts shown next to it (waiting, parked, refusals).

Health (docs/push.md, "Operator view"):

- **not pushed to**: the partner is not registered, or has no Locations RECEIVER endpoint
  (it pulls from our Sender interface): nothing is sent to it, so it is never "healthy".
- **paused**: an operator paused it (changes are coalesced, nothing is sent).
- **failing since T**: its last FAILING_AFTER calls or more all failed (no answer, an error,
  or a refusal) and none succeeded since T, the first of them; or the retry window ran out
  (an outage: a full sync is scheduled).
- **degraded**: it answers, but not everything goes: the latest call failed (fewer than
  FAILING_AFTER in a row), or some calls of the last hour (RECENT) failed.
- **healthy**: no call failed in the last hour (or nothing was sent yet).

`partners_push` reads everything for any number of partners in five queries (one per
partner row would grow with the list), each on an index: attempts by (partner,
started_at) and failures by the partial index on failed attempts, Deliveries by (partner,
status, queued_at).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from partners.models import Partner, PartnerEndpoint
from versions.registry import InterfaceRole, ModuleID

from .models import Delivery, DeliveryAttempt, FullSync
from .progress import SyncProgress, syncs_progress

# Failed calls in a row (none succeeding since) that make a partner failing.
FAILING_AFTER = 3
# Failed calls this recent make a partner degraded.
RECENT = timedelta(hours=1)
# Refusals are listed for this long.
REFUSALS_WINDOW = timedelta(hours=24)
# Reasons shown per partner (the most frequent first); the rest are counted.
REASONS_SHOWN = 5

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Outcome = DeliveryAttempt.Outcome
Status = Delivery.Status


class Kind(StrEnum):
    FAILING = "failing"
    DEGRADED = "degraded"
    PAUSED = "paused"
    HEALTHY = "healthy"
    NOT_PUSHED = "not pushed to"


# Worst first: the order of the dashboard's partner list.
SEVERITY = list(Kind)


@dataclass(frozen=True)
class PushFacts:
    """What the health is decided from, for one partner."""

    partner_state: str
    has_receiver: bool
    paused: bool = False
    needs_full_sync: bool = False
    full_sync_after: datetime | None = None
    breaker_failures: int = 0  # transient failures in a row (the circuit breaker's count)
    breaker_since: datetime | None = None
    last_outcome: str | None = None  # of the latest call
    run_start: datetime | None = None  # the first failed call after the last success
    run_long: bool = False  # at least FAILING_AFTER failed calls after the last success
    calls_recent: int = 0
    failed_recent: int = 0


@dataclass(frozen=True)
class Health:
    kind: Kind
    text: str
    since: datetime | None = None


def _at(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def decide(f: PushFacts) -> Health:
    """The one rule for a partner's push health (see the module docstring)."""
    if f.partner_state != Partner.State.REGISTERED:
        state = Partner.State(f.partner_state).name.lower()
        return Health(Kind.NOT_PUSHED, f"not pushed to (partner {state})")
    if not f.has_receiver:
        return Health(Kind.NOT_PUSHED, "not pushed to (no Locations Receiver endpoint: pull only)")
    if f.paused:
        return Health(Kind.PAUSED, "paused")
    failing = f.last_outcome not in (None, Outcome.SUCCESS) and f.run_long
    if f.needs_full_sync or failing:
        starts = [t for t in (f.run_start, f.breaker_since) if t is not None and failing]
        since = min(starts) if starts else None
        text = f"failing since {_at(since)}" if since else "failing"
        if f.needs_full_sync:
            after = f" at {_at(f.full_sync_after)}" if f.full_sync_after else ""
            text += f"; retry window ran out: full sync scheduled{after}"
        elif f.breaker_failures >= settings.PUSH_BREAKER_FAILURES:
            text += " (one call at a time until it answers)"
        return Health(Kind.FAILING, text, since)
    if f.last_outcome not in (None, Outcome.SUCCESS):
        return Health(Kind.DEGRADED, "degraded: the last call failed", f.run_start)
    if f.failed_recent:
        return Health(
            Kind.DEGRADED,
            f"degraded: {f.failed_recent} of {f.calls_recent} calls failed in the last hour",
        )
    if f.last_outcome is None:
        return Health(Kind.HEALTHY, "healthy (nothing sent yet)")
    return Health(Kind.HEALTHY, "healthy")


# --- What the pages show ------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    reason: str
    count: int
    last_at: datetime
    url: str


@dataclass
class PartnerPush:
    """One partner's push health and counts, as the admin and the dashboard show them."""

    partner: Partner
    health: Health
    waiting: int = 0
    oldest_waiting: datetime | None = None
    parked: int = 0
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str = ""
    last_outcome: str | None = None  # of the latest call
    refusals: list[Refusal] = field(default_factory=list)  # grouped by reason
    refused: int = 0  # since `refused_since`
    refused_since: datetime | None = None
    last_sync_id: int | None = None
    last_sync: SyncProgress | None = None  # with `partners_push(..., syncs=True)`

    @property
    def waiting_url(self) -> str:
        return deliveries_url(partner__id__exact=self.partner.pk, status__in="pending,sending")

    @property
    def parked_url(self) -> str:
        return deliveries_url(partner__id__exact=self.partner.pk, status__exact=Status.FAILED)

    @property
    def refused_url(self) -> str:
        filters = {"partner__id__exact": self.partner.pk, "status__exact": Status.FAILED}
        if self.refused_since is not None:
            filters["last_attempt_at__gte"] = self.refused_since.isoformat()
        return deliveries_url(**filters)

    @property
    def last_error_healed(self) -> bool:
        """The last error is history: the latest call succeeded."""
        return bool(self.last_error) and self.last_outcome == Outcome.SUCCESS

    @property
    def last_error_text(self) -> str:
        """The last error while it is the latest outcome; else with its time, "since healed"."""
        if not self.last_error:
            return ""
        if self.last_error_healed and self.last_failure_at is not None:
            return f"{self.last_error} (at {_at(self.last_failure_at)}, since healed)"
        return self.last_error


def deliveries_url(**filters) -> str:
    """The admin's Deliveries list, filtered (each count on a page links to its rows)."""
    return f"{reverse('admin:pushers_delivery_changelist')}?{urlencode(filters)}"


def _attempts(partner: str) -> QuerySet:
    return DeliveryAttempt.objects.filter(partner_id=OuterRef(partner)).order_by()


class _CountOf(Subquery):
    """COUNT(*) of a subquery's rows (no GROUP BY, so the planner walks the range of its
    index and stops)."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _rows)"
    output_field = IntegerField()


def _count(queryset: QuerySet) -> _CountOf:
    return _CountOf(queryset.values("pk"))


def partners_push(
    partners: QuerySet, *, now: datetime | None = None, syncs: bool = False
) -> list[PartnerPush]:
    """The push health and counts of `partners` (a Partner queryset), in its order: three
    queries whatever the number of partners, Deliveries and attempts; two more with the
    progress of each partner's latest full sync (`syncs`)."""
    now = now or timezone.now()
    recent, window = now - RECENT, now - REFUSALS_WINDOW
    failed = ~Q(outcome=Outcome.SUCCESS)
    since_success = Q(
        started_at__gt=Coalesce(OuterRef("push_state__last_success_at"), Value(_EPOCH))
    )
    run = _attempts("pk").filter(failed & since_success).order_by("started_at", "id")
    rows = list(
        partners.annotate(
            _receiver=Exists(
                PartnerEndpoint.objects.filter(
                    partner_id=OuterRef("pk"),
                    identifier=ModuleID.LOCATIONS,
                    role=InterfaceRole.RECEIVER,
                )
            ),
            _paused=F("push_state__push_paused"),
            _needs_full_sync=F("push_state__needs_full_sync"),
            _full_sync_after=F("push_state__full_sync_after"),
            _breaker=F("push_state__consecutive_failures"),
            _breaker_since=F("push_state__failing_since"),
            _last_success=F("push_state__last_success_at"),
            _last_failure=F("push_state__last_failure_at"),
            _last_error=F("push_state__last_error"),
            _last_outcome=Subquery(
                _attempts("pk").order_by("-started_at", "-id").values("outcome")[:1]
            ),
            _run_start=Subquery(run.values("started_at")[:1]),
            _run_long=Exists(run[FAILING_AFTER - 1 : FAILING_AFTER]),
            _calls_recent=_count(_attempts("pk").filter(started_at__gte=recent)),
            _failed_recent=_count(_attempts("pk").filter(failed, started_at__gte=recent)),
            _last_sync=Subquery(
                FullSync.objects.filter(partner_id=OuterRef("pk")).order_by("-id").values("id")[:1]
            ),
        )
    )
    ids = [p.pk for p in rows]
    pushes = {}
    for p in rows:
        facts = PushFacts(
            partner_state=p.state,
            has_receiver=p._receiver,
            paused=bool(p._paused),
            needs_full_sync=bool(p._needs_full_sync),
            full_sync_after=p._full_sync_after,
            breaker_failures=p._breaker or 0,
            breaker_since=p._breaker_since,
            last_outcome=p._last_outcome,
            run_start=p._run_start,
            run_long=p._run_long,
            calls_recent=p._calls_recent,
            failed_recent=p._failed_recent,
        )
        pushes[p.pk] = PartnerPush(
            partner=p,
            health=decide(facts),
            last_success_at=p._last_success,
            last_failure_at=p._last_failure,
            last_error=p._last_error or "",
            last_outcome=p._last_outcome,
            refused_since=window,
            last_sync_id=p._last_sync,
        )
    queues = (
        Delivery.objects.filter(partner_id__in=ids, status__in=[*Delivery.OPEN, Status.FAILED])
        .values("partner_id", "status")
        .annotate(n=Count("*"), oldest=Min("queued_at"))
        .order_by()
    )
    for row in queues:
        push = pushes[row["partner_id"]]
        if row["status"] == Status.FAILED:
            push.parked = row["n"]
        else:
            push.waiting += row["n"]
            if push.oldest_waiting is None or row["oldest"] < push.oldest_waiting:
                push.oldest_waiting = row["oldest"]
    refusals = (
        DeliveryAttempt.objects.filter(
            partner_id__in=ids, outcome=Outcome.PERMANENT, started_at__gte=window
        )
        .values("partner_id", "error")
        .annotate(n=Count("*"), last=Max("started_at"))
        .order_by("-n", "-last")
    )
    for refusal in refusals:
        push = pushes[refusal["partner_id"]]
        push.refused += refusal["n"]
        if len(push.refusals) < REASONS_SHOWN:
            url = deliveries_url(
                partner__id__exact=push.partner.pk,
                status__exact=Status.FAILED,
                last_error=refusal["error"],
                last_attempt_at__gte=window.isoformat(),
            )
            push.refusals.append(Refusal(refusal["error"], refusal["n"], refusal["last"], url))
    if syncs:
        latest = FullSync.objects.filter(pk__in=[p.last_sync_id for p in pushes.values()])
        for progress in syncs_progress(latest).values():
            pushes[progress.sync.partner_id].last_sync = progress
    return [pushes[pk] for pk in ids]
