"""The opening hours editor of the admin: a week grid (docs/admin.md, "Editing sub-objects").

`opening_times` is an OCPI Hours object (OCPI 2.2.1, Locations module, 8.4.14 Hours class):
open 24/7, or regular hours per weekday (several periods a day), plus exceptional openings
and closings. The grid has one row per weekday with its periods (time inputs; "+ period"
adds one, and there is always an empty one to type into, so it works without JavaScript
too), and two lists of exceptional periods (UTC DateTimes, e.g. 2026-12-25T00:00:00Z).

The grid only reads and writes the Hours object: weekday numbers, member names and the
time format are the schema's (`locations/schemas.py`), and every check is the validator's,
whose message names the place (`opening_times.regular_hours[2].period_end: must be later
than period_begin`); the grid shows it at the period it means too ("Tuesday, period 1").
"""

import copy
import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from . import schemas
from .editors import error_place
from .form_fields import JSONTextField

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HOURS = schemas.CLASSES["Hours"]["properties"]
_REGULAR = schemas.CLASSES["RegularHours"]["properties"]
# The schema's weekday numbers (1 = Monday … 7 = Sunday).
assert (_REGULAR["weekday"]["minimum"], _REGULAR["weekday"]["maximum"]) == (1, len(WEEKDAYS))
EXCEPTIONAL = {"open": "exceptional_openings", "close": "exceptional_closings"}
assert set(EXCEPTIONAL.values()) < set(_HOURS)

NOT_SET, ALWAYS, REGULAR = "unset", "247", "hours"


class OpeningHoursInput(dict):
    """What the grid posted (its rows as typed), kept to show it again after a refused save."""


def _values(data, key: str) -> list[str]:
    if hasattr(data, "getlist"):
        return list(data.getlist(key))
    value = data.get(key, [])
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _pairs(data, name: str) -> list[tuple[str, str]]:
    begins, ends = _values(data, f"{name}-begin"), _values(data, f"{name}-end")
    length = max(len(begins), len(ends))
    begins += [""] * (length - len(begins))
    ends += [""] * (length - len(ends))
    return [
        (b.strip(), e.strip()) for b, e in zip(begins, ends, strict=True) if b.strip() or e.strip()
    ]


def hours_from_rows(rows: dict) -> Any:
    """The Hours object of the grid's rows (None when "not set")."""
    mode = rows["mode"]
    if mode == NOT_SET:
        return None
    value: dict[str, Any] = {"twentyfourseven": mode == ALWAYS}
    if mode == REGULAR:
        regular = [
            {"weekday": weekday, "period_begin": begin, "period_end": end}
            for weekday in range(1, len(WEEKDAYS) + 1)
            for begin, end in rows["days"][weekday]
        ]
        if regular:
            value["regular_hours"] = regular
    for key, member in EXCEPTIONAL.items():
        periods = [_period(begin, end) for begin, end in rows[key]]
        if periods:
            value[member] = periods
    return value


def _period(begin: str, end: str) -> dict:
    period = {"period_begin": begin}
    if end:
        period["period_end"] = end
    return period


def rows_from_hours(value: Any) -> dict:
    """The grid's rows of a stored Hours object."""
    rows: dict[str, Any] = {"mode": NOT_SET, "days": {d: [] for d in range(1, 8)}}
    value = value if isinstance(value, dict) else {}
    if value:
        rows["mode"] = ALWAYS if value.get("twentyfourseven") else REGULAR
    for entry in value.get("regular_hours") or []:
        if isinstance(entry, dict) and entry.get("weekday") in rows["days"]:
            rows["days"][entry["weekday"]].append(
                (entry.get("period_begin", ""), entry.get("period_end", ""))
            )
    for key, member in EXCEPTIONAL.items():
        rows[key] = [
            (p.get("period_begin", ""), p.get("period_end", ""))
            for p in value.get(member) or []
            if isinstance(p, dict)
        ]
    return rows


def _canonical(value: Any) -> str:
    """Equal for the same hours whatever the order of the stored regular_hours."""
    if isinstance(value, dict) and value.get("regular_hours"):
        value = {
            **value,
            "regular_hours": sorted(
                value["regular_hours"], key=lambda e: json.dumps(e, sort_keys=True)
            ),
        }
    return json.dumps(value, sort_keys=True)


