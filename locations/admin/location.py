"""The Location admin: a whole site (EVSEs, Connectors) on one page; publish actions."""

import nested_admin
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q

from versions.parties import primary_party

from .. import bulk_changes, services
from ..admin_scale import LargeTableAdmin, PageCount, SubqueryChoicesFilter, distinct_values_filter
from ..enums import Status
from ..forms import error_text
from ..formsets import is_new, kept_forms
from ..models import EVSE, BulkChange, Location
from . import columns
from .actions import RefusesHiddenActions, count, queued, report
from .import_export import ImportExportMixin
from .inlines import EVSEInline
from .maps import LocationMap
from .quality import QualityFilter, ShowsQuality, quality_column
from .saving import (
    CarriesVersion,
    ServiceAdminMixin,
    evse_label,
    refused_as,
    save_connectors,
    seen_version,
    start_change_lists,
)
from .sharing import LocationSharingForm, change_partners, save_sharing, share_with_all_partners


@admin.register(Location)
class LocationAdmin(
    LargeTableAdmin,
    ImportExportMixin,  # the list's Import… and Export… pages
    LocationMap,
    ShowsQuality,
    RefusesHiddenActions,
    CarriesVersion,
    ServiceAdminMixin,
    nested_admin.NestedModelAdmin,
):
    form = LocationSharingForm  # LocationForm + roaming agreements (admin/sharing.py)
    inlines = [EVSEInline]
    readonly_fields = ("last_updated",)
    fieldsets = (
        (
            None,
            {
                "fields": (("country_code", "party_id", "id"), "name", "last_updated"),
                "description": "Locations are never deleted: unpublish one to hide it. "
                "EVSEs are never deleted either: set their status to REMOVED.",
            },
        ),
        (
            "Address",
            {
                "fields": (
                    "address",
                    ("postal_code", "city"),
                    ("state", "country"),
                    "coordinates",
                    "time_zone",
                )
            },
        ),
        ("Visibility", {"fields": ("publish", "publish_allowed_to")}),
        ("Roaming agreements", {"fields": ("sharing", "shared_with")}),
        (
            "Site",
            {
                "fields": (
                    "parking_type",
                    "facilities",
                    "opening_times",
                    "charging_when_closed",
                    "directions",
                    "related_locations",
                    "images",
                )
            },
        ),
        (
            "Operator, owner and energy",
            {
                "classes": ("collapse",),
                "fields": ("operator", "suboperator", "owner", "energy_mix"),
            },
        ),
    )
    list_display = (
        "id",
        "name",
        columns.place,
        "publish",
        "evse_count",
        quality_column,
        columns.last_updated,
    )
    list_display_links = ("id", "name")
    list_select_related = ("quality",)  # the data-quality column, in the list's one query
    list_filter = (  # cheap choices at any size (locations/admin_scale.py)
        "publish",
        "shared_with_all",
        ("country", distinct_values_filter()),
        ("city", distinct_values_filter()),
        "parking_type",
        ("evses__status", SubqueryChoicesFilter),
        ("evses__connectors__power_type", SubqueryChoicesFilter),
        QualityFilter,
        ("last_updated", admin.DateFieldListFilter),
    )
    # Ids by prefix, words anywhere: each served by an index (locations/admin_scale.py).
    search_fields = (
        "^id",
        "name",
        "address",
        "city",
        "^postal_code",
        "^evses__evse_id",
        "^evses__uid",
    )
    page_counts = (PageCount("_evse_count", EVSE, "location", ~Q(status=Status.REMOVED)),)
    actions = (
        "publish_locations",
        "unpublish_locations",
        share_with_all_partners,
        change_partners,
    )
    list_per_page = 50

    @admin.display(description="EVSEs")
    def evse_count(self, obj):
        return obj._evse_count

    def get_changeform_initial_data(self, request):
        primary = primary_party()  # one of our parties (OCPI_PARTIES); the first by default
        initial = {"country_code": primary.country_code, "party_id": primary.party_id}
        initial.update(super().get_changeform_initial_data(request))
        return initial

    def has_delete_permission(self, request, obj=None):
        return False  # Locations are never deleted (OCPI); unpublish them instead.

    def delete_model(self, request, obj):
        raise PermissionDenied("Locations are never deleted; unpublish them instead.")

    def delete_queryset(self, request, queryset):
        raise PermissionDenied("Locations are never deleted; unpublish them instead.")

    def save_model(self, request, obj, form, change):
        # A new Location is created in save_related, together with its EVSEs: one PUT.
        if change and form.has_changed():
            with refused_as(form, f"Location {obj.id}"):
                services.location_update(location=obj, seen_version=seen_version(form))

    def save_related(self, request, form, formsets, change):
        start_change_lists(formsets)
        evse_formset = next(fs for fs in formsets if fs.model is EVSE)
        if not change:
            evses = []
            for evse_form in kept_forms(evse_formset):
                connector_formset = evse_form.nested_formsets[0]
                connectors = [f.instance for f in kept_forms(connector_formset)]
                evses.append((evse_form.instance, connectors))
                evse_formset.new_objects.append(evse_form.instance)
                connector_formset.new_objects.extend(connectors)
            with refused_as(form, f"Location {form.instance.id}"):
                services.location_create(location=form.instance, evses=evses)
            save_sharing(form)
            return
        for evse_form in evse_formset.forms:
            connector_formset = evse_form.nested_formsets[0]
            if is_new(evse_formset, evse_form):
                if not evse_form.has_changed():
                    continue
                connectors = [f.instance for f in kept_forms(connector_formset)]
                evse_form.instance.location = form.instance
                with refused_as(evse_form, evse_label(evse_form)):
                    services.evse_create(evse=evse_form.instance, connectors=connectors)
                evse_formset.new_objects.append(evse_form.instance)
                connector_formset.new_objects.extend(connectors)
                continue
            if evse_form.has_changed():
                with refused_as(evse_form, evse_label(evse_form)):
                    if services.evse_update(
                        evse=evse_form.instance, seen_version=seen_version(evse_form)
                    ):
                        evse_formset.changed_objects.append(
                            (evse_form.instance, evse_form.changed_data)
                        )
            save_connectors(connector_formset)
        save_sharing(form)

    @admin.action(description="Publish the selected Locations", permissions=["change"])
    def publish_locations(self, request, queryset):
        self._set_publish(request, queryset, publish=True)

    @admin.action(description="Unpublish the selected Locations", permissions=["change"])
    def unpublish_locations(self, request, queryset):
        self._set_publish(request, queryset, publish=False)

    def _set_publish(self, request, queryset, *, publish: bool) -> None:
        """Only `publish` of the selected Locations changes (the service writes nothing
        else), each change recorded in the history and pushed as a PATCH of `publish`.
        Locations with `publish_allowed_to` are not published (an error names them). More
        than ADMIN_BULK_IN_REQUEST Locations are queued for a worker (`locations.bulk_jobs`)."""
        ids = sorted(queryset.order_by().values_list("pk", flat=True))
        if not ids:
            return
        if len(ids) > settings.ADMIN_BULK_IN_REQUEST:
            value = "true" if publish else "false"
            queued(self, request, kind=BulkChange.Kind.LOCATION_PUBLISH, value=value, ids=ids)
            return
        word = "published" if publish else "unpublished"
        try:
            outcome = bulk_changes.set_locations_publish(ids, publish)
        except ValidationError as exc:
            self.message_user(request, f"Nothing was {word}: {error_text(exc)}", messages.ERROR)
            return
        if outcome.refused:
            blocked = outcome.refused_ids
            more = " …" if outcome.refused > len(blocked) else ""
            self.message_user(
                request,
                f"Not published: {', '.join(blocked)}{more} — "
                f"{'it has' if outcome.refused == 1 else 'they have'} publish_allowed_to, "
                "which OCPI allows only on unpublished Locations. Empty publish_allowed_to on "
                "the Location's page first.",
                messages.ERROR,
            )
        changed, unchanged = outcome.changed, outcome.already
        report(
            self,
            request,
            done=f"{count(changed, 'Location', 'Locations')} {word}." if changed else "",
            already=(
                f"{count(unchanged, 'Location was', 'Locations were')} {word} already."
                if unchanged
                else ""
            ),
        )
