from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone

from locations import changes

if TYPE_CHECKING:
    from partners.models import PartnerRole


class ChangeRecord(models.Model):
    """One committed change of a Location, EVSE or Connector: the transactional outbox.

    Written by `outbox.record_changes` (told by `locations.changes`) in the same transaction
    as the change itself, so a change exists exactly when its record does. It names the
    lowest level that changed and the OCPI message that level needs (PUT of a new/replaced
    object, PATCH of some fields); the payload is built at delivery time from the current
    state, so that a late delivery never carries stale data.
    """

    Level = changes.Level
    Method = changes.Method

    id = models.BigAutoField(primary_key=True)
    level = models.CharField(max_length=9, choices=Level.choices)
    method = models.CharField(max_length=5, choices=Method.choices)
    # Internal keys of the changed object and its parents (objects are never deleted, except
    # Connectors, whose change is recorded as a PUT of their EVSE).
    location = models.ForeignKey("locations.Location", on_delete=models.PROTECT, related_name="+")
    evse = models.ForeignKey(
        "locations.EVSE", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    connector = models.ForeignKey(
        "locations.Connector", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fields = models.JSONField(default=list, blank=True, help_text="OCPI fields a PATCH carries.")
    # A change of the Location's roaming agreements (`locations.sharing`): partner ids that
    # may see it since, and those that may no longer (the fan-out PUTs it to the first and
    # retires it at the second).
    shared_with = models.JSONField(default=list, blank=True)
    withdrawn_from = models.JSONField(default=list, blank=True)
    last_updated = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by the worker that turned the record into deliveries (in the same transaction).
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(fanned_out_at__isnull=True),
                name="change_not_fanned_out_idx",
            ),
            # Retention finds old records without scanning the table (`retention`).
            models.Index(
                fields=["fanned_out_at"],
                condition=models.Q(fanned_out_at__isnull=False),
                name="change_fanned_out_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.method} {self.level} {', '.join(self.fields)}"


class PartnerPushState(models.Model):
    """Push bookkeeping of one partner (kept here: partners/ belongs to registration)."""

    partner = models.OneToOneField(
        "partners.Partner", primary_key=True, on_delete=models.CASCADE, related_name="push_state"
    )
    push_paused = models.BooleanField(
        default=False, help_text="Changes keep being recorded (coalesced) but nothing is sent."
    )
    needs_full_sync = models.BooleanField(
        default=False,
        help_text="Set when the retry window ran out during an outage: instead of replaying "
        "history, every Location is PUT again once the partner answers.",
    )
    full_sync_after = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # The circuit breaker (`outcomes`): transient failures in a row, and since when. From
    # PUSH_BREAKER_FAILURES on the partner is degraded: one call at a time (a probe) until
    # a call succeeds again.
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "partner push state"
        permissions = [
            # The push levers of the admin (pause, resume, retry now, full sync, discard):
            # they act on what partners receive, not on a row an operator edits.
            ("operate_push", "Can pause, resume, retry, discard and fully sync pushes"),
        ]

    def __str__(self) -> str:
        return f"push to {self.partner}"


class Lane(models.Model):
    """All deliveries of one Location to one partner, sent one at a time and in order.

    A worker owns a lane while `busy_until` lies in the future (a lease taken with a
    conditional UPDATE, so it works the same on PostgreSQL and SQLite). A worker that dies
    loses its lease when it runs out; then another one takes over.
    """

    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey("locations.Location", on_delete=models.CASCADE, related_name="+")
    busy_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=36, blank=True)
    # Backoff of the whole lane after a transient failure: nothing in it is sent before
    # `retry_at`, so a partner that is down gets one attempt per lane per backoff step.
    retry_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="Transient failures in a row.")
    # Debounce (PUSH_LANE_QUIET, PUSH_LANE_MAX_WAIT): when each object of this lane was last
    # sent, as {object_key: epoch seconds}, pruned to QUIET + MAX_WAIT; written only by the
    # lease holder. A Delivery whose first change came less than QUIET after its object's
    # last send waits (and so does the rest of the lane behind it), collecting further
    # changes, until the object has been quiet for QUIET or MAX_WAIT has passed.
    sent_at = models.JSONField(default=dict, blank=True)
    # When the debounce's deferred send is due: a `send_lane` task was queued for that moment
    # (countdown). If that task is lost, the sweeper finds the lane's open Deliveries.
    next_send_at = models.DateTimeField(null=True, blank=True)
    # Whether the partner may hold this Location: set by a message of it the partner took,
    # cleared when it took its retirement (a PUT with every EVSE REMOVED). Withdrawing the
    # Location from the partner retires it there only when this is set (or a message of it
    # may have reached them without an answer): roaming agreements, `fanout`.
    partner_holds = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "location"], name="unique_push_lane"),
        ]

    # Not columns: what the send loop's lane read brings along (`lane_sql.read_lane`).
    receiver_url: "str | None"  # the partner's Locations RECEIVER endpoint
    paused: bool
    last_success: "datetime | None"  # PartnerPushState.last_success_at when read
    roles: "list[PartnerRole]"  # the partner's roles, for the addressee
    consecutive_failures: int  # PartnerPushState.consecutive_failures when read

    def __str__(self) -> str:
        return f"lane {self.partner_id}/{self.location_id}"