class OpeningHoursWidget(forms.Widget):
    template_name = "locations/widgets/opening_hours.html"

    class Media:
        css = {"all": ("locations/admin/editors.css",)}
        js = ("locations/admin/opening_hours.js",)

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.errors: dict[tuple, list[str]] = {}

    def value_from_datadict(self, data, files, name):
        if f"{name}-mode" not in data:
            return None  # not on the page (e.g. a form posted without this field)
        rows = OpeningHoursInput(mode=data.get(f"{name}-mode"))
        rows["days"] = {d: _pairs(data, f"{name}-d{d}") for d in range(1, len(WEEKDAYS) + 1)}
        for key in EXCEPTIONAL:
            rows[key] = _pairs(data, f"{name}-{key}")
        return rows

    def value_omitted_from_data(self, data, files, name):
        return f"{name}-mode" not in data

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rows = value if isinstance(value, OpeningHoursInput) else rows_from_hours(value)
        errors = self.errors
        days = []
        for weekday, day_name in enumerate(WEEKDAYS, start=1):
            periods = [
                {"begin": b, "end": e, "errors": errors.get(("day", weekday, i), [])}
                for i, (b, e) in enumerate(rows["days"].get(weekday, []))
            ]
            periods.append({"begin": "", "end": "", "errors": []})  # one to type into
            days.append({"weekday": weekday, "name": day_name, "periods": periods})
        exceptional = []
        for key, title in (("open", "Exceptional openings"), ("close", "Exceptional closings")):
            periods = [
                {"begin": b, "end": e, "errors": errors.get((key, i), [])}
                for i, (b, e) in enumerate(rows.get(key, []))
            ]
            periods.append({"begin": "", "end": "", "errors": []})
            exceptional.append({"key": key, "title": title, "periods": periods})
        context["widget"].update(
            mode=rows["mode"],
            modes=(
                (NOT_SET, "Not given"),
                (ALWAYS, "Open 24/7"),
                (REGULAR, "Regular hours (below)"),
            ),
            days=days,
            exceptional=exceptional,
            other_errors=errors.get(("other",), []),
        )
        return context


class OpeningHoursField(forms.Field):
    """`opening_times` as a week grid; an unchanged grid gives back the stored object."""

    widget = OpeningHoursWidget

    def __init__(self, *, example: str, help_text: str = "", **kwargs):
        self.example, self.raw_help_text = example, help_text
        kwargs.setdefault("required", False)
        super().__init__(help_text=help_text, **kwargs)

    def raw_field(self) -> JSONTextField:
        return JSONTextField(
            empty=None, example=self.example, help_text=self.raw_help_text, label=self.label
        )

    def to_python(self, value):
        if self.disabled:
            return value
        if isinstance(value, OpeningHoursInput):
            if value.get("mode") not in (NOT_SET, ALWAYS, REGULAR):
                raise ValidationError("Choose not given, open 24/7 or regular hours.", code="mode")
            return hours_from_rows(value)
        return copy.deepcopy(value) or None

    def bound_data(self, data, initial):
        if self.disabled or data is None:
            return initial
        return data

    def has_changed(self, initial, data):
        if self.disabled:
            return False
        try:
            value = self.to_python(data)
        except ValidationError:
            return True
        return not self.same_value(initial, value)

    def same_value(self, stored: Any, new: Any) -> bool:
        return _canonical(stored or None) == _canonical(new)

    def show_errors(self, messages: list[str], value: Any) -> None:
        """Mark the period a message names ("regular_hours[3]" is the grid's 4th period
        counted Monday to Sunday, as `hours_from_rows` wrote them)."""
        regular = (value or {}).get("regular_hours") or [] if isinstance(value, dict) else []
        counts: dict[int, int] = {}
        places = []
        for entry in regular:
            weekday = entry.get("weekday")
            places.append(("day", weekday, counts.get(weekday, 0)))
            counts[weekday] = counts.get(weekday, 0) + 1
        errors: dict[tuple, list[str]] = {}
        for message in messages:
            place = error_place(message)
            path = place[1] if place else []
            if len(path) < 2 or not path[1].isdigit():
                continue  # about the whole list or object: shown above the grid only
            if path[0] == "regular_hours" and int(path[1]) < len(places):
                key: tuple = places[int(path[1])]
                errors.setdefault(key, []).append(
                    f"{WEEKDAYS[key[1] - 1]}, period {key[2] + 1}: {message}"
                )
            elif path[0] in EXCEPTIONAL.values():
                short = next(k for k, m in EXCEPTIONAL.items() if m == path[0])
                errors.setdefault((short, int(path[1])), []).append(message)
        self.widget.errors = errors
