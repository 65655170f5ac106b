"""The OCPI 2.2.1 types as JSON Schema: the building blocks of every module's objects.

Each OCPI class is written once, as JSON Schema, and read twice: as an OpenAPI component of
/api/schema/ (each app's `openapi.py`) and by the validation of stored objects
(`versions.schema_validation`, e.g. `locations/validators.py`). Types: OCPI 2.2.1, Types,
16.1 CiString type, 16.2 DateTime type, 16.3 DisplayText class, 16.7 string type,
16.8 URL type.

The shapes follow our omission rules (locations/serializers.py): a required member (card.
`1`, `+`) is `required`; an optional member is left out rather than sent empty or `null`, so
a present optional text has `minLength: 1` and a present optional list `minItems: 1`; an
object has `additionalProperties: false`.

A pattern can stand for a rule that Python checks exactly (`TEXT_CHECKS`): the validation
runs that check, with its own message, before the pattern itself. A text that passes the
validation therefore always matches the published pattern.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .datetimes import parse_ocpi_datetime

Schema = dict[str, Any]

# string(n), 16.7 string type: printable UTF-8. The pattern only keeps out ASCII control
# characters; the validation uses str.isprintable(), which also refuses e.g. U+2028.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
# CiString(n), 16.1 CiString type: printable ASCII.
PRINTABLE_ASCII = r"^[\x20-\x7e]*$"
# 16.2 DateTime type, as we accept it (versions.datetimes.parse_ocpi_datetime): UTC only, `Z`
# optional, up to 6 fraction digits. The field ranges are spelled out so that a value
# matching the pattern is (nearly) always a real moment; 2024-02-30 still matches and is
# refused by the parser.
DATETIME_PATTERN = (
    r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?Z?$"
)
DATETIME_EXAMPLE = "2024-03-01T10:00:00Z"
# A Location id, EVSE uid or Connector id: CiString(36) without spaces.
ID_PATTERN = r"^[\x21-\x7e]{1,36}$"
COUNTRY_CODE_PATTERN = r"^[A-Za-z]{2}$"
PARTY_ID_PATTERN = r"^[A-Za-z0-9]{3}$"

_CONTROL_CHARACTERS = "must not contain control characters (line breaks, tabs)"


@dataclass(frozen=True)
class TextCheck:
    """What a pattern means, checked exactly: `problem(text)` is None or the message."""

    problem: Callable[[str], str | None]
    not_text: str = "must be a text"  # the message for a value that is no text at all


def _printable(text: str) -> str | None:
    return None if text.isprintable() else _CONTROL_CHARACTERS


def _printable_ascii(text: str) -> str | None:
    if not text.isprintable():
        return _CONTROL_CHARACTERS
    return None if text.isascii() else "only ASCII characters are allowed"


def _utc_datetime(text: str) -> str | None:
    try:
        parse_ocpi_datetime(text)
    except ValueError:
        return f"{text!r} is not a UTC DateTime such as {DATETIME_EXAMPLE}"
    return None


TEXT_CHECKS = {
    PRINTABLE: TextCheck(_printable),
    PRINTABLE_ASCII: TextCheck(_printable_ascii),
    DATETIME_PATTERN: TextCheck(
        _utc_datetime, not_text=f"must be a DateTime text such as {DATETIME_EXAMPLE}"
    ),
}


# --- Builders ---------------------------------------------------------------------------------


def ref(name: str) -> Schema:
    """A reference to a named class: an OpenAPI component, a definition for validation."""
    return {"$ref": f"#/components/schemas/{name}"}


def _described(schema: Schema, description: str) -> Schema:
    if description:
        schema["description"] = description
    return schema


def string(max_length: int, *, description: str = "", optional: bool = False) -> Schema:
    """string(n): printable UTF-8; an optional one is left out rather than sent empty."""
    schema: Schema = {"type": "string", "maxLength": max_length, "pattern": PRINTABLE}
    if optional:
        schema["minLength"] = 1
    return _described(schema, description)


def cistring(max_length: int, *, description: str = "", min_length: int = 0) -> Schema:
    """CiString(n): printable ASCII, compared case-insensitively."""
    schema: Schema = {"type": "string", "maxLength": max_length, "pattern": PRINTABLE_ASCII}
    if min_length:
        schema["minLength"] = min_length
    return _described(schema, description)


def patterned(pattern: str, max_length: int, example: str, *, description: str = "") -> Schema:
    """A text of a fixed format; `example` shows it in the docs and in validation messages."""
    schema = {"type": "string", "maxLength": max_length, "pattern": pattern, "example": example}
    return _described(schema, description)


def url(description: str = "") -> Schema:
    """URL (16.8 URL type): an http(s) URL of at most 255 characters."""
    return _described({"type": "string", "format": "uri", "maxLength": 255}, description)


def list_of(
    items: Schema, *, description: str = "", min_items: int = 1, unique: bool = False
) -> Schema:
    """A list (card. `*` or `+`); an optional one is left out rather than sent empty."""
    schema: Schema = {"type": "array", "items": items, "minItems": min_items}
    if unique:
        schema["uniqueItems"] = True
    return _described(schema, description)


def obj(
    required: dict[str, Schema],
    optional: dict[str, Schema] | None = None,
    *,
    description: str = "",
) -> Schema:
    """A class: its required members first, then the optional ones; no other member."""
    schema: Schema = {"type": "object"}
    if required:
        schema["required"] = list(required)
    schema["properties"] = {**required, **(optional or {})}
    schema["additionalProperties"] = False
    return _described(schema, description)


def enum(values, description: str) -> Schema:
    """An OCPI enum; `values` is a list or a Django TextChoices class."""
    choices = list(getattr(values, "values", values))
    return {"type": "string", "enum": choices, "description": description}


# --- Classes of the Types chapter --------------------------------------------------------------

DATETIME = {
    "type": "string",
    "maxLength": 25,
    "pattern": DATETIME_PATTERN,
    "description": "OCPI DateTime: RFC 3339, always UTC; this server sends it with `Z`, e.g. "
    "2024-03-01T10:00:00Z, or with milliseconds 2024-03-01T10:00:00.123Z.",
    "example": DATETIME_EXAMPLE,
}

DISPLAY_TEXT = obj(
    {"language": patterned(r"^[a-z]{2}$", 2, "en"), "text": string(512)},
    description="Text in one language (ISO 639-1 code), no markup.",
)

COMPONENTS = {"OcpiDateTime": DATETIME, "DisplayText": DISPLAY_TEXT}
