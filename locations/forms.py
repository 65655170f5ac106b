"""Forms of the operator admin (docs/admin.md).

OCPI sub-objects are JSON columns; here they become inputs an operator can use:
- `coordinates`: two text inputs (latitude, longitude),
- lists of enum values (facilities, capabilities, parking_restrictions): checkboxes,
- every other sub-object: a pretty-printed JSON textarea with an example in its help text.

Validation is the model's (`locations.validators`), so messages name the exact place of a
problem ("opening_times.regular_hours[0].period_end: must be later than period_begin").
The formsets add the rules between objects of one submit: at least one Connector per EVSE,
case-insensitive unique Connector ids per EVSE and EVSE uids / EVSE IDs per submit.

Saving an unchanged form must change nothing, so every field round-trips its stored value
exactly (JSON re-parsed to the same value, checkbox lists keep their stored order).
"""

import copy
import json
from contextvars import ContextVar
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.fields import InvalidJSONInput
from django.forms.models import InlineForeignKeyField
from nested_admin.formsets import NestedInlineFormSet

from . import enums
from .models import CONNECTOR_FIELDS, EVSE, EVSE_FIELDS, LOCATION_FIELDS, Connector, Location

# --- Errors raised by a service while saving ----------------------------------------------

# Set by the admin while it re-validates a submit whose save a service refused (the first
# attempt was rolled back): (form prefix, object label, error) triples. Each form shows the
# errors of its prefix; the main form (prefix None) also lists them all, so that the submit
# is always invalid and nothing is saved.
SERVICE_ERRORS: ContextVar[list[tuple[str | None, str, ValidationError]] | None] = ContextVar(
    "ocpi_admin_service_errors", default=None
)


def error_text(error: ValidationError) -> str:
    """One line for an error that may name fields."""
    if hasattr(error, "error_dict"):
        return "; ".join(
            " ".join(messages) if field == NON_FIELD_ERRORS else f"{field}: {' '.join(messages)}"
            for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


def add_errors(form: forms.Form, error: ValidationError) -> None:
    """Attach an error to the form's fields it names; the rest to the whole form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        if field in form.fields and field != NON_FIELD_ERRORS:
            form.add_error(field, errors)
        elif field == NON_FIELD_ERRORS:
            form.add_error(None, errors)
        else:
            form.add_error(None, [f"{field}: {' '.join(e.messages)}" for e in errors])


# --- Fields --------------------------------------------------------------------------------


class JSONTextField(forms.JSONField):
    """A sub-object as pretty-printed JSON; an empty textarea means `empty` (None or [])."""

    widget = forms.Textarea

    def __init__(self, *, empty: Any, example: str, help_text: str = "", **kwargs):
        self.empty = empty
        kwargs.setdefault("required", False)
        rows = 3 if empty == [] else 4
        kwargs.setdefault(
            "widget",
            forms.Textarea(attrs={"rows": rows, "cols": 60, "class": "vLargeTextField ocpi-json"}),
        )
        nothing = "no entries" if empty == [] else "not set"
        help_text = f"{help_text} JSON, e.g. {example} — empty means {nothing}.".strip()
        super().__init__(help_text=help_text, **kwargs)

    def to_python(self, value):
        if self.disabled:
            return value
        if value is None or (isinstance(value, str) and not value.strip()):
            return copy.deepcopy(self.empty)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            # Not code="invalid": a ModelForm would swap the message for the generic one.
            raise ValidationError(
                "This is not valid JSON: %(problem)s (line %(line)s, column %(column)s).",
                code="json",
                params={"problem": exc.msg, "line": exc.lineno, "column": exc.colno},
            ) from None

    def has_changed(self, initial, data):
        if self.disabled:
            return False
        try:
            value = self.to_python(data)
        except ValidationError:
            return True
        if initial is None:  # e.g. the initial of a new inline form
            initial = self.empty
        return json.dumps(initial, sort_keys=True) != json.dumps(value, sort_keys=True)

    def bound_data(self, data, initial):
        if self.disabled:
            return initial
        if data is None or not data.strip():
            return copy.deepcopy(self.empty)
        try:
            return json.loads(data)
        except json.JSONDecodeError:
            return InvalidJSONInput(data)

    def prepare_value(self, value):
        if isinstance(value, InvalidJSONInput):
            return value
        if value is None or value == []:
            return ""
        return json.dumps(value, indent=2, ensure_ascii=False)


class EnumListField(forms.MultipleChoiceField):
    """A list of enum values as checkboxes (changes are compared as sets)."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, choices_enum: type, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(choices=choices_enum.choices, **kwargs)


def keep_stored_order(chosen: list[str], stored: list[str]) -> list[str]:
    """The chosen values, stored ones first in their stored order, then new ones."""
    return [v for v in stored if v in chosen] + [v for v in chosen if v not in stored]


class CoordinatesWidget(forms.MultiWidget):
    def __init__(self, attrs=None):
        super().__init__(
            [
                forms.TextInput(
                    attrs={"placeholder": "latitude 52.089444", "size": 18, "title": "Latitude"}
                ),
                forms.TextInput(
                    attrs={"placeholder": "longitude 5.110278", "size": 18, "title": "Longitude"}
                ),
            ],
            attrs,
        )

    def decompress(self, value):
        if isinstance(value, dict):
            return [value.get("latitude"), value.get("longitude")]
        return [None, None]


class CoordinatesField(forms.MultiValueField):
    """A GeoLocation {"latitude": ..., "longitude": ...} from two text inputs."""

    widget = CoordinatesWidget

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            "Latitude and longitude in decimal degrees with 5 to 7 decimals, "
            "e.g. 52.089444 and 5.110278.",
        )
        super().__init__(
            fields=(forms.CharField(required=False), forms.CharField(required=False)),
            require_all_fields=False,
            error_messages={
                "required": "Enter the latitude and the longitude, e.g. 52.089444 and 5.110278."
            },
            **kwargs,
        )

    def compress(self, data_list):
        latitude, longitude = (list(data_list) + ["", ""])[:2]
        if not latitude and not longitude:
            return None
        if not latitude or not longitude:
            raise ValidationError(
                "Enter both the latitude and the longitude, e.g. 52.089444 and 5.110278.",
                code="pair",
            )
        return {"latitude": latitude, "longitude": longitude}


