"""How far full syncs got, and how each Location PUT of them ended: "50/50 settled: 32
accepted, 18 refused" (a partner that refused 18 Locations must not read as done at 100 %).

`syncs_progress` reads any number of syncs in one query (their Deliveries counted by status,
on the index of `Delivery.full_sync`); the admin's lists and the sync command use it.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count
from django.urls import reverse

from .models import Delivery, FullSync

Status = Delivery.Status

# Outcomes besides accepted and refused, in the words of the page (shown when not zero).
_OTHERS = {
    Status.SUPERSEDED: "replaced by a newer message",
    Status.EXPIRED: "expired",
    Status.DISCARDED: "discarded",
}


@dataclass
class SyncProgress:
    sync: FullSync
    counts: dict[str, int] = field(default_factory=dict)  # its Deliveries by status

    @property
    def total(self) -> int:
        return self.sync.total

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(status, 0) for status in Delivery.OPEN)

    @property
    def settled(self) -> int:
        """Locations queued and no longer waiting to be sent (sent, refused, or given up)."""
        return self.sync.locations_queued - self.waiting

    @property
    def accepted(self) -> int:
        return self.counts.get(Status.SUCCEEDED, 0)

    @property
    def refused(self) -> int:
        return self.counts.get(Status.FAILED, 0)

    def url(self, status: str | None = None) -> str:
        """The Deliveries list of this sync (of one status)."""
        filters: dict[str, object] = {"full_sync": self.sync.pk}
        if status:
            filters["status__in" if "," in status else "status__exact"] = status
        return f"{reverse('admin:pushers_delivery_changelist')}?{urlencode(filters)}"

    def parts(self) -> list[tuple[str, int, str]]:
        """(words, count, status) of each outcome: accepted and refused always, the others
        when not zero, and what is still waiting."""
        parts: list[tuple[str, int, str]] = [
            ("accepted", self.accepted, Status.SUCCEEDED),
            ("refused", self.refused, Status.FAILED),
        ]
        parts += [(words, self.counts[s], s) for s, words in _OTHERS.items() if self.counts.get(s)]
        if self.waiting:
            parts.append(("waiting", self.waiting, "pending,sending"))
        return parts

    @property
    def text(self) -> str:
        if self.sync.queued and not self.sync.locations_queued:
            return "queued: waiting for a worker to list the Locations"
        outcomes = ", ".join(f"{n} {words}" for words, n, _ in self.parts())
        return f"{self.settled}/{self.total} settled: {outcomes}"


def syncs_progress(syncs: Iterable[FullSync]) -> dict[int, SyncProgress]:
    """The progress of each sync, by id (one query)."""
    progress = {sync.pk: SyncProgress(sync) for sync in syncs}
    rows = (
        Delivery.objects.filter(full_sync_id__in=list(progress))
        .values("full_sync_id", "status")
        .annotate(n=Count("*"))
        .order_by()
    )
    for row in rows:
        progress[row["full_sync_id"]].counts[row["status"]] = row["n"]
    return progress
