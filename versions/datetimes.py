"""OCPI DateTime: UTC only, `Z` optional on input, always `Z` on output.

OCPI 2.2.1, Types, DateTime type.
"""

import re
from datetime import UTC, datetime

# RFC 3339 subset: no offsets other than an optional `Z`; fractional seconds allowed (we keep
# microsecond precision, the most Python can hold).
_DATETIME_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,6}))?Z?$",
    re.ASCII,  # \d must not match other scripts' digits
)
# A DateTime with a UTC offset; in a query string an unescaped "+" arrives as a space.
_WITH_OFFSET_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?[+\- ]\d{2}:?\d{2}$", re.ASCII
)


def parse_ocpi_datetime(value: str) -> datetime:
    """Parse an OCPI DateTime strictly; raise ValueError for anything else."""
    match = _DATETIME_RE.match(value)
    if match is None and _WITH_OFFSET_RE.match(value):
        raise ValueError(
            f"{value[:40]!r} has a UTC offset; an OCPI DateTime is UTC only, e.g. "
            "2024-03-01T10:00:00Z (convert the time to UTC)"
        )
    if match is None:
        # At most 40 characters of the value: the message goes back to the client and into logs.
        raise ValueError(
            f"{value[:40]!r} is not an OCPI DateTime (expected e.g. 2024-03-01T10:00:00Z, UTC only)"
        )
    fraction = (match["fraction"] or "").ljust(6, "0")
    parsed = datetime.strptime(f"{match['date']}T{match['time']}+0000", "%Y-%m-%dT%H:%M:%S%z")
    return parsed.replace(microsecond=int(fraction), tzinfo=UTC)


def format_ocpi_datetime(value: datetime) -> str:
    """`2024-03-01T10:00:00Z`, or with milliseconds `2024-03-01T10:00:00.123Z` when present.

    At most 24 characters, inside OCPI's string(25).
    """
    value = value.astimezone(UTC)
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    millis = value.microsecond // 1000
    return f"{base}.{millis:03d}Z" if millis else f"{base}Z"


def truncate_to_millis(value: datetime) -> datetime:
    """What we store, so that the value we publish is exactly the value we filter on."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)
