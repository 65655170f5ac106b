"""The operator admin of Locations, EVSEs and Connectors (docs/admin.md).

Every write goes through `locations.services`, never through a plain `.save()`/`.delete()`:
- a new Location with its EVSEs and Connectors (one page) is one `location_create` call, so
  partners get one PUT of the whole site;
- changes to existing objects call the update/create/delete service of each object that
  really changed;
- EVSEs are never deleted (status REMOVED instead), Locations are never deleted.

A submit is atomic: Django's change view runs in a transaction; when a service refuses a
save (`ValidationError`), the transaction is rolled back and the same submit is validated
again with the service's errors attached to the forms they belong to, so the operator sees
a form error and nothing is saved.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import nested_admin
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .enums import Status
from .forms import (
    SERVICE_ERRORS,
    ConnectorForm,
    ConnectorInlineFormSet,
    EVSEForm,
    EVSEInlineFormSet,
    LocationForm,
    error_text,
    is_deleted,
    is_new,
    kept_forms,
)
from .models import EVSE, Connector, Location

# --- Saving through the services -----------------------------------------------------------


class ServiceRefused(Exception):
    """A service refused a save; carries (form prefix, object label, error)."""

    def __init__(self, prefix: str | None, label: str, error: ValidationError):
        super().__init__(error)
        self.errors = [(prefix, label, error)]


@contextmanager
def refused_as(form, label: str) -> Iterator[None]:
    """Turn a service's ValidationError into a ServiceRefused for `form`."""
    try:
        yield
    except ValidationError as exc:
        raise ServiceRefused(form.prefix, label, exc) from exc


def _evse_label(form) -> str:
    return f"EVSE {form.cleaned_data.get('uid') or form.instance.uid}"


def _connector_label(form) -> str:
    return f"Connector {form.cleaned_data.get('id') or form.instance.id}"


def _start_change_lists(formsets) -> None:
    """The lists Django's change message reads (normally filled by formset.save())."""
    for formset in formsets:
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


def _save_connectors(formset) -> None:
    """Create, change and delete the Connectors of an existing EVSE, one service call each.

    New ones first, deletions last, so that the EVSE never has zero connectors between two
    calls (the formset has checked that at least one is kept).
    """
    evse = formset.instance
    for form in formset.extra_forms:
        if form.has_changed() and not is_deleted(formset, form):
            form.instance.evse = evse
            with refused_as(form, _connector_label(form)):
                services.connector_create(connector=form.instance)
            formset.new_objects.append(form.instance)
    for form in formset.initial_forms:
        if not is_deleted(formset, form) and form.has_changed():
            with refused_as(form, _connector_label(form)):
                if services.connector_update(connector=form.instance):
                    formset.changed_objects.append((form.instance, form.changed_data))
    for form in formset.initial_forms:
        if is_deleted(formset, form):
            with refused_as(form, _connector_label(form)):
                services.connector_delete(connector=form.instance)
            formset.deleted_objects.append(form.instance)


