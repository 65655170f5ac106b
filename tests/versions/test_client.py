"""The outbound OCPI client's one success rule (`versions.client.is_success`)."""

import pytest

from tests.factories import ocpi_result
from versions.client import is_success


@pytest.mark.parametrize(
    ("http_status", "ocpi_status", "success"),
    [
        (200, 1000, True),
        (201, 1000, True),
        (200, 1001, True),
        (200, 1950, True),
        (200, 1999, True),
        (200, 2000, False),
        (200, 2001, False),
        (200, 3000, False),
        (200, 4001, False),
        (200, None, False),
        (404, 1000, False),
        (500, 1000, False),
        (302, 1000, False),
    ],
)
def test_success_is_http_2xx_with_an_ocpi_status_in_the_1000s(http_status, ocpi_status, success):
    assert is_success(http_status, ocpi_status) is success
    assert ocpi_result(http_status, ocpi_status).ok is success
