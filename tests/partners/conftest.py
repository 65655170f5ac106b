import pytest

from tests.ocpi_partner_server import FakeEmsp


@pytest.fixture
def our_server(live_server, settings):
    """Our Django app as a real HTTP server; the URLs we publish point at it."""
    settings.OCPI_BASE_URL = live_server.url
    settings.OCPI_COUNTRY_CODE = "NL"
    settings.OCPI_PARTY_ID = "EXA"
    settings.OCPI_BUSINESS_NAME = "Example CPO"
    settings.OCPI_BUSINESS_WEBSITE = "https://cpo.example.com"
    return live_server


@pytest.fixture
def emsp():
    with FakeEmsp() as partner:
        yield partner


OUR_ROLES = [
    {
        "role": "CPO",
        "party_id": "EXA",
        "country_code": "NL",
        "business_details": {"name": "Example CPO", "website": "https://cpo.example.com"},
    }
]
