"""Formsets of the operator admin: the rules between the objects of one submit.

At least one Connector per EVSE, case-insensitive unique Connector ids per EVSE and EVSE
uids / EVSE IDs per submit. The helpers (`is_new`, `kept_forms`, ...) tell which forms of a
formset stand for objects that exist after the save; the admin saves by them too.
"""

from django import forms
from django.core.exceptions import ValidationError
from nested_admin.formsets import NestedInlineFormSet

from . import enums


def is_deleted(formset, form) -> bool:
    return bool(formset.can_delete and formset._should_delete_form(form))


def is_new(formset, form) -> bool:
    return form not in formset.initial_forms


def is_kept(formset, form) -> bool:
    """The form stands for an object that exists after the save."""
    if is_deleted(formset, form):
        return False
    return not is_new(formset, form) or form.has_changed()


def kept_forms(formset) -> list[forms.Form]:
    return [form for form in formset.forms if is_kept(formset, form)]


def _value(form, name: str) -> str:
    return str(getattr(form, "cleaned_data", {}).get(name) or "")


class EVSEInlineFormSet(NestedInlineFormSet):
    """The EVSEs of a Location: uids and active EVSE IDs unique within the submit."""

    def clean(self):
        super().clean()
        uids: dict[str, forms.Form] = {}
        evse_ids: dict[str, forms.Form] = {}
        for form in kept_forms(self):
            uid = _value(form, "uid").upper()
            if uid in uids:
                form.add_error("uid", "Another EVSE of this Location has this uid already.")
            elif uid:
                uids[uid] = form
            evse_id = _value(form, "evse_id").upper()
            if evse_id and _value(form, "status") != enums.Status.REMOVED:
                if evse_id in evse_ids:
                    form.add_error("evse_id", "Another EVSE of this Location has this EVSE ID.")
                else:
                    evse_ids[evse_id] = form


class ConnectorInlineFormSet(NestedInlineFormSet):
    """The Connectors of one EVSE: at least one, ids unique (case-insensitive)."""

    def _evse_label(self) -> str:
        parent_form = getattr(self, "parent_form", None)
        uid = _value(parent_form, "uid") if parent_form is not None else ""
        return f"EVSE {uid or self.instance.uid or '(new)'}"

    def clean(self):
        super().clean()
        gone = [form for form in self.initial_forms if form.instance.pk is None]
        if gone:
            # A row of the page whose Connector was deleted after the page was rendered: the
            # formset finds no object for its hidden id (and the admin would not show the
            # row again), so the whole formset says it.
            many = len(gone) > 1
            raise ValidationError(
                f"{len(gone)} {'connectors' if many else 'connector'} of {self._evse_label()} "
                f"on this page {'were' if many else 'was'} deleted by someone else after the "
                "page was shown. Reload the page; nothing was saved."
            )
        # On a Location page this formset sits inside one EVSE form (`parent_form`, set by
        # django-nested-admin); on the EVSE page the EVSE is the page's object.
        parent_form = getattr(self, "parent_form", None)
        kept = kept_forms(self)
        if parent_form is not None:
            parent_formset = parent_form.parent_formset
            if is_new(parent_formset, parent_form) and not parent_form.has_changed():
                if kept:
                    raise ValidationError(
                        "These connectors belong to an EVSE that is still empty: fill in the "
                        "EVSE (at least its uid), or clear the connectors."
                    )
                return
        ids: dict[str, forms.Form] = {}
        for form in kept:
            connector_id = _value(form, "id").upper()
            if connector_id in ids:
                form.add_error("id", "This EVSE has a connector with this id already.")
            elif connector_id:
                ids[connector_id] = form
        deleted = [form for form in self.initial_forms if is_deleted(self, form)]
        for form in kept:
            if is_new(self, form) and any(
                _value(form, "id").upper() == _value(old, "id").upper() for old in deleted
            ):
                form.add_error(
                    "id",
                    "A connector with this id is deleted in the same save: change that "
                    "connector instead of deleting and re-adding it.",
                )
        if not kept:
            if deleted:
                raise ValidationError(
                    f"{self._evse_label()} needs at least one connector: its last connector "
                    "cannot be deleted. Add another connector first, or mark the EVSE removed."
                )
            raise ValidationError(
                f"{self._evse_label()} needs at least one connector: fill in a connector row."
            )
