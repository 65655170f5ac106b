import base64

import pytest
from django.test import Client

from partners.models import IssuedToken, Partner
from partners.services import issued_token_create, partner_create

PARTNER_TOKEN = "partner-token-0123456789"


def token_header(token: str) -> str:
    return "Token " + base64.b64encode(token.encode()).decode()


@pytest.fixture
def partner(db):
    partner, _ = partner_create(
        name="Example eMSP", country_code="DE", party_id="EMS", token=PARTNER_TOKEN
    )
    return partner


@pytest.fixture
def ocpi_client(partner) -> Client:
    """A test client that sends the registered partner's token, Base64-encoded (2.2.1)."""
    return Client(HTTP_AUTHORIZATION=token_header(PARTNER_TOKEN))


@pytest.fixture
def pending_partner_token_a(db) -> str:
    """A token A of a partner that has not registered yet."""
    pending = Partner.objects.create(name="Newcomer", state=Partner.State.PENDING)
    return issued_token_create(partner=pending, kind=IssuedToken.Kind.A, token="token-a-xyz")


@pytest.fixture(autouse=True)
def _public_base_url(settings):
    # Published URLs must come from OCPI_BASE_URL, never from the Host header.
    settings.OCPI_BASE_URL = "http://testserver.example"
    settings.OCPI_MAX_PAGE_SIZE = 100


@pytest.fixture(autouse=True)
def _empty_cache():
    # The Sender list caches counts and page boundaries (locations/paging.py); a test's
    # database is rolled back, and ids can be used again by the next test.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def site(db):
    """A saved Location with one EVSE that has two Connectors, created through the services."""
    from locations.services import location_create
    from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory

    location = LocationFactory.build()
    evse = EVSEFactory.build()
    connectors = [ConnectorFactory.build(id="1"), ConnectorFactory.build(id="2")]
    return location_create(location=location, evses=[(evse, connectors)])