# Examples shown in help texts (valid OCPI values).
EXAMPLES = {
    "publish_allowed_to": '[{"uid": "012345678", "type": "RFID"}, {"group_id": "FLEET-1"}]',
    "related_locations": '[{"latitude": "52.089500", "longitude": "5.110300", '
    '"name": {"language": "en", "text": "Entrance"}}]',
    "directions": '[{"language": "en", "text": "Level -1, follow the green signs"}]',
    "business": '{"name": "Example Charging", "website": "https://charging.example.com"}',
    "opening_times": '{"twentyfourseven": false, "regular_hours": '
    '[{"weekday": 1, "period_begin": "08:00", "period_end": "20:00"}]}',
    "images": '[{"url": "https://example.com/site.jpg", "category": "LOCATION", "type": "jpeg"}]',
    "energy_mix": '{"is_green_energy": true, "energy_sources": '
    '[{"source": "SOLAR", "percentage": 40}, {"source": "WIND", "percentage": 60}]}',
    "status_schedule": '[{"period_begin": "2024-06-01T00:00:00Z", '
    '"period_end": "2024-06-02T00:00:00Z", "status": "INOPERATIVE"}]',
    "tariff_ids": '["AC-STD"]',
}


# --- Forms ---------------------------------------------------------------------------------


class OCPIModelForm(forms.ModelForm):
    """Common behaviour: ids frozen once created, stored order of checkbox lists kept,
    errors of a refused save shown (see SERVICE_ERRORS)."""

    # Fields that never change once the object exists (OCPI ids).
    immutable_fields: tuple[str, ...] = ()
    enum_list_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in self.immutable_fields:
                # (Not the parent key of an inline: its formset manages that one.)
                field = self.fields.get(name)
                if field is not None and not isinstance(field, InlineForeignKeyField):
                    field.disabled = True
                    field.help_text = "Never changes once created."

    def clean(self):
        cleaned_data = super().clean()
        for name in self.enum_list_fields:
            if name in cleaned_data:
                stored = getattr(self.instance, name, None) or []
                cleaned_data[name] = keep_stored_order(cleaned_data[name], stored)
        self._add_service_errors()
        return cleaned_data

    def _add_service_errors(self) -> None:
        service_errors = SERVICE_ERRORS.get()
        if not service_errors:
            return
        for prefix, label, error in service_errors:
            if prefix == self.prefix:
                add_errors(self, error)
            if self.prefix is None:
                self.add_error(None, f"Nothing was saved. {label}: {error_text(error)}")


