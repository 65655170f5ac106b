"""Checking values against OCPI JSON Schema (versions.schema_validation), in isolation.

The Locations classes pin the messages an operator reads (tests/locations/test_validators.py);
these tests pin the machinery: which keyword gives which message, in which order, and that
a schema it cannot fully check is refused rather than half checked.
"""

import pytest

from versions.schema_types import (
    DATETIME,
    cistring,
    list_of,
    obj,
    patterned,
    ref,
    string,
    url,
)
from versions.schema_validation import SchemaError, SchemaSet

POINT = obj(
    {"x": {"type": "integer", "minimum": 0, "maximum": 9}},
    {
        "label": string(8, optional=True),
        "tags": list_of(cistring(4, min_length=1), unique=True),
        "at": ref("OcpiDateTime"),
    },
)


def _end_after_begin(value, path):
    if value["end"] <= value["begin"]:
        raise SchemaError(f"{path}.end", "must be after begin")


SCHEMAS = SchemaSet(
    {
        "OcpiDateTime": DATETIME,
        "Point": POINT,
        "Span": obj({"begin": {"type": "integer"}, "end": {"type": "integer"}}),
    },
    rules={"Span": _end_after_begin},
)


def problem(schema, value, path="field") -> str:
    with pytest.raises(SchemaError) as caught:
        SCHEMAS.checker(schema)(value, path)
    return str(caught.value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "field: must be an object"),
        ({"x": 1, "z": 0, "y": 0}, "field: unknown field(s): y, z"),
        ({"label": "a"}, "field.x: is required"),
        ({"x": None}, "field.x: is required"),
        ({"x": 1.5}, "field.x: must be a whole number"),
        ({"x": True}, "field.x: must be a whole number"),
        ({"x": 10}, "field.x: must be 0 to 9"),
        ({"x": 1, "label": ""}, "field.label: must be left out rather than empty"),
        ({"x": 1, "label": "  "}, "field.label: must not be empty"),
        ({"x": 1, "label": "123456789"}, "field.label: at most 8 characters (it has 9)"),
        ({"x": 1, "label": "a\u2028b"},
         "field.label: must not contain control characters (line breaks, tabs)"),
        ({"x": 1, "tags": []}, "field.tags: must be left out rather than empty"),
        ({"x": 1, "tags": ["A", "A"]}, "field.tags: contains the same value twice"),
        ({"x": 1, "tags": ["A", "ü"]}, "field.tags[1]: only ASCII characters are allowed"),
        ({"x": 1, "at": 5}, "field.at: must be a DateTime text such as 2024-03-01T10:00:00Z"),
        ({"x": 1, "at": "2024-13-01T00:00:00Z"},
         "field.at: '2024-13-01T00:00:00Z' is not a UTC DateTime such as 2024-03-01T10:00:00Z"),
        # parse_ocpi_datetime reads year 0999; the published pattern does not allow it.
        ({"x": 1, "at": "0999-01-01T00:00:00Z"},
         "field.at: '0999-01-01T00:00:00Z' does not match the required format, "
         "e.g. 2024-03-01T10:00:00Z"),
    ],
)  # fmt: skip
def test_each_keyword_gives_its_message_at_the_exact_place(value, message):
    assert problem(POINT, value) == message


def test_members_are_checked_required_first_and_null_optional_members_count_as_absent():
    # `label` comes first in the value, `x` first in the checks: required members first.
    assert problem(POINT, {"label": 5, "x": -1}) == "field.x: must be 0 to 9"
    SCHEMAS.checker(POINT)({"x": 0, "label": None, "tags": None}, "field")


def test_a_rule_runs_after_the_schema_check_of_its_class():
    assert problem(ref("Span"), {"begin": 2}) == "field.end: is required"
    assert problem(ref("Span"), {"begin": 2, "end": 1}) == "field.end: must be after begin"
    assert problem(list_of(ref("Span")), [{"begin": 1, "end": 2}, {"begin": 2, "end": 2}]) == (
        "field[1].end: must be after begin"
    )


def test_patterns_urls_enums_and_ranges_name_what_is_expected():
    hour = patterned(r"^[0-2][0-9]:[0-5][0-9]$", 5, "07:00")
    assert problem(hour, "7:00") == "field: '7:00' does not match the required format, e.g. 07:00"
    assert (
        problem(url(), "ftp://x.example") == "field: 'ftp://x.example' is not a valid http(s) URL"
    )
    assert problem({"type": "string", "enum": ["A", "B"]}, "C") == "field: 'C' is not one of: A, B"
    weight = {"type": "number", "minimum": 0, "description": "kg"}
    assert problem(weight, -0.5) == "field: must be at least 0 (kg)"
    assert problem(weight, "1") == "field: must be a number"
    assert problem({"type": "boolean"}, 1) == "field: must be true or false"
    assert problem(list_of(string(4), min_items=2), ["a"]) == "field: needs at least 2 entries"


def test_a_schema_the_validation_cannot_fully_check_is_refused_when_compiling():
    with pytest.raises(ValueError, match="oneOf"):
        SCHEMAS.checker({"oneOf": [{"type": "string"}, {"type": "integer"}]})
    with pytest.raises(ValueError, match="format"):
        SCHEMAS.checker({"type": "string", "format": "email"})
    with pytest.raises(ValueError, match="Unknown"):
        SCHEMAS.checker(ref("Unknown"))
