import json
import os

import pytest
from django.db import connections

from ocpi_site.celery import app as celery_app
from partners.models import InterfaceRole, PartnerEndpoint
from partners.services import partner_create
from pushers import client
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory
from versions.envelope import dumps

from .receiver import PUSH_TOKEN, Receiver

# The end-to-end tests run a real Celery worker in another process, which must see the test
# database. PostgreSQL test databases are ordinary databases (test_<name>); SQLite's default
# test database lives in memory, so it gets a file of its own here, one per pytest process
# so that concurrent runs in one checkout do not collide. (Set at import, before pytest-django
# creates the test database.)
_default = connections["default"].settings_dict
if _default["ENGINE"] == "django.db.backends.sqlite3" and not _default["TEST"].get("NAME"):
    from django.conf import settings as _settings

    _default["TEST"]["NAME"] = str(_settings.VAR_DIR / f"test-push-{os.getpid()}.sqlite3")


@pytest.fixture(autouse=True)
def _push_settings(settings):
    settings.OCPI_COUNTRY_CODE = "NL"
    settings.OCPI_PARTY_ID = "EXA"
    settings.OCPI_HTTP_CONNECT_TIMEOUT = 1
    settings.OCPI_HTTP_READ_TIMEOUT = 1
    settings.PUSH_RETRY_BACKOFF_BASE = 2
    settings.PUSH_RETRY_WINDOW = 3600
    # The outbound client keeps one pooled httpx client per process, built with the timeouts
    # of the moment; start each test with a fresh one.
    client._client = None
    yield
    client._client = None


@pytest.fixture
def eager():
    """Tasks run in-process, synchronously, when they are queued (after commit)."""
    conf = celery_app.conf
    old = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = old


@pytest.fixture
def receiver():
    with Receiver() as partner:
        yield partner


def add_push_partner(receiver: Receiver, *, name: str = "Receiving eMSP", party_id: str = "EMS"):
    partner, _ = partner_create(name=name, country_code="DE", party_id=party_id)
    partner.outgoing_token = PUSH_TOKEN
    partner.save(update_fields=["outgoing_token"])
    PartnerEndpoint.objects.create(
        partner=partner,
        identifier="locations",
        role=InterfaceRole.RECEIVER,
        url=receiver.locations_url,
    )
    return partner


@pytest.fixture
def push_partner(db, receiver):
    return add_push_partner(receiver)


def build_site(n_evses: int = 1, connectors: int = 2, **location_values):
    """A Location with EVSEs and Connectors, created through the services (one PUT)."""
    from locations.services import location_create

    location = LocationFactory.build(**location_values)
    evses = [
        (EVSEFactory.build(), [ConnectorFactory.build(id=str(i + 1)) for i in range(connectors)])
        for _ in range(n_evses)
    ]
    return location_create(location=location, evses=evses)


def ours(location) -> dict:
    """Our current rendering of a Location, as JSON (what a receiver should hold)."""
    from locations.selectors import location_list
    from locations.serializers import location_data

    return json.loads(dumps(location_data(location_list().get(pk=location.pk))))


def theirs(receiver: Receiver, location) -> dict | None:
    return receiver.location(location.country_code, location.party_id, location.id)
