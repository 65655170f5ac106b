"""The EVSE admin: one EVSE with its Connectors; status actions (never a delete)."""

import nested_admin
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from .. import bulk_changes, services
from ..admin_scale import LargeTableAdmin, PageCount, SubqueryChoicesFilter, distinct_values_filter
from ..enums import Status
from ..forms import EVSEForm, error_text
from ..formsets import kept_forms
from ..models import EVSE, BulkChange, Connector
from . import columns
from .actions import RefusesHiddenActions, confirmation_page, confirmed, count, queued, report
from .inlines import ConnectorInline
from .maps import CoordinatesMapOnPage
from .quality import ShowsQuality
from .saving import (
    CarriesVersion,
    ServiceAdminMixin,
    refused_as,
    save_connectors,
    seen_version,
    start_change_lists,
)

# EVSEs a confirmation page names one by one (it counts the rest).
SHOWN = 200


def _status_action(status: str):
    def action(modeladmin, request, queryset):
        modeladmin.set_status(request, queryset, status)

    action.__name__ = f"set_status_{status.lower()}"
    return admin.action(description=f"Set status to {status}", permissions=["change"])(action)


@admin.register(EVSE)
class EVSEAdmin(
    LargeTableAdmin,
    CoordinatesMapOnPage,
    ShowsQuality,
    RefusesHiddenActions,
    CarriesVersion,
    ServiceAdminMixin,
    nested_admin.NestedModelAdmin,
):
    form = EVSEForm
    inlines = [ConnectorInline]
    autocomplete_fields = ("location",)
    readonly_fields = ("last_updated",)
    fieldsets = (
        (
            None,
            {
                "fields": ("location", ("uid", "evse_id"), "status", "last_updated"),
                "description": "EVSEs are never deleted: set the status to REMOVED (or use "
                "the “Mark removed” action) to take one out of service.",
            },
        ),
        (
            "Details",
            {
                "fields": (
                    ("floor_level", "physical_reference"),
                    "coordinates",
                    "capabilities",
                    "parking_restrictions",
                    "status_schedule",
                    "directions",
                    "images",
                )
            },
        ),
    )
    list_display = (
        "uid",
        "evse_id",
        "location_link",
        "city",
        "status",
        "connector_count",
        columns.last_updated,
    )
    list_filter = (  # cheap choices at any size (locations/admin_scale.py)
        "status",
        ("location__country", distinct_values_filter()),
        ("location__city", distinct_values_filter()),
        "location__publish",
        ("connectors__power_type", SubqueryChoicesFilter),
    )
    search_fields = (  # ids by prefix, words anywhere: each served by an index
        "^uid",
        "^evse_id",
        "^location__id",
        "location__name",
        "location__address",
        "location__city",
        "^location__postal_code",
    )
    list_select_related = ("location",)
    page_counts = (PageCount("_connector_count", Connector, "evse"),)
    list_per_page = 100
    actions = (
        *(_status_action(status) for status in Status.values if status != Status.REMOVED),
        "mark_removed",
    )

    @admin.display(description="Location", ordering="location__id")
    def location_link(self, obj):
        url = reverse("admin:locations_location_change", args=[obj.location_id])
        return format_html('<a href="{}">{}</a>', url, obj.location.id)

    @admin.display(description="City", ordering="location__city")
    def city(self, obj):
        return obj.location.city

    @admin.display(description="Connectors")
    def connector_count(self, obj):
        return obj._connector_count

    def has_delete_permission(self, request, obj=None):
        return False  # Replaced by "mark removed" (OCPI never deletes an EVSE).

    def delete_model(self, request, obj):
        services.evse_remove(evse=obj)

    def delete_queryset(self, request, queryset):
        services.evses_set_status(evses=list(queryset), status=Status.REMOVED)

    def save_model(self, request, obj, form, change):
        # A new EVSE is created in save_related, together with its Connectors.
        if change and form.has_changed():
            with refused_as(form, f"EVSE {obj.uid}"):
                services.evse_update(evse=obj, seen_version=seen_version(form))

    def save_related(self, request, form, formsets, change):
        start_change_lists(formsets)
        connector_formset = next(fs for fs in formsets if fs.model is Connector)
        if change:
            save_connectors(connector_formset)
            return
        connectors = [f.instance for f in kept_forms(connector_formset)]
        with refused_as(form, f"EVSE {form.instance.uid}"):
            services.evse_create(evse=form.instance, connectors=connectors)
        connector_formset.new_objects.extend(connectors)

    def set_status(self, request, queryset, status: str) -> None:
        """Only the selected EVSEs' status changes (the service writes nothing else), each
        change recorded in the history and pushed as a PATCH of `status`. More than
        ADMIN_BULK_IN_REQUEST EVSEs are queued for a worker (`locations.bulk_jobs`)."""
        rows = queryset.order_by().values_list("pk", "location_id")
        ids = [pk for pk, _ in sorted(rows, key=lambda row: (row[1], row[0]))]
        if len(ids) > settings.ADMIN_BULK_IN_REQUEST:
            queued(self, request, kind=BulkChange.Kind.EVSE_STATUS, value=status, ids=ids)
            return
        try:
            with transaction.atomic():
                outcome = bulk_changes.set_evses_status(ids, status)
        except ValidationError as exc:
            self.message_user(request, f"No status was changed: {error_text(exc)}", messages.ERROR)
            return
        changed, same, skipped = outcome.changed, outcome.already, outcome.refused
        report(
            self,
            request,
            done=f"{count(changed, 'EVSE', 'EVSEs')} set to {status}." if changed else "",
            already=(
                f"{same} {ngettext('EVSE had', 'EVSEs had', same)} the status {status} already."
                if same
                else ""
            ),
            refused=(
                f"{count(skipped, 'removed EVSE', 'removed EVSEs')} left as removed: "
                "a removed EVSE stays removed."
                if skipped
                else ""
            ),
        )

    @admin.action(
        description="Mark removed (EVSEs are never deleted; asks to confirm)",
        permissions=["change"],
    )
    def mark_removed(self, request, queryset):
        """Irreversible (a removed EVSE stays removed, partners are told): the first POST
        shows a confirmation page, only its own POST marks them."""
        if confirmed(request):
            self.set_status(request, queryset, Status.REMOVED)
            return None
        # "Select all" may mean 100,000 EVSEs: the page names the first ones and counts all.
        evses = queryset.select_related("location").order_by("location__id", "uid")
        removing = evses.exclude(status=Status.REMOVED)
        already = evses.filter(status=Status.REMOVED)
        shown_removing, shown_already = list(removing[:SHOWN]), list(already[:SHOWN])
        removing_count = removing.count() if len(shown_removing) == SHOWN else len(shown_removing)
        already_count = already.count() if len(shown_already) == SHOWN else len(shown_already)
        return confirmation_page(
            self,
            request,
            queryset,
            action="mark_removed",
            template="admin/locations/evse/mark_removed_confirmation.html",
            title="Mark EVSEs removed? This cannot be undone",
            removing=shown_removing,
            removing_count=removing_count,
            removing_more=removing_count - len(shown_removing),
            already_removed=shown_already,
            already_removed_more=already_count - len(shown_already),
        )
