"""`python manage.py ocpi_push_sync --partner NAME`: PUT every Location to one partner.

By default the command sends the Locations itself, lane by lane, with a progress bar, so it
works without a running worker; workers that pick up the same lanes meanwhile are harmless
(a lane is sent by whoever holds its lease). `--queue` only queues the sync for the workers
and follows its progress.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from partners.models import Partner
from pushers import lanes, operations
from pushers.models import Delivery


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
        sync = operations.full_sync_start(partner_id=target.pk, requested_by="ocpi_push_sync")
        if sync is None:
            raise CommandError(f"{target} is not registered or has no Locations receiver.")
        self.stdout.write(f"Full sync #{sync.pk}: {sync.total} Locations to {target}.")
        lane_ids = list(
            Delivery.objects.filter(full_sync=sync).order_by("id").values_list("lane_id", flat=True)
        )
        if not queue:
            for lane_id in lane_ids:
                lanes.send_lane(lane_id)
                self._show(sync)
        done, total = self._show(sync)
        while done < total and queue:
            time.sleep(0.5)
            done, total = self._show(sync)
        self.stdout.write("")
        counts = dict(
            Delivery.objects.filter(full_sync=sync).values_list("status").annotate(n=Count("pk"))
        )
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        self.stdout.write(f"Done: {summary or 'nothing to send'}.")
        if counts.get(Delivery.Status.PENDING):
            self.stdout.write(
                "Some Locations wait for a retry (partner unreachable); the workers send them."
            )

    def _show(self, sync) -> tuple[int, int]:
        done, total = operations.full_sync_progress(sync)
        self.stdout.write("\r" + progress_bar(done, total), ending="")
        self.stdout.flush()
        return done, total
