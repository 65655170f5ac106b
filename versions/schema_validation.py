"""Validation of stored OCPI objects against their JSON Schema, with one precise message.

`SchemaSet(definitions, rules).checker(schema)` compiles a schema (`versions.schema_types`,
an app's `schemas.py`) once into nested checkers; a checker raises `SchemaError` naming the
exact place of the first problem, e.g.
"opening_times.regular_hours[0].period_end: must be later than period_begin".

Why not the `jsonschema` package: it reports every error of a keyword in its own words and
order; an operator needs the first problem, in the order of the class's members, in words
about OCPI ("must be a text", "is required", "'SPA' is not one of: ..."). Compiled checkers
also cost about what the hand-written ones did, which matters for the admin and bulk
imports, which validate every object.

What is checked, per keyword: `$ref`, `enum`, `type` (string, integer, number, boolean,
array, object), `required`, `properties`, `additionalProperties: false`, `items`,
`minItems`, `uniqueItems`, `maxLength`, `minLength`, `pattern` (and the exact check a
pattern stands for, `schema_types.TEXT_CHECKS`), `format: uri` (http/https), `minimum`,
`maximum`. Any other keyword is refused when compiling, so none is silently ignored.

Two readings for stored values, both still inside the published schema:
- an optional member that is `null` counts as absent (the serializers leave it out);
- `minLength: 1` also refuses a text of only spaces.

Rules between members that JSON Schema cannot say cleanly (an end later than a begin,
percentages adding up to 100) are functions `rule(value, path)` given per class name; they
run after the class's schema check and raise SchemaError too.
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from .schema_types import TEXT_CHECKS, Schema

Checker = Callable[[Any, str], None]
Rule = Callable[[dict, str], None]

_DOCUMENTATION = {"description", "example", "default"}
_CHECKED = {
    "$ref", "enum", "type", "required", "properties", "additionalProperties", "items",
    "minItems", "uniqueItems", "maxLength", "minLength", "pattern", "format", "minimum",
    "maximum",
}  # fmt: skip
_url_validator = URLValidator(schemes=["http", "https"])


class SchemaError(Exception):
    def __init__(self, path: str, message: str) -> None:
        self.path, self.message = path, message
        super().__init__(f"{path}: {message}" if path else message)


class SchemaSet:
    """Named classes (the OpenAPI components a `$ref` names) and the rules of some of them."""

    def __init__(
        self, definitions: Mapping[str, Schema], rules: Mapping[str, Rule] | None = None
    ) -> None:
        self.definitions = definitions
        self.rules = rules or {}
        self._compiled: dict[str, Checker] = {}

    def checker(self, schema: Schema) -> Checker:
        """The checker of `schema`: `check(value, path)` raises SchemaError or returns."""
        unknown = set(schema) - _CHECKED - _DOCUMENTATION
        if unknown:
            raise ValueError(f"cannot check the keyword(s) {sorted(unknown)} of {schema}")
        if "$ref" in schema:
            return self._named(schema["$ref"].rsplit("/", 1)[-1])
        if "enum" in schema:
            return _enum(schema["enum"])
        kind = schema.get("type")
        if kind == "object":
            return self._object(schema)
        if kind == "array":
            return self._array(schema)
        if kind == "string":
            return _string(schema)
        if kind in ("integer", "number"):
            return _number(schema)
        if kind == "boolean":
            return _boolean
        raise ValueError(f"cannot check a value of type {kind!r}: {schema}")

    def _named(self, name: str) -> Checker:
        """The checker of a named class, compiled on first use (classes may refer to each
        other in any order), followed by its rule."""
        if name not in self.definitions:
            raise ValueError(f"no definition named {name!r}")

        def check(value, path):
            compiled = self._compiled.get(name)
            if compiled is None:
                compiled = self._compile_named(name)
            compiled(value, path)

        return check

    def _compile_named(self, name: str) -> Checker:
        schema_check = self.checker(self.definitions[name])
        rule = self.rules.get(name)
        if rule is None:
            compiled = schema_check
        else:

            def compiled(value, path):
                schema_check(value, path)
                rule(value, path)

        self._compiled[name] = compiled
        return compiled

    def _object(self, schema: Schema) -> Checker:
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        # Required members first, as the messages always did, then the optional ones.
        members = [
            (name, self.checker(sub), name in required, _refuses_empty(sub))
            for name, sub in sorted(properties.items(), key=lambda item: item[0] not in required)
        ]
        closed = schema.get("additionalProperties", True) is False
        known = frozenset(properties)

        def check(value, path):
            if not isinstance(value, dict):
                raise SchemaError(path, "must be an object")
            if closed and not known.issuperset(value):
                unknown = ", ".join(sorted(set(value) - known))
                raise SchemaError(path, f"unknown field(s): {unknown}")
            prefix = f"{path}." if path else ""
            for name, member_check, is_required, refuses_empty in members:
                member = value.get(name)
                if member is None:
                    if is_required:
                        raise SchemaError(prefix + name, "is required")
                    continue
                if refuses_empty and not is_required and (member == "" or member == []):
                    raise SchemaError(prefix + name, "must be left out rather than empty")
                member_check(member, prefix + name)

        return check

    def _array(self, schema: Schema) -> Checker:
        item_check = self.checker(schema.get("items", {}))
        min_items = schema.get("minItems", 0)
        unique = schema.get("uniqueItems", False)
        too_few = f"needs at least {min_items} entr{'y' if min_items == 1 else 'ies'}"

        def check(value, path):
            if not isinstance(value, list):
                raise SchemaError(path, "must be a list")
            if len(value) < min_items:
                raise SchemaError(path, too_few)
            for index, item in enumerate(value):
                item_check(item, f"{path}[{index}]")
            if unique and len({repr(item) for item in value}) != len(value):
                raise SchemaError(path, "contains the same value twice")

        return check


def _refuses_empty(schema: Schema) -> bool:
    return schema.get("minLength", 0) > 0 or schema.get("minItems", 0) > 0


def _enum(values: list) -> Checker:
    allowed = ", ".join(str(v) for v in values)

    def check(value, path):
        if value not in values:
            raise SchemaError(path, f"{value!r} is not one of: {allowed}")

    return check


def _boolean(value, path):
    if not isinstance(value, bool):
        raise SchemaError(path, "must be true or false")


def _string(schema: Schema) -> Checker:
    max_length = schema.get("maxLength")
    min_length = schema.get("minLength", 0)
    pattern = schema.get("pattern")
    regex = re.compile(pattern) if pattern else None
    text_check = TEXT_CHECKS.get(pattern) if pattern else None
    not_text = text_check.not_text if text_check else "must be a text"
    example = f", e.g. {schema['example']}" if "example" in schema else ""
    text_format = schema.get("format")
    if text_format not in (None, "uri"):
        raise ValueError(f"cannot check the format {text_format!r}")
    is_url = text_format == "uri"

    def check(value, path):
        if not isinstance(value, str):
            raise SchemaError(path, not_text)
        if max_length is not None and len(value) > max_length:
            raise SchemaError(path, f"at most {max_length} characters (it has {len(value)})")
        if text_check is not None:
            problem = text_check.problem(value)
            if problem:
                raise SchemaError(path, problem)
        if regex is not None and not regex.search(value):
            raise SchemaError(path, f"{value!r} does not match the required format{example}")
        if min_length and len(value.strip()) < min_length:
            raise SchemaError(path, "must not be empty")
        if is_url:
            try:
                _url_validator(value)
            except ValidationError:
                raise SchemaError(path, f"{value!r} is not a valid http(s) URL") from None

    return check


def _number(schema: Schema) -> Checker:
    """integer or number; the range message names what the number means (its description)."""
    types = int if schema["type"] == "integer" else (int, float)
    not_number = "must be a whole number" if schema["type"] == "integer" else "must be a number"
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        out_of_range = f"must be {low} to {high}"
    elif low is not None:
        out_of_range = f"must be at least {low}"
    else:
        out_of_range = f"must be at most {high}"
    if "description" in schema:
        out_of_range += f" ({schema['description']})"

    def check(value, path):
        if isinstance(value, bool) or not isinstance(value, types):
            raise SchemaError(path, not_number)
        if (low is not None and value < low) or (high is not None and value > high):
            raise SchemaError(path, out_of_range)

    return check