class FullSync(models.Model):
    """A PUT of every Location to one partner (admin action, command, or after an outage)."""

    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="+")
    requested_by = models.CharField(max_length=100, blank=True)
    # Locations to send: counted at the start, the number queued once queuing is done.
    total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # Queued a batch of Locations per transaction (`operations.full_sync_continue`), in
    # row_id order: how far, how many, and when the last batch was queued. A sync requested
    # from the admin is only a row at first: workers queue its batches, outside the request.
    queued_until = models.BigIntegerField(null=True, blank=True)
    locations_queued = models.PositiveIntegerField(default=0)
    queuing_done_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"full sync #{self.pk} to {self.partner}"

    @property
    def queued(self) -> bool:
        """Still being queued: not all its Locations are queued yet."""
        return self.queuing_done_at is None


class Delivery(models.Model):
    """One object's pending or sent state for one partner.

    There is at most one *pending* delivery per (partner, object): later changes merge into
    it (PATCH fields accumulate, a PUT replaces the PATCH), so a partner that is slow or down
    gets the newest state once instead of the whole history. The body is built when it is
    sent, from the current database state.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SUCCEEDED = "succeeded"
        FAILED = "failed", "Failed (permanent error, parked)"
        SUPERSEDED = "superseded", "Superseded (covered by a PUT of a parent)"
        EXPIRED = "expired", "Expired (retry window ran out; full sync scheduled)"
        DISCARDED = "discarded", "Discarded by an operator"

    OPEN = (Status.PENDING, Status.SENDING)

    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="+")
    lane = models.ForeignKey(Lane, on_delete=models.CASCADE, related_name="deliveries")
    level = models.CharField(max_length=9, choices=ChangeRecord.Level.choices)
    method = models.CharField(max_length=5, choices=ChangeRecord.Method.choices)
    fields = models.JSONField(default=list, blank=True)
    object_key = models.CharField(max_length=40, help_text="L:, E: or C: plus the row id.")
    location = models.ForeignKey("locations.Location", on_delete=models.CASCADE, related_name="+")
    evse = models.ForeignKey(
        "locations.EVSE", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    connector = models.ForeignKey(
        "locations.Connector", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    full_sync = models.ForeignKey(
        FullSync,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        db_index=False,  # delivery_full_sync_idx leads with it
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # A PUT of the Location with every EVSE REMOVED: the Location is no longer shared with
    # this partner (roaming agreements, `locations.sharing`).
    retire = models.BooleanField(default=False)
    changes = models.PositiveIntegerField(default=1, help_text="Changes merged into it.")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    first_failure_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_ocpi_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Place in the lane: the `last_updated` of the newest change merged in (not the time of
    # the fan-out, which concurrent workers may do out of order). A lane is sent in this
    # order, so the last message a partner gets is about the object changed last, and the
    # `last_updated` it propagates to the parents is the newest one (OCPI 2.2.1, Locations
    # module, "Receiver Interface": a PUT or PATCH of an EVSE or Connector updates the
    # parents' `last_updated` on the receiver).
    queued_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "object_key"],
                condition=models.Q(status="pending"),
                name="one_pending_delivery_per_partner_object",
            ),
        ]
        indexes = [
            models.Index(
                fields=["lane", "status", "queued_at", "id"], name="delivery_lane_head_idx"
            ),
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            # Also the order in which a slot holder takes a partner's lanes (`next_due_lane`).
            models.Index(
                fields=["partner", "status", "queued_at", "id"], name="delivery_partner_queue_idx"
            ),
            # A full sync's progress by status, from the index alone (`progress`).
            models.Index(fields=["full_sync", "status"], name="delivery_full_sync_idx"),
            models.Index(  # retention (`retention`)
                fields=["finished_at"],
                condition=models.Q(finished_at__isnull=False),
                name="delivery_finished_idx",
            ),
        ]

    def __str__(self) -> str:
        fields = f" {', '.join(self.fields)}" if self.fields else ""
        return f"#{self.pk} {self.method} {self.level} {self.object_key}{fields}"


class DeliveryAttempt(models.Model):
    """One HTTP call made for a delivery."""

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        TRANSIENT = "transient", "Transient failure (retried)"
        PERMANENT = "permanent", "Permanent failure"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts_made")
    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    method = models.CharField(max_length=5)
    url = models.URLField(max_length=500)
    outcome = models.CharField(max_length=9, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    ocpi_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # What the partner said: its OCPI status_message, else the start of its answer's body.
    answer = models.CharField(max_length=500, blank=True)
    # A success that did not follow the protocol (e.g. HTTP 2xx without an OCPI envelope).
    warning = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=36, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["partner", "started_at"], name="attempt_partner_time_idx"),
            models.Index(fields=["started_at"], name="attempt_time_idx"),  # retention
            # A partner's failed calls (push health, `health`), without reading its successes.
            models.Index(
                fields=["partner", "started_at"],
                condition=~models.Q(outcome="success"),
                name="attempt_failed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.url} -> {self.outcome}"


class SendSlot(models.Model):
    """One of a partner's PUSH_PARTNER_CONCURRENCY sending slots: a worker sends to a partner
    only while it holds one (a lease taken with a conditional UPDATE, like the lane's), so a
    slow or hostile partner holds at most that many calls in flight across every worker
    machine, and the other partners' sends never wait behind it (`slots`)."""

    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="+")
    number = models.PositiveSmallIntegerField()
    busy_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=36, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "number"], name="unique_send_slot"),
        ]

    def __str__(self) -> str:
        return f"slot {self.number} of partner {self.partner_id}"


class PushTally(models.Model):
    """What the sweeper deleted, counted: attempts by outcome and succeeded deliveries'
    latency buckets of one partner, so that the push counters of `/metrics` (computed from
    the rows at scrape time, `metrics`) never go down when old history is forgotten."""

    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=40, help_text="e.g. attempt:success, latency_le:0.5")
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "key"], name="unique_push_tally"),
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value} (partner {self.partner_id})"
