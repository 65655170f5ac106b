"""Editors for the OCPI sub-objects in the admin, made from the validation's JSON Schema.

Images, directions, business details, publish_allowed_to, related_locations,
status_schedule and energy mix are edited with django-jsonform's editor (rows with inputs,
"add"/"remove" buttons, selects with readable labels). Its schema is *made* from the
member's schema in `locations/schemas.py` by `editor_schema`, the same schema that
validates every save, so there is one copy of the rules: a class gets a member in
`schemas.py` and the editor shows it. The editor only draws inputs; the checks (and their
messages, e.g. `images[0].category: 'PHOTO' is not one of: …`) stay the model's validators
(`locations/validators.py`), whose messages are also shown at the input they name.

An editor writes every member of a class, empty ones as "" / null / []; OCPI wants optional
members left out (`versions.schema_types`), so `prune` drops empty members and rows
nothing was typed into before the value is validated and stored. An optional object
(energy_mix) is edited as a list of at most one entry: no entry means "not set".

Raw JSON stays reachable: every field here has `raw_field()`, the pretty-printed JSON
textarea used on the admin page's raw view (`?raw_json=1`, docs/admin.md).
"""

import copy
import json
import re
from functools import cache
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django_jsonform.constants import JOIN_SYMBOL
from django_jsonform.widgets import JSONFormWidget

from . import enums, schemas
from .form_fields import JSONTextField

EMPTY_VALUES: tuple[Any, ...] = ("", None, [], {})

# Titles an operator reads; other members get their name with spaces ("period begin").
TITLES = {
    "uid": "Token uid",
    "type": "Type",
    "url": "URL",
    "group_id": "Group id",
    "visual_number": "Visual number",
    "is_green_energy": "Green energy",
    "environ_impact": "Environmental impact",
    "amount": "Amount (g/kWh)",
    "percentage": "Percentage (%)",
    "width": "Width (px)",
    "height": "Height (px)",
    "language": "Language (ISO 639-1, e.g. en)",
}


@cache
def _enum_classes() -> dict[tuple[str, ...], type[models.TextChoices]]:
    return {
        tuple(cls.values): cls
        for cls in vars(enums).values()
        if isinstance(cls, type) and issubclass(cls, models.TextChoices) and cls.values
    }


def _title(name: str) -> str:
    return TITLES.get(name, name.replace("_", " ").capitalize())


def editor_schema(schema: dict, title: str = "") -> dict:
    """django-jsonform's schema for a member: types, members, lists and enums (with their
    labels) of our schema; no rule (the validators check, see the module doc)."""
    if "$ref" in schema:
        named = schemas.DEFINITIONS[schema["$ref"].rsplit("/", 1)[-1]]
        return editor_schema(named, title)
    result: dict[str, Any] = {}
    if title:
        result["title"] = title
    if "description" in schema:
        result["help_text"] = schema["description"]
    if "enum" in schema:
        cls = _enum_classes().get(tuple(schema["enum"]))
        labels = dict(cls.choices) if cls else {}
        result["type"] = "string"
        result["choices"] = [{"value": v, "title": labels.get(v, v)} for v in schema["enum"]]
        return result
    kind = schema.get("type")
    if kind == "object":
        result["type"] = "object"
        result["keys"] = {
            name: editor_schema(member, _title(name))
            for name, member in schema["properties"].items()
        }
    elif kind == "array":
        result["type"] = "array"
        result["items"] = editor_schema(schema["items"])
    elif kind in ("integer", "number"):
        result["type"] = kind
        for keyword in ("minimum", "maximum"):
            if keyword in schema:
                result[keyword] = schema[keyword]
    elif kind == "boolean":
        result["type"] = "boolean"
    else:
        result["type"] = "string"
        if "maxLength" in schema:
            result["maxLength"] = schema["maxLength"]
        if "example" in schema:
            result["placeholder"] = str(schema["example"])
        elif schema.get("format") == "uri":
            result["placeholder"] = "https://…"
    return result


