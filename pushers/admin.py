"""Operator view of push: per-partner health, the deliveries, and the levers.

Every action goes through `pushers.operations`, like every other write, and needs the
`pushers.operate_push` permission (docs/admin.md, "Staff roles"). The pages themselves are
read-only: nothing here is edited as a form. Work that may touch thousands of rows (a full
sync, retrying a partner's whole backlog) is queued for a worker.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from locations.admin_scale import LargeTableAdmin
from locations.labels import object_label
from partners.admin_guard import RefuseHiddenActionsMixin, ViewOnlyMixin
from partners.models import Partner

from . import operations, queue
from .health import PartnerPush, partners_push
from .models import ChangeRecord, Delivery, DeliveryAttempt, FullSync, PartnerPushState
from .progress import SyncProgress, syncs_progress

# Deliveries "retry now" handles in the request; a larger selection goes to a worker.
RETRY_IN_REQUEST = 200


def _link(url: str, text) -> str:
    return format_html('<a href="{}">{}</a>', url, text)


def _when(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else "–"


def progress_html(progress: SyncProgress, *, dated: bool = False) -> str:
    """A full sync's progress ("50/50 settled: 32 accepted, 18 refused"), each count a link
    to its Deliveries; `dated` adds when the sync was asked for."""
    if progress.sync.queued and not progress.sync.locations_queued:
        text = progress.text
    else:
        parts = format_html_join(
            ", ",
            '<a href="{}">{} {}</a>',
            ((progress.url(status), n, words) for words, n, status in progress.parts()),
        )
        text = format_html("{}/{} settled: {}", progress.settled, progress.total, parts)
    if dated:
        return format_html("{} ({})", text, _when(progress.sync.created_at))
    return text


@admin.register(PartnerPushState)
class PartnerPushStateAdmin(ViewOnlyMixin, RefuseHiddenActionsMixin, admin.ModelAdmin):
    # View only: pausing is an action (it also wakes the lanes on resume).
    # Six columns, so that the list fits 1,280 px with both sidebars.
    list_display = [
        "partner",
        "health",
        "deliveries",
        "last_success",
        "last_error_shown",
        "full_sync_progress",
    ]
    list_filter = ["push_paused", "needs_full_sync"]
    ordering = ["partner__name"]
    readonly_fields = [
        "partner",
        "health",
        "waiting",
        "parked",
        "refused",
        "needs_full_sync",
        "full_sync_after",
        "last_success_at",
        "last_failure_at",
        "last_error_shown",
        "failing_since",
        "consecutive_failures",
        "full_sync_progress",
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
        return super().get_queryset(request).select_related("partner")

    def get_changelist_instance(self, request):
        # The health and counts of the page's partners: a few queries for the whole page.
        changelist = super().get_changelist_instance(request)
        _attach_push(list(changelist.result_list))
        return changelist

    @staticmethod
    def _push(obj) -> PartnerPush:
        if not hasattr(obj, "push"):  # the change page: one partner
            _attach_push([obj])
        return obj.push

    @admin.display(description="health")
    def health(self, obj):
        return self._push(obj).health.text

    @admin.display(description="waiting")
    def waiting(self, obj):
        push = self._push(obj)
        link = format_html("{} waiting", _link(push.waiting_url, push.waiting))
        if push.oldest_waiting is None:
            return link
        return format_html("{} (oldest {})", link, _when(push.oldest_waiting))

    @admin.display(description="deliveries")
    def deliveries(self, obj):
        """Waiting, parked and refused in the last 24 h, each a link to its Deliveries."""
        return format_html(
            "{}<br>{}<br>{}",
            self.waiting(obj),
            format_html("{} parked", self.parked(obj)),
            format_html("{} refused in 24 h", self.refused(obj)),
        )

    @admin.display(description="parked (refused)")
    def parked(self, obj):
        push = self._push(obj)
        return _link(push.parked_url, push.parked)

    @admin.display(description="refused (24 h)")
    def refused(self, obj):
        push = self._push(obj)
        return _link(push.refused_url, push.refused)

    @admin.display(description="last success", ordering="last_success_at")
    def last_success(self, obj):
        return _when(obj.last_success_at)

    @admin.display(description="last error")
    def last_error_shown(self, obj):
        return self._push(obj).last_error_text or "–"

    @admin.display(description="last full sync")
    def full_sync_progress(self, obj):
        progress = self._push(obj).last_sync
        return progress_html(progress, dated=True) if progress is not None else "–"

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
class DeliveryAdmin(ViewOnlyMixin, LargeTableAdmin, RefuseHiddenActionsMixin, admin.ModelAdmin):
    # Seven columns, so that the list fits 1,280 px with both sidebars; the rest is on the
    # detail page.
    list_display = [
        "id",
        "ocpi_object",
        "partner",
        "message",
        "outcome",
        "last_answer",
        "queued",
    ]
    list_filter = ["status", "partner", "level", "method"]
    # Indexed lookups only (locations/admin_scale.py); an object key (`E:123`) too, below.
    search_fields = ["^location__id", "^evse__uid"]
    list_select_related = ["partner", "location", "evse", "connector"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["retry_now", "discard"]

    @admin.display(description="object", ordering="object_key")
    def ocpi_object(self, obj):
        return delivery_label(obj)

    @admin.display(description="message")
    def message(self, obj):
        text = f"{obj.method} {obj.get_level_display()}"
        if obj.fields:
            text += f": {', '.join(obj.fields)}"
        return f"{text} (retirement)" if obj.retire else text

    @admin.display(description="queued", ordering="queued_at")
    def queued(self, obj):
        return _when(obj.queued_at)

    @admin.display(description="status", ordering="status")
    def outcome(self, obj):
        tries = ngettext("%d attempt", "%d attempts", obj.attempts) % obj.attempts
        return f"{obj.status}, {tries}" if obj.attempts else obj.status

    @admin.display(description="last answer")
    def last_answer(self, obj):
        """The reason of a failure as the partner gave it; else the statuses of the last
        answer."""
        if obj.last_error:
            return format_html('<span style="overflow-wrap: anywhere">{}</span>', obj.last_error)
        if obj.last_http_status is None:
            return "–"
        text = f"HTTP {obj.last_http_status}"
        if obj.last_ocpi_status is not None:
            text += f" OCPI {obj.last_ocpi_status}"
        if obj.last_latency_ms is not None:
            text += f", {obj.last_latency_ms} ms"
        return text

    def has_operate_push_permission(self, request, obj=None):
        return request.user.has_perm("pushers.operate_push")

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
class FullSyncAdmin(ViewOnlyMixin, RefuseHiddenActionsMixin, admin.ModelAdmin):
    list_display = ["id", "partner", "requested_by", "created_at", "progress"]
    list_filter = ["partner"]
    list_select_related = ["partner"]
    fields = readonly_fields = ("partner", "requested_by", "total", "created_at", "progress")

    def get_changelist_instance(self, request):
        # Every row's progress in one query for the whole page.
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)
        progress = syncs_progress(rows)
        for sync in rows:
            sync.progress_now = progress[sync.pk]
        return changelist

    @admin.display(description="progress (settled / total)")
    def progress(self, obj):
        if not hasattr(obj, "progress_now"):  # the change page: one sync
            obj.progress_now = syncs_progress([obj])[obj.pk]
        return progress_html(obj.progress_now)


def delivery_label(delivery: Delivery) -> str:
    """The Delivery's object by its OCPI ids, e.g. `NL*EXA*LOC1 / EVSE 3 / Connector 1`
    (the Location, EVSE and Connector come with the list's query)."""
    Level = ChangeRecord.Level
    if delivery.level == Level.LOCATION or delivery.evse is None:
        return object_label(delivery.location)
    if delivery.level == Level.EVSE:
        return object_label(delivery.location, delivery.evse.uid)
    if delivery.connector is None:  # deleted since (its PUT went as one of the EVSE)
        return f"{object_label(delivery.location, delivery.evse.uid)} / a deleted Connector"
    return object_label(delivery.location, delivery.evse.uid, delivery.connector.id)


def _attach_push(states: list[PartnerPushState]) -> None:
    """Each row's `push` (health, counts, latest full sync), read for all rows at once."""
    partners = Partner.objects.filter(pk__in=[state.partner_id for state in states])
    pushes = {push.partner.pk: push for push in partners_push(partners, syncs=True)}
    for state in states:
        state.push = pushes[state.partner_id]  # type: ignore[attr-defined]
