"""Operator view of push: per-partner health, the deliveries, and the levers.

Every action goes through `pushers.operations`, like every other write, and needs the
`pushers.operate_push` permission (docs/admin.md, "Staff roles"). The pages themselves are
read-only: nothing here is edited as a form. Work that may touch thousands of rows (a full
sync, retrying a partner's whole backlog) is queued for a worker.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import ngettext

from locations.admin_scale import LargeTableAdmin
from partners.admin_guard import RefuseHiddenActionsMixin
from partners.models import Partner

from . import operations, queue
from .models import Delivery, DeliveryAttempt, FullSync, PartnerPushState

# Deliveries "retry now" handles in the request; a larger selection goes to a worker.
RETRY_IN_REQUEST = 200


def _count(model, condition: Q):
    """Per-partner count as a subquery (one query for the whole list, no join fan-out)."""
    rows = (
        model.objects.filter(condition, partner_id=OuterRef("partner_id"))
        .order_by()
        .values("partner_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows), 0)


@admin.register(PartnerPushState)
class PartnerPushStateAdmin(RefuseHiddenActionsMixin, admin.ModelAdmin):
    list_display = [
        "partner",
        "push_state",
        "backlog",
        "parked",
        "last_success_at",
        "failure_rate_24h",
        "last_error",
        "full_sync_progress",
    ]
    list_filter = ["push_paused", "needs_full_sync"]
    readonly_fields = [
        "partner",
        "needs_full_sync",
        "full_sync_after",
        "last_success_at",
        "last_failure_at",
        "last_error",
        "failing_since",
        "consecutive_failures",
    ]
    fields = ["partner", "push_paused", *readonly_fields[1:]]
    actions = ["pause", "resume", "retry_now", "full_sync"]

    def has_operate_push_permission(self, request, obj=None):
        return request.user.has_perm("pushers.operate_push")

    def get_queryset(self, request):
        # Every partner gets a row, so that the list shows them all.
        known = PartnerPushState.objects.values("partner_id")
        PartnerPushState.objects.bulk_create(
            [PartnerPushState(partner=p) for p in Partner.objects.exclude(pk__in=known)],
            ignore_conflicts=True,
        )
        since = timezone.now() - timedelta(hours=24)
        not_success = ~Q(outcome=DeliveryAttempt.Outcome.SUCCESS)
        return (
            super()
            .get_queryset(request)
            .select_related("partner")
            .annotate(
                _backlog=_count(Delivery, Q(status__in=Delivery.OPEN)),
                _parked=_count(Delivery, Q(status=Delivery.Status.FAILED)),
                _attempts=_count(DeliveryAttempt, Q(started_at__gte=since)),
                _failed=_count(DeliveryAttempt, Q(started_at__gte=since) & not_success),
                _last_sync=Subquery(
                    FullSync.objects.filter(partner_id=OuterRef("partner_id"))
                    .order_by("-id")
                    .values("id")[:1]
                ),
            )
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # pausing is an action (it also wakes the lanes on resume)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="state")
    def push_state(self, obj):
        if obj.partner.state != Partner.State.REGISTERED:
            return f"not registered ({obj.partner.state})"
        if obj.push_paused:
            return "paused"
        if obj.needs_full_sync:
            return "outage: full sync scheduled"
        if obj.failing_since is not None and obj.consecutive_failures:
            local = timezone.localtime(obj.failing_since)
            text = f"failing since {local:%Y-%m-%d %H:%M}, {obj._backlog} waiting"
            if obj.consecutive_failures >= settings.PUSH_BREAKER_FAILURES:
                text += " (degraded: one call at a time until it answers)"
            return text
        return "active"

    @admin.display(description="backlog", ordering="_backlog")
    def backlog(self, obj):
        return obj._backlog

    @admin.display(description="parked (failed)", ordering="_parked")
    def parked(self, obj):
        return obj._parked

    @admin.display(description="failure rate (24 h)")
    def failure_rate_24h(self, obj):
        if not obj._attempts:
            return "–"
        return f"{100 * obj._failed / obj._attempts:.0f}% of {obj._attempts}"

    @admin.display(description="last full sync")
    def full_sync_progress(self, obj):
        if obj._last_sync is None:
            return "–"
        sync = FullSync.objects.get(pk=obj._last_sync)
        return f"{_progress_text(sync)} ({sync.created_at:%Y-%m-%d %H:%M})"

    @admin.action(description="Pause push to the selected partners", permissions=["operate_push"])
    def pause(self, request, queryset):
        for state in queryset:
            operations.partner_set_paused(state.partner_id, paused=True)
        self.message_user(
            request,
            ngettext("Paused %d partner.", "Paused %d partners.", len(queryset)) % len(queryset),
        )

    @admin.action(description="Resume push to the selected partners", permissions=["operate_push"])
    def resume(self, request, queryset):
        for state in queryset:
            operations.partner_set_paused(state.partner_id, paused=False)
        self.message_user(
            request,
            ngettext("Resumed %d partner.", "Resumed %d partners.", len(queryset)) % len(queryset),
        )

    @admin.action(description="Retry waiting deliveries now", permissions=["operate_push"])
    def retry_now(self, request, queryset):
        # A partner's backlog may be thousands of deliveries: a worker retries them.
        states = list(queryset)
        for state in states:
            queue.enqueue_partner_retry(state.partner_id)
        self.message_user(
            request,
            ngettext(
                "Retry of the waiting deliveries of %d partner queued.",
                "Retry of the waiting deliveries of %d partners queued.",
                len(states),
            )
            % len(states),
        )

    @admin.action(
        description="Full sync: PUT every Location to the selected partners",
        permissions=["operate_push"],
    )
    def full_sync(self, request, queryset):
        # Building a sync writes a delivery per Location: a worker does it, after commit.
        for state in queryset:
            sync = operations.full_sync_request(
                partner_id=state.partner_id, requested_by=request.user.get_username()
            )
            if sync is None:
                self.message_user(
                    request,
                    f"{state.partner} is not registered or has no Locations receiver "
                    "endpoint; nothing to sync.",
                    messages.WARNING,
                )
            else:
                url = reverse("admin:pushers_fullsync_change", args=[sync.pk])
                self.message_user(
                    request,
                    format_html(
                        'Full sync <a href="{}">#{}</a> to {} queued; its progress shows '
                        "under Full syncs.",
                        url,
                        sync.pk,
                        state.partner,
                    ),
                )


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "started_at",
        "method",
        "url",
        "outcome",
        "http_status",
        "ocpi_status",
        "duration_ms",
        "error",
        "answer",
        "warning",
        "request_id",
    )

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(LargeTableAdmin, RefuseHiddenActionsMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "partner",
        "method",
        "level",
        "object_key",
        "fields",
        "status",
        "attempts",
        "last_http_status",
        "last_ocpi_status",
        "last_latency_ms",
        "last_error",
        "queued_at",
        "finished_at",
    ]
    list_filter = ["status", "partner", "level", "method"]
    # Indexed lookups only (locations/admin_scale.py); an object key (`E:123`) too, below.
    search_fields = ["^location__id", "^evse__uid"]
    list_select_related = ["partner"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["retry_now", "discard"]

    def has_operate_push_permission(self, request, obj=None):
        return request.user.has_perm("pushers.operate_push")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def search_subqueries(self, request, term):
        """Also an object key as the list shows it (`L:12`, `E:34`, `C:56`), found through
        its object's indexed foreign key rather than a scan of `object_key`."""
        subqueries = super().search_subqueries(request, term)
        level, _, row_id = term.upper().partition(":")
        column = {"L": "location_id", "E": "evse_id", "C": "connector_id"}.get(level)
        if column and row_id.isdigit() and len(row_id) < 19:
            found = Delivery.objects.filter(object_key=f"{level}:{row_id}", **{column: row_id})
            subqueries.append(found.order_by().values("pk"))
        return subqueries

    @admin.action(description="Retry the selected deliveries now", permissions=["operate_push"])
    def retry_now(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        if len(ids) > RETRY_IN_REQUEST:
            # "Select all" over thousands of deliveries: a statement or two each, so a worker.
            queue.enqueue_deliveries_retry(ids)
            self.message_user(
                request,
                f"Retry of {len(ids)} deliveries queued; the list shows them as they go.",
            )
            return
        count = operations.deliveries_retry_now(Delivery.objects.filter(pk__in=ids))
        self.message_user(
            request,
            ngettext("%d delivery queued again.", "%d deliveries queued again.", count) % count,
        )

    @admin.action(description="Discard the selected deliveries", permissions=["operate_push"])
    def discard(self, request, queryset):
        count = operations.deliveries_discard(queryset)
        self.message_user(
            request, ngettext("%d delivery discarded.", "%d deliveries discarded.", count) % count
        )


@admin.register(FullSync)
class FullSyncAdmin(RefuseHiddenActionsMixin, admin.ModelAdmin):
    list_display = ["id", "partner", "requested_by", "created_at", "progress"]
    list_filter = ["partner"]
    fields = readonly_fields = ("partner", "requested_by", "total", "created_at", "progress")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="progress (sent or settled / total)")
    def progress(self, obj):
        return _progress_text(obj)


def _progress_text(sync: FullSync) -> str:
    if sync.queued and not sync.locations_queued:
        return "queued: waiting for a worker to list the Locations"
    done, total = operations.full_sync_progress(sync)
    percent = 100 * done // total if total else 100
    return f"{done}/{total} ({percent}%)"
