"""Coordinates: the ranges of a point on Earth and the spec's text format of its degrees.

OCPI 2.2.1, Locations module, GeoLocation class (and AdditionalGeoLocation class): latitude
and longitude are texts in decimal degrees (WGS 84) with "." as separator and 5 to 7
decimals, latitude `-?[0-9]{1,2}\\.[0-9]{5,7}`, longitude `-?[0-9]{1,3}\\.[0-9]{5,7}`. Those
patterns let latitude 95 and longitude 200 through, so the range is checked here, once:
by the schema rule of both classes (`schemas.RULES`, hence every save through the services,
the admin and the import) and by the data-quality report for rows stored before.

An operator may type 4 decimals (what many maps and spreadsheets show, about 11 m): the
admin pads them to the spec's 5. More than 7 decimals (under 1 cm) are refused rather
than rounded, so that what is stored is exactly what was typed.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

LIMITS = {"latitude": 90, "longitude": 180}
# string(10) and string(11) in the spec: a bit shorter than its patterns allow, so a
# negative two-digit latitude (or three-digit longitude) has at most 6 decimals.
MAX_LENGTHS = {"latitude": 10, "longitude": 11}
MIN_DECIMALS, MAX_DECIMALS = 5, 7  # the spec's format
MIN_INPUT_DECIMALS = 4  # what the admin accepts and pads
EXAMPLES = {"latitude": "52.089444", "longitude": "5.110278"}


def degrees(value: Any) -> Decimal | None:
    """`value` as a finite number; None when it is not one (stored JSON of any age)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def range_problem(name: str, value: Any) -> str | None:
    """What is wrong with `value` as the `name` ("latitude" or "longitude") of a point on
    Earth: not a number, or outside −90…90 / −180…180; None when nothing is."""
    if value is None:
        return "is missing"
    number = degrees(value)
    if number is None:
        return f"{value!r} is not a number of degrees"
    limit = LIMITS[name]
    if not -limit <= number <= limit:
        return f"{value} is outside −{limit}…{limit}"
    return None


def normalised(name: str, typed: str) -> str:
    """What an operator typed as `name`, in the spec's format (4 decimals padded to 5).

    Raises ValueError with the message to show when it cannot be stored: not a decimal
    number, out of range, fewer than 4 or more than 7 decimals, longer than the spec's
    string(10) / string(11).
    """
    text = typed.strip()
    sign = "-" if text.startswith("-") else ""
    integer, dot, fraction = text.removeprefix("-").partition(".")
    if not (integer.isascii() and integer.isdigit()) or (
        fraction and not (fraction.isascii() and fraction.isdigit())
    ):
        raise ValueError(
            f"{text!r} is not a number in decimal degrees with a '.', e.g. {EXAMPLES[name]}"
        )
    problem = range_problem(name, text)
    if problem:
        raise ValueError(problem)
    if not dot or not MIN_INPUT_DECIMALS <= len(fraction) <= MAX_DECIMALS:
        count = f"{len(fraction)} decimal" + ("" if len(fraction) == 1 else "s")
        raise ValueError(
            f"{text} has {count}: give {MIN_INPUT_DECIMALS} to {MAX_DECIMALS}, "
            f"e.g. {EXAMPLES[name]}"
        )
    # "052.0894" -> "52.08940": the spec's patterns allow no leading zeros.
    stored = f"{sign}{int(integer)}.{fraction.ljust(MIN_DECIMALS, '0')}"
    if len(stored) > MAX_LENGTHS[name]:
        raise ValueError(
            f"{text} has {len(stored)} characters: OCPI allows {MAX_LENGTHS[name]} for a "
            f"{name}, so give {MAX_DECIMALS - (len(stored) - MAX_LENGTHS[name])} decimals here"
        )
    return stored