class ServiceAdminMixin:
    """Re-validates and re-renders a submit whose save a service refused (see module doc)."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            # Django runs a POST in transaction.atomic: an exception rolls everything back.
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            errors = refused.errors
        except IntegrityError as exc:
            errors = [
                (
                    None,
                    "The database",
                    ValidationError(
                        f"refused the change ({exc}); another change may have come first. "
                        "Please check the values and save again."
                    ),
                )
            ]
        token = SERVICE_ERRORS.set(errors)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        finally:
            SERVICE_ERRORS.reset(token)


# --- Inlines -------------------------------------------------------------------------------


class ConnectorInline(nested_admin.NestedTabularInline):
    model = Connector
    form = ConnectorForm
    formset = ConnectorInlineFormSet
    fields = (
        "id",
        "standard",
        "format",
        "power_type",
        "max_voltage",
        "max_amperage",
        "max_electric_power",
        "tariff_ids",
        "terms_and_conditions",
        "last_updated",
    )
    readonly_fields = ("last_updated",)
    verbose_name_plural = "Connectors (at least one per EVSE)"

    def get_extra(self, request, obj=None, **kwargs):
        # One empty row for a new EVSE; existing ones get rows with "Add another Connector".
        return 0 if obj is not None and obj.pk else 1


class EVSEInline(nested_admin.NestedStackedInline):
    model = EVSE
    form = EVSEForm
    formset = EVSEInlineFormSet
    inlines = [ConnectorInline]
    can_delete = False  # EVSEs are never deleted: set status REMOVED instead.
    show_change_link = True
    readonly_fields = ("last_updated",)
    fieldsets = (
        (None, {"fields": (("uid", "evse_id", "status"), "last_updated")}),
        (
            "Details",
            {
                "classes": ("collapse",),
                "fields": (
                    ("floor_level", "physical_reference"),
                    "coordinates",
                    "capabilities",
                    "parking_restrictions",
                    "status_schedule",
                    "directions",
                    "images",
                ),
            },
        ),
    )

    def get_extra(self, request, obj=None, **kwargs):
        return 0 if obj is not None and obj.pk else 1


# --- Location --------------------------------------------------------------------------------


@admin.register(Location)
class LocationAdmin(ServiceAdminMixin, nested_admin.NestedModelAdmin):
    form = LocationForm
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
        "address",
        "city",
        "country",
        "publish",
        "evse_count",
        "last_updated",
    )
    list_display_links = ("id", "name")
    list_filter = (
        "publish",
        "country",
        "city",
        "parking_type",
        ("evses__status", admin.ChoicesFieldListFilter),
        ("evses__connectors__power_type", admin.ChoicesFieldListFilter),
    )
    search_fields = (
        "id",
        "name",
        "address",
        "city",
        "postal_code",
        "evses__evse_id",
        "evses__uid",
    )
    date_hierarchy = "last_updated"
    actions = ("publish_locations", "unpublish_locations")
    list_per_page = 50

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_evse_count=Count("evses", filter=~Q(evses__status=Status.REMOVED)))
        )

    @admin.display(description="EVSEs", ordering="_evse_count")
    def evse_count(self, obj):
        return obj._evse_count

    def get_changeform_initial_data(self, request):
        initial = {
            "country_code": settings.OCPI_COUNTRY_CODE,
            "party_id": settings.OCPI_PARTY_ID,
        }
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
                services.location_update(location=obj)

    def save_related(self, request, form, formsets, change):
        _start_change_lists(formsets)
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
            return
        for evse_form in evse_formset.forms:
            connector_formset = evse_form.nested_formsets[0]
            if is_new(evse_formset, evse_form):
                if not evse_form.has_changed():
                    continue
                connectors = [f.instance for f in kept_forms(connector_formset)]
                evse_form.instance.location = form.instance
                with refused_as(evse_form, _evse_label(evse_form)):
                    services.evse_create(evse=evse_form.instance, connectors=connectors)
                evse_formset.new_objects.append(evse_form.instance)
                connector_formset.new_objects.extend(connectors)
                continue
            if evse_form.has_changed():
                with refused_as(evse_form, _evse_label(evse_form)):
                    if services.evse_update(evse=evse_form.instance):
                        evse_formset.changed_objects.append(
                            (evse_form.instance, evse_form.changed_data)
                        )
            _save_connectors(connector_formset)

    @admin.action(description="Publish the selected Locations")
    def publish_locations(self, request, queryset):
        locations = list(queryset)
        blocked = [loc for loc in locations if loc.publish_allowed_to]
        allowed = [loc for loc in locations if not loc.publish_allowed_to]
        if blocked:
            self.message_user(
                request,
                f"Not published: {', '.join(loc.id for loc in blocked)} — "
                f"{'it has' if len(blocked) == 1 else 'they have'} publish_allowed_to, which "
                "OCPI allows only on unpublished Locations. Empty publish_allowed_to on the "
                "Location's page first.",
                messages.ERROR,
            )
        self._set_publish(request, allowed, publish=True)

    @admin.action(description="Unpublish the selected Locations")
    def unpublish_locations(self, request, queryset):
        self._set_publish(request, list(queryset), publish=False)

    def _set_publish(self, request, locations, *, publish: bool) -> None:
        if not locations:
            return
        word = "published" if publish else "unpublished"
        try:
            changed = services.locations_set_publish(locations=locations, publish=publish)
        except ValidationError as exc:
            self.message_user(request, f"Nothing was {word}: {error_text(exc)}", messages.ERROR)
            return
        unchanged = len(locations) - changed
        text = f"{changed} Location{'' if changed == 1 else 's'} {word}."
        if unchanged:
            text += f" {unchanged} {'was' if unchanged == 1 else 'were'} {word} already."
        self.message_user(request, text, messages.SUCCESS)


# --- EVSE ------------------------------------------------------------------------------------


def _status_action(status: str):
    def action(modeladmin, request, queryset):
        modeladmin.set_status(request, queryset, status)

    action.__name__ = f"set_status_{status.lower()}"
    return admin.action(description=f"Set status to {status}")(action)


@admin.register(EVSE)
class EVSEAdmin(ServiceAdminMixin, nested_admin.NestedModelAdmin):
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
        "last_updated",
    )
    list_filter = (
        "status",
        "location__country",
        "location__city",
        "location__publish",
        ("connectors__power_type", admin.ChoicesFieldListFilter),
    )
    search_fields = (
        "uid",
        "evse_id",
        "location__id",
        "location__name",
        "location__address",
        "location__city",
        "location__postal_code",
    )
    list_select_related = ("location",)
    date_hierarchy = "last_updated"
    list_per_page = 100
    actions = (
        *(_status_action(status) for status in Status.values if status != Status.REMOVED),
        "mark_removed",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_connector_count=Count("connectors"))

    @admin.display(description="Location", ordering="location__id")
    def location_link(self, obj):
        url = reverse("admin:locations_location_change", args=[obj.location_id])
        return format_html('<a href="{}">{}</a>', url, obj.location.id)

    @admin.display(description="City", ordering="location__city")
    def city(self, obj):
        return obj.location.city

    @admin.display(description="Connectors", ordering="_connector_count")
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
                services.evse_update(evse=obj)

    def save_related(self, request, form, formsets, change):
        _start_change_lists(formsets)
        connector_formset = next(fs for fs in formsets if fs.model is Connector)
        if change:
            _save_connectors(connector_formset)
            return
        connectors = [f.instance for f in kept_forms(connector_formset)]
        with refused_as(form, f"EVSE {form.instance.uid}"):
            services.evse_create(evse=form.instance, connectors=connectors)
        connector_formset.new_objects.extend(connectors)

    def set_status(self, request, queryset, status: str) -> None:
        evses = list(queryset)
        removed = sum(1 for evse in evses if evse.status == Status.REMOVED)
        try:
            with transaction.atomic():
                changed = services.evses_set_status(evses=evses, status=status)
        except ValidationError as exc:
            self.message_user(request, f"No status was changed: {error_text(exc)}", messages.ERROR)
            return
        text = f"{changed} EVSE{'' if changed == 1 else 's'} set to {status}."
        same = len(evses) - changed - (removed if status != Status.REMOVED else 0)
        if same:
            text += f" {same} had this status already."
        if removed and status != Status.REMOVED:
            text += f" {removed} removed EVSE{'' if removed == 1 else 's'} left as removed."
        self.message_user(request, text, messages.SUCCESS)

    @admin.action(description="Mark removed (EVSEs are never deleted)")
    def mark_removed(self, request, queryset):
        self.set_status(request, queryset, Status.REMOVED)


# --- Connector (read and search) -------------------------------------------------------------


@admin.register(Connector)
class ConnectorAdmin(admin.ModelAdmin):
    """A searchable list; Connectors are edited on their EVSE's or Location's page."""

    form = ConnectorForm
    readonly_fields = ("last_updated",)

    list_display = (
        "__str__",
        "id",
        "location_id",
        "standard",
        "format",
        "power_type",
        "max_voltage",
        "max_amperage",
        "max_electric_power",
        "last_updated",
    )
    list_filter = ("power_type", "standard", "format", "evse__status", "evse__location__country")
    search_fields = (
        "id",
        "evse__uid",
        "evse__evse_id",
        "evse__location__id",
        "evse__location__name",
        "evse__location__city",
    )
    list_select_related = ("evse__location",)
    date_hierarchy = "last_updated"
    list_per_page = 100

    @admin.display(description="Location", ordering="evse__location__id")
    def location_id(self, obj):
        return obj.evse.location.id

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
