"""`python manage.py ocpi_push_sync --partner NAME`: PUT every Location to one partner.

By default the command queues and sends the Locations itself, a batch at a time, with a
progress bar, so it works without a running worker; workers that pick up the same lanes
meanwhile are harmless (a lane is sent by whoever holds its lease). `--queue` only queues
the sync for the workers and follows its progress. Either way the progress is written at
most once a second, and the command ends as soon as the last Location is sent.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q

from partners.models import Partner
from pushers import clock, lanes, operations
from pushers.models import Delivery, FullSync

# Lanes read per look-up while sending.
CHUNK = 500


def progress_bar(done: int, total: int, width: int = 40) -> str:
    filled = width * done // total if total else width
    percent = 100 * done // total if total else 100
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} ({percent}%)"


class Command(BaseCommand):
    help = "Full sync: PUT every Location to one partner's Locations receiver."

    def add_arguments(self, parser):
        parser.add_argument("--partner", required=True, help="The partner's name.")
        parser.add_argument(
            "--queue",
            action="store_true",
            help="Leave the sending to the Celery workers; only follow the progress.",
        )

    def handle(self, *args, partner: str, queue: bool, **options):
        try:
            target = Partner.objects.get(name=partner)
        except Partner.DoesNotExist:
            raise CommandError(f"No partner named {partner!r}.") from None
        sync = operations.full_sync_start(
            partner_id=target.pk, requested_by="ocpi_push_sync", continue_in_tasks=queue
        )
        if sync is None:
            raise CommandError(f"{target} is not registered or has no Locations receiver.")
        self.stdout.write(f"Full sync #{sync.pk}: {sync.total} Locations to {target}.")
        self._shown_at = 0.0
        if queue:
            self._follow(sync)
        else:
            self._send(sync)
        self._show(sync, force=True)
        self.stdout.write("")
        counts = dict(
            Delivery.objects.filter(full_sync=sync).values_list("status").annotate(n=Count("pk"))
        )
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        self.stdout.write(f"Done: {summary or 'nothing to send'}.")
        if counts.get(Delivery.Status.PENDING) or counts.get(Delivery.Status.SENDING):
            self.stdout.write(
                "Some Locations wait for a retry (partner unreachable); the workers send them."
            )

    def _follow(self, sync: FullSync) -> None:
        """Wait for the workers: until every batch is queued and no Location waits."""
        while True:
            sync.refresh_from_db(fields=["queuing_done_at", "total", "locations_queued"])
            done, total = operations.full_sync_progress(sync)
            self._show(sync, progress=(done, total))
            if sync.queuing_done_at is not None and done >= total:
                return
            time.sleep(0.2)

    def _send(self, sync: FullSync) -> None:
        """Queue the batches and send the lanes as they come: each lane once (a lane that
        waits for a retry, or that a worker holds, is not waited for), newest batch first
        visited by id, then once more everything still waiting from the start (Deliveries
        merged into older pending ones have older ids)."""
        visited: set[int] = set()
        after = 0
        while True:
            lane_ids = self._due_lanes(sync, after=after)
            for delivery_id, lane_id in lane_ids:
                after = max(after, delivery_id)
                if lane_id not in visited:
                    visited.add(lane_id)
                    # The slot holder sends the partner's other due lanes too (many lanes
                    # per call); lanes it sent are found sent, not visited again.
                    lanes.send_lane(lane_id)
                    self._show(sync)
            if lane_ids:
                continue
            if not operations.full_sync_continue(sync.pk, continue_in_tasks=False):
                continue
            break
        for _, lane_id in self._due_lanes(sync, after=0, limit=None):
            if lane_id not in visited:
                visited.add(lane_id)
                lanes.send_lane(lane_id)
                self._show(sync)

    def _due_lanes(
        self, sync: FullSync, *, after: int, limit: int | None = CHUNK
    ) -> list[tuple[int, int]]:
        rows = (
            Delivery.objects.filter(full_sync=sync, status=Delivery.Status.PENDING, pk__gt=after)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=clock.now()))
            .order_by("pk")
            .values_list("pk", "lane_id")
        )
        return list(rows if limit is None else rows[:limit])

    def _show(
        self, sync: FullSync, *, force: bool = False, progress: tuple[int, int] | None = None
    ) -> None:
        """The progress bar, at most once a second (counting costs a query)."""
        now = time.monotonic()
        if not force and now - self._shown_at < 1:
            return
        self._shown_at = now
        if progress is None:
            sync.refresh_from_db(fields=["locations_queued", "total"])
            progress = operations.full_sync_progress(sync)
        self.stdout.write("\r" + progress_bar(*progress), ending="")
        self.stdout.flush()