def prune(value: Any) -> Any:
    """The value with empty members ("", null, [], {}) and empty list entries left out."""
    if isinstance(value, dict):
        pruned = {key: prune(member) for key, member in value.items()}
        return {key: member for key, member in pruned.items() if member not in EMPTY_VALUES}
    if isinstance(value, list):
        items = [prune(item) for item in value]
        return [item for item in items if item not in EMPTY_VALUES]
    return value


class EditorInput(str):
    """What the editor posted, shown again as typed after a refused save."""


# "images[0].url: is required" -> the member, the place inside it, the problem.
_MESSAGE = re.compile(r"^(?P<member>\w+)(?P<place>(?:\.\w+|\[\d+\])*): (?P<problem>.*)$", re.S)


def error_place(message: str) -> tuple[str, list[str], str] | None:
    """(member, path inside it, problem) of a validator's message, if it names a place."""
    match = _MESSAGE.match(message)
    if not match:
        return None
    place = re.findall(r"\.(\w+)|\[(\d+)\]", match["place"])
    return match["member"], [name or index for name, index in place], match["problem"]


class EditorWidget(JSONFormWidget):
    template_name = "locations/widgets/jsonform.html"

    class Media:
        css = {"all": ("locations/admin/editors.css",)}


class SchemaEditorField(forms.JSONField):
    """A JSON column edited with django-jsonform, from the member's schema in schemas.py.

    `empty` is the stored value of "nothing" (None or []); `single` edits an optional object
    as a list of at most one entry."""

    def __init__(
        self,
        object_name: str,
        member: str,
        *,
        empty: Any,
        example: str,
        single: bool = False,
        help_text: str = "",
        **kwargs,
    ):
        self.object_name, self.member = object_name, member
        self.empty, self.example, self.single = empty, example, single
        self.raw_help_text = help_text
        schema = editor_schema(schemas.OBJECTS[object_name]["properties"][member])
        if single:
            schema = {"type": "array", "items": schema, "maxItems": 1}
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", EditorWidget(schema=schema))
        if single:
            how = "Add item to set it; no item: not set."
        elif empty == []:
            how = "Add item for each entry; no item: left out."
        else:
            how = "Leave every input empty for none."
        help_text = f"{help_text} {how}".strip()
        super().__init__(help_text=help_text, **kwargs)

    def raw_field(self) -> JSONTextField:
        return JSONTextField(
            empty=self.empty, example=self.example, help_text=self.raw_help_text, label=self.label
        )

    def _parse(self, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return copy.deepcopy(self.empty)
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValidationError(
                    "The editor sent no valid JSON: %(problem)s.",
                    code="json",
                    params={"problem": exc.msg},
                ) from None
        value = prune(value)
        if self.single and isinstance(value, list) and len(value) <= 1:
            value = value[0] if value else None
        if value in EMPTY_VALUES:
            return copy.deepcopy(self.empty)
        return value

    def to_python(self, value):
        if self.disabled:
            return value
        return self._parse(value)

    def bound_data(self, data, initial):
        if self.disabled:
            return initial
        return EditorInput(data or "")

    def prepare_value(self, value):
        if isinstance(value, EditorInput):
            return value if value.strip() else json.dumps([] if self.single else self.empty)
        if self.single:
            value = [] if value is None else [value]
        return json.dumps(value, ensure_ascii=False)

    def has_changed(self, initial, data):
        if self.disabled:
            return False
        try:
            value = self._parse(data)
        except ValidationError:
            return True
        if initial is None:
            initial = self.empty
        return json.dumps(initial, sort_keys=True) != json.dumps(value, sort_keys=True)

    def show_errors(self, messages: list[str]) -> None:
        """Also show each message at the input it names (django-jsonform's error map)."""
        error_map: dict[str, list[str]] = {}
        for message in messages:
            place = error_place(message)
            if place is None or place[0] != self.member:
                continue
            path = (["0"] if self.single else []) + place[1]
            error_map.setdefault(JOIN_SYMBOL.join(path), []).append(place[2])
        if error_map and isinstance(self.widget, JSONFormWidget):
            self.widget.add_error(error_map)
