"""`python manage.py ocpi_push_sync --partner NAME`: PUT every Location to one partner.

By default the command queues the sync's batches and sends them itself, so it works without
a running worker: while there is due work it holds one of the partner's sending slots and
sends the due lanes many per round (`lanes.send_partner`, as a worker's slot holder does);
when the workers hold every slot it waits. `--queue` only queues the sync for the workers
and waits. Either way it counts and writes the progress at most once a second, and ends as
soon as no Location of the sync waits to be sent (those waiting for a retry are left to the
workers, and it says so).
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q

from partners.models import Partner
from pushers import clock, lanes, operations
from pushers.models import Delivery, FullSync, PartnerPushState

# Deliveries one call of `lanes.send_partner` sends at most before the command looks at
# its batches and its progress again.
SEND_CHUNK = 1000
# How long the command waits before looking again when the workers hold every slot.
WAIT = 0.2


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
        while self._waiting(sync):
            self._show(sync)
            time.sleep(WAIT)

    def _send(self, sync: FullSync) -> None:
        """Queue the batches and send while there is due work; wait while the workers hold
        every slot; end when every batch is queued and nothing of the sync waits."""
        queued = sync.queuing_done_at is not None
        while True:
            if not queued:
                queued = operations.full_sync_continue(sync.pk, continue_in_tasks=False)
            result = lanes.send_partner(sync.partner_id, max_messages=SEND_CHUNK)
            self._show(sync)
            if result is not None and result.sent:
                continue
            if queued and not self._waiting(sync):
                return
            if result is None or queued:
                time.sleep(WAIT)  # the workers hold the slots, or the lanes left

    def _waiting(self, sync: FullSync) -> bool:
        """Whether a Location of the sync still waits to be sent now: batches not queued
        yet, or an open Delivery of the sync whose lane is not backing off after a failure
        (the workers send those when their retry is due), unless the partner is paused."""
        sync.refresh_from_db(fields=["queuing_done_at"])
        if sync.queuing_done_at is None:
            return True
        if PartnerPushState.objects.filter(partner_id=sync.partner_id, push_paused=True).exists():
            return False
        now = clock.now()
        return (
            Delivery.objects.filter(full_sync=sync, status__in=Delivery.OPEN)
            .filter(Q(lane__retry_at__isnull=True) | Q(lane__retry_at__lte=now))
            .exists()
        )

    def _show(self, sync: FullSync, *, force: bool = False) -> None:
        """The progress bar, at most once a second (counting costs a query)."""
        now = time.monotonic()
        if not force and now - self._shown_at < 1:
            return
        self._shown_at = now
        sync.refresh_from_db(fields=["locations_queued", "total"])
        progress = operations.full_sync_progress(sync)
        self.stdout.write("\r" + progress_bar(*progress), ending="")
        self.stdout.flush()