class LocationForm(OCPIModelForm):
    immutable_fields = ("country_code", "party_id", "id")
    enum_list_fields = ("facilities",)

    coordinates = CoordinatesField(label="Coordinates")
    facilities = EnumListField(enums.Facility)
    publish_allowed_to = JSONTextField(
        empty=[],
        example=EXAMPLES["publish_allowed_to"],
        help_text="Only while publish is off: tokens whose owners may still see this Location "
        "(each needs uid+type, visual_number+issuer, or group_id).",
    )
    related_locations = JSONTextField(empty=[], example=EXAMPLES["related_locations"])
    directions = JSONTextField(empty=[], example=EXAMPLES["directions"])
    operator = JSONTextField(empty=None, example=EXAMPLES["business"])
    suboperator = JSONTextField(empty=None, example=EXAMPLES["business"])
    owner = JSONTextField(empty=None, example=EXAMPLES["business"])
    opening_times = JSONTextField(
        empty=None,
        example=EXAMPLES["opening_times"],
        help_text="Weekdays 1 (Monday) to 7 (Sunday); empty usually reads as always open.",
    )
    images = JSONTextField(empty=[], example=EXAMPLES["images"])
    energy_mix = JSONTextField(empty=None, example=EXAMPLES["energy_mix"])

    class Meta:
        model = Location
        fields = [f for f in LOCATION_FIELDS if f not in {"evses", "last_updated"}]
        error_messages = {
            "country_code": {
                "max_length": "Use the CPO's two-letter ISO 3166-1 alpha-2 code here, e.g. NL "
                "(the site's three-letter code, e.g. NLD, goes in country)."
            },
            "country": {
                "min_length": "Use the site's three-letter ISO 3166-1 alpha-3 code here, "
                "e.g. NLD (not the two-letter NL)."
            },
        }

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("publish") and cleaned_data.get("publish_allowed_to"):
            self.add_error(
                "publish_allowed_to",
                "Only allowed when publish is off: untick publish, or empty this list.",
            )
        return cleaned_data


class EVSEForm(OCPIModelForm):
    immutable_fields = ("uid", "location")
    enum_list_fields = ("capabilities", "parking_restrictions")

    coordinates = CoordinatesField(
        required=False,
        label="Coordinates",
        help_text="Only when different from the Location's: decimal degrees with 5 to 7 "
        "decimals, e.g. 52.089444 and 5.110278. Leave both empty for none.",
    )
    capabilities = EnumListField(enums.Capability)
    parking_restrictions = EnumListField(enums.ParkingRestriction)
    status_schedule = JSONTextField(empty=[], example=EXAMPLES["status_schedule"])
    directions = JSONTextField(empty=[], example=EXAMPLES["directions"])
    images = JSONTextField(empty=[], example=EXAMPLES["images"])

    class Meta:
        model = EVSE
        fields = ["location", *(f for f in EVSE_FIELDS if f not in {"connectors", "last_updated"})]
        help_texts = {
            "status": "EVSEs are never deleted: choose REMOVED to take one out of service "
            "for good (a removed EVSE stays removed).",
        }


class ConnectorForm(OCPIModelForm):
    immutable_fields = ("id", "evse")

    tariff_ids = JSONTextField(
        empty=[],
        example=EXAMPLES["tariff_ids"],
        widget=forms.Textarea(attrs={"rows": 1, "cols": 18, "class": "ocpi-json"}),
    )
    terms_and_conditions = forms.URLField(
        max_length=255,
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"size": 24}),
    )

    class Meta:
        model = Connector
        fields = ["evse", *(f for f in CONNECTOR_FIELDS if f != "last_updated")]
        widgets = {
            "max_voltage": forms.NumberInput(attrs={"style": "width: 6em"}),
            "max_amperage": forms.NumberInput(attrs={"style": "width: 6em"}),
            "max_electric_power": forms.NumberInput(attrs={"style": "width: 7em"}),
        }


# --- Formsets: rules between the objects of one submit ------------------------------------


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
