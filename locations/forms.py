"""Forms of the operator admin (docs/admin.md).

One ModelForm per object (Location, EVSE, Connector). Their inputs for OCPI sub-objects
are in `locations.form_fields`; the rules between the objects of one submit are the
formsets' (`locations.formsets`).

Validation is the model's (`locations.validators`), so messages name the exact place of a
problem ("opening_times.regular_hours[0].period_end: must be later than period_begin").

The structured sub-objects have editors (`locations.editors`: made from the schema;
`locations.opening_hours`: the week grid; `form_fields.TagsField`: tariff_ids). On the raw
view of a page (`?raw_json=1`, RAW_JSON) they are the JSON textareas again.
"""

from contextvars import ContextVar

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.models import InlineForeignKeyField

from . import enums
from .concurrency import StaleEdit
from .editors import SchemaEditorField
from .form_fields import CoordinatesField, EnumListField, TagsField, keep_stored_order
from .models import CONNECTOR_FIELDS, EVSE, EVSE_FIELDS, LOCATION_FIELDS, Connector, Location
from .opening_hours import OpeningHoursField

# --- Errors raised by a service while saving ----------------------------------------------

# Set by the admin while it re-validates a submit whose save a service refused (the first
# attempt was rolled back): (form prefix, object label, error) triples. Each form shows the
# errors of its prefix; the main form (prefix None) also lists them all, so that the submit
# is always invalid and nothing is saved.
SERVICE_ERRORS: ContextVar[list[tuple[str | None, str, ValidationError]] | None] = ContextVar(
    "ocpi_admin_service_errors", default=None
)

# True while the admin renders or saves the raw view of a page (`?raw_json=1`): the
# sub-objects are then pretty-printed JSON textareas instead of editors.
RAW_JSON: ContextVar[bool] = ContextVar("ocpi_admin_raw_json", default=False)


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
    errors of a refused save shown (see SERVICE_ERRORS), the object's version carried.

    `seen_version` is the object's `version` when the page was rendered (a hidden input);
    the admin passes it to the services, which refuse the save when the stored object has
    changed since (docs/admin.md, "Concurrent edits"). A stale form always counts as
    changed: its hidden version differs from the stored one (the form's initial value)."""

    # Fields that never change once the object exists (OCPI ids).
    immutable_fields: tuple[str, ...] = ()
    enum_list_fields: tuple[str, ...] = ()

    seen_version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    class Media:
        css = {"all": ("locations/admin/editors.css",)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if RAW_JSON.get():
            for name, field in list(self.fields.items()):
                if hasattr(field, "raw_field"):
                    self.fields[name] = field.raw_field()
        if self.instance.pk:
            self.initial.setdefault("seen_version", self.instance.version)
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
        for name, field in self.fields.items():
            # The same hours in another order: the stored object stays as it is.
            if hasattr(field, "same_value") and name in cleaned_data:
                stored = getattr(self.instance, name, None)
                if field.same_value(stored, cleaned_data[name]):
                    cleaned_data[name] = stored
        self._add_service_errors()
        return cleaned_data

    def _post_clean(self):
        super()._post_clean()  # the model's validation: the schema's precise messages
        for name, field in self.fields.items():
            if name in self.errors and hasattr(field, "show_errors"):
                messages = [str(m) for m in self.errors[name]]
                if isinstance(field, OpeningHoursField):
                    field.show_errors(messages, getattr(self.instance, name, None))
                else:
                    field.show_errors(messages)

    def _add_service_errors(self) -> None:
        service_errors = SERVICE_ERRORS.get()
        if not service_errors:
            return
        for prefix, label, error in service_errors:
            if self.prefix is None and isinstance(error, StaleEdit):
                # Once, at the top: it names the object and says that nothing was saved.
                self.add_error(None, error_text(error))
                continue
            if prefix == self.prefix:
                add_errors(self, error)
            if self.prefix is None:
                self.add_error(None, f"Nothing was saved. {label}: {error_text(error)}")


class LocationForm(OCPIModelForm):
    immutable_fields = ("country_code", "party_id", "id")
    enum_list_fields = ("facilities",)

    coordinates = CoordinatesField(label="Coordinates")
    facilities = EnumListField(enums.Facility)
    publish_allowed_to = SchemaEditorField(
        "Location",
        "publish_allowed_to",
        empty=[],
        example=EXAMPLES["publish_allowed_to"],
        help_text="Only while publish is off: tokens whose owners may still see this Location "
        "(each needs uid+type, visual_number+issuer, or group_id).",
    )
    related_locations = SchemaEditorField(
        "Location", "related_locations", empty=[], example=EXAMPLES["related_locations"]
    )
    directions = SchemaEditorField(
        "Location", "directions", empty=[], example=EXAMPLES["directions"]
    )
    operator = SchemaEditorField("Location", "operator", empty=None, example=EXAMPLES["business"])
    suboperator = SchemaEditorField(
        "Location", "suboperator", empty=None, example=EXAMPLES["business"]
    )
    owner = SchemaEditorField("Location", "owner", empty=None, example=EXAMPLES["business"])
    opening_times = OpeningHoursField(
        example=EXAMPLES["opening_times"],
        help_text="Not given usually reads as always open. Regular hours in the Location's "
        "local time; a day without a period is closed; a period may not pass midnight "
        "(split it: 22:00–23:59 and 00:00–06:00 the next day).",
    )
    images = SchemaEditorField("Location", "images", empty=[], example=EXAMPLES["images"])
    energy_mix = SchemaEditorField(
        "Location", "energy_mix", empty=None, single=True, example=EXAMPLES["energy_mix"]
    )

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
    status_schedule = SchemaEditorField(
        "EVSE", "status_schedule", empty=[], example=EXAMPLES["status_schedule"]
    )
    directions = SchemaEditorField("EVSE", "directions", empty=[], example=EXAMPLES["directions"])
    images = SchemaEditorField("EVSE", "images", empty=[], example=EXAMPLES["images"])

    class Meta:
        model = EVSE
        fields = ["location", *(f for f in EVSE_FIELDS if f not in {"connectors", "last_updated"})]
        help_texts = {
            "status": "EVSEs are never deleted: choose REMOVED to take one out of service "
            "for good (a removed EVSE stays removed).",
        }


class ConnectorForm(OCPIModelForm):
    immutable_fields = ("id", "evse")

    tariff_ids = TagsField(example=EXAMPLES["tariff_ids"])
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
