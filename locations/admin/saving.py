"""Saving admin submits through the services (docs/admin.md).

Every write goes through `locations.services`, never through a plain `.save()`/`.delete()`:
- a new Location with its EVSEs and Connectors (one page) is one `location_create` call, so
  partners get one PUT of the whole site;
- changes to existing objects call the update/create/delete service of each object that
  really changed;
- EVSEs are never deleted (status REMOVED instead), Locations are never deleted.

A submit is atomic: Django's change view runs in a transaction; when a service refuses a
save (`ValidationError`), the transaction is rolled back and the same submit is validated
again with the service's errors attached to the forms they belong to, so the operator sees
a form error, keeps what they typed, and nothing is saved.

Every form of an existing object carries the object's version as the page showed it
(`seen_version`, a hidden input, `CarriesVersion`), and each update/delete passes it to its
service, which refuses a stale one (`locations.concurrency`): a submit from a page older
than one of its objects saves nothing and pushes nothing.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import IntegrityError

from .. import services
from ..forms import RAW_JSON, SERVICE_ERRORS
from ..formsets import is_deleted


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


def seen_version(form) -> int | None:
    """The object's version when the operator's page was rendered (None for a new one)."""
    return form.cleaned_data.get("seen_version")


class CarriesVersion:
    """Puts the hidden `seen_version` input into the page's editable forms (ModelAdmin or
    inline): Django's admin renders only the fields its fieldsets name. Read-only pages
    (view permission only) save nothing, so they carry none."""

    def get_fields(self, request, obj=None):
        return [name for name in super().get_fields(request, obj) if name != "seen_version"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self.has_change_permission(request, obj):
            return fieldsets
        (name, options), *rest = fieldsets
        return [(name, {**options, "fields": (*options["fields"], "seen_version")}), *rest]


def evse_label(form) -> str:
    return f"EVSE {form.cleaned_data.get('uid') or form.instance.uid}"


def _connector_label(form) -> str:
    return f"Connector {form.cleaned_data.get('id') or form.instance.id}"


def start_change_lists(formsets) -> None:
    """The lists Django's change message reads (normally filled by formset.save())."""
    for formset in formsets:
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


def save_connectors(formset) -> None:
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
                if services.connector_update(
                    connector=form.instance, seen_version=seen_version(form)
                ):
                    formset.changed_objects.append((form.instance, form.changed_data))
    for form in formset.initial_forms:
        if is_deleted(formset, form):
            with refused_as(form, _connector_label(form)):
                services.connector_delete(connector=form.instance, seen_version=seen_version(form))
            formset.deleted_objects.append(form.instance)


class ServiceAdminMixin:
    """Re-validates and re-renders a submit whose save a service refused (see module doc).

    `?raw_json=1` shows (and saves) the page's sub-objects as raw JSON textareas instead
    of their editors (forms.RAW_JSON); a link at the top of the page switches
    (templates/admin/locations/change_form.html)."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        raw = request.GET.get("raw_json") == "1"
        extra_context = {**(extra_context or {}), "raw_json": raw}
        token = RAW_JSON.set(raw)
        try:
            return self._save_or_show_refusal(request, object_id, form_url, extra_context)
        finally:
            RAW_JSON.reset(token)

    def _save_or_show_refusal(self, request, object_id, form_url, extra_context):
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
