"""Form fields for the OCPI sub-objects, which are JSON columns (docs/admin.md).

Here they become inputs an operator can use:
- `coordinates`: two text inputs (latitude, longitude); 4 to 7 decimals are accepted and
  stored in the spec's format (`locations.coordinates`),
- lists of enum values (facilities, capabilities, parking_restrictions): checkboxes,
- a list of ids (a Connector's tariff_ids): one text input of tags, `AC-STD, DC-FAST`,
- the other sub-objects have editors (`locations.editors`, `locations.opening_hours`); the
  pretty-printed JSON textarea with an example in its help text (`JSONTextField`) is their
  raw view.

Saving an unchanged form must change nothing, so every field round-trips its stored value
exactly (JSON re-parsed to the same value, checkbox lists keep their stored order).
"""

import copy
import json
import re
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput

from . import coordinates


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


class TagsInput(forms.TextInput):
    """The ids typed in one input, shown as removable chips by tags.js."""

    class Media:
        js = ("locations/admin/tags.js",)


class TagsField(forms.Field):
    """A list of ids as tags in one text input: `AC-STD, DC-FAST` (commas or spaces between
    them; ids have no spaces). The ids are checked by the model's validator."""

    def __init__(self, *, example: str, **kwargs):
        self.example = example
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget",
            TagsInput(attrs={"class": "ocpi-tags", "placeholder": "e.g. AC-STD, DC-FAST"}),
        )
        kwargs.setdefault("help_text", "Ids separated by commas; empty means none.")
        super().__init__(**kwargs)

    def raw_field(self) -> "JSONTextField":
        return JSONTextField(
            empty=[],
            example=self.example,
            label=self.label,
            widget=forms.Textarea(attrs={"rows": 1, "cols": 18, "class": "ocpi-json"}),
        )

    def to_python(self, value):
        if self.disabled or isinstance(value, list):
            return value
        return [tag for tag in re.split(r"[,\s]+", value or "") if tag]

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(str(tag) for tag in value)
        return value

    def has_changed(self, initial, data):
        if self.disabled:
            return False
        return (initial or []) != self.to_python(data)


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
    """Latitude and longitude inputs; `with_map`: a Leaflet map below them, where a click or
    a dragged pin fills the inputs (6 decimals, the spec's format) and typing moves the pin
    (`locations/static/locations/coordinates_map.js`). Tiles come from
    `OCPI_MAP_TILES_URL`; without them (empty, or unreachable) the map says so and still
    places the pin."""

    map_template_name = "locations/widgets/coordinates_map.html"

    def __init__(self, attrs=None, *, with_map: bool = False):
        self.with_map = with_map
        if with_map:
            self.template_name = self.map_template_name
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

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["tiles_url"] = settings.OCPI_MAP_TILES_URL
        context["widget"]["tiles_attribution"] = settings.OCPI_MAP_TILES_ATTRIBUTION
        return context

    @property
    def media(self):
        media = super().media
        if self.with_map:
            media += forms.Media(
                css={"all": ["locations/vendor/leaflet/leaflet.css", "locations/maps.css"]},
                js=["locations/vendor/leaflet/leaflet.js", "locations/coordinates_map.js"],
            )
        return media


class CoordinatesField(forms.MultiValueField):
    """A GeoLocation {"latitude": ..., "longitude": ...} from two text inputs."""

    widget = CoordinatesWidget

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            "Latitude (−90 to 90) and longitude (−180 to 180) in decimal degrees with 4 to 7 "
            "decimals, e.g. 52.089444 and 5.110278; 4 decimals are stored as 5 (52.0894 as "
            "52.08940), the format of OCPI 2.2.1.",
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
        # Stored in the spec's format (OCPI 2.2.1, Locations module, GeoLocation class), so
        # what the Sender interface serves and what is pushed is always that format.
        point, problems = {}, []
        for name, typed in (("latitude", latitude), ("longitude", longitude)):
            try:
                point[name] = coordinates.normalised(name, typed)
            except ValueError as exc:
                problems.append(
                    ValidationError(
                        "coordinates.%(name)s: %(problem)s",
                        code="coordinates",
                        params={"name": name, "problem": str(exc)},
                    )
                )
        if problems:
            raise ValidationError(problems)
        return point
