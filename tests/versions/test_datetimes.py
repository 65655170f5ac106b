from datetime import UTC, datetime

import pytest

from versions.datetimes import format_ocpi_datetime, parse_ocpi_datetime


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-06-29T20:39:09Z", datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
        ("2015-06-29T20:39:09", datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
        ("2016-12-29T17:45:09.2Z", datetime(2016, 12, 29, 17, 45, 9, 200000, tzinfo=UTC)),
        ("2018-01-01T01:08:01.123Z", datetime(2018, 1, 1, 1, 8, 1, 123000, tzinfo=UTC)),
        ("2018-01-01T01:08:01.123456", datetime(2018, 1, 1, 1, 8, 1, 123456, tzinfo=UTC)),
    ],
)
def test_parse_accepts_the_formats_of_the_spec(text, expected):
    assert parse_ocpi_datetime(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2015-06-29T20:39:09+00:00",  # offsets are not allowed, not even +00:00
        "2015-06-29T20:39:09+01:00",
        "2015-06-29 20:39:09Z",
        "2015-06-29",
        "2015-13-29T20:39:09Z",
        "2015-06-29T25:39:09Z",
        "2015-06-29T20:39:09.Z",
        "2015-06-29T20:39:09.1234567Z",
        "20150629T203909Z",
        "yesterday",
        "",
        "2015-06-29T20:39:09Z\x00",
        "２０１５-06-29T20:39:09Z",
    ],
)
def test_parse_rejects_everything_else(text):
    with pytest.raises(ValueError, match="OCPI DateTime|does not match|out of range|unconverted"):
        parse_ocpi_datetime(text)


def test_format_always_uses_z_and_keeps_milliseconds_only_when_present():
    assert format_ocpi_datetime(datetime(2024, 3, 1, 10, 0, tzinfo=UTC)) == "2024-03-01T10:00:00Z"
    assert (
        format_ocpi_datetime(datetime(2024, 3, 1, 10, 0, 0, 123456, tzinfo=UTC))
        == "2024-03-01T10:00:00.123Z"
    )
