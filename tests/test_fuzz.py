"""Fuzzing the OCPI API against its own OpenAPI schema (schemathesis, in-process WSGI).

Every operation of /api/schema/ gets schema-valid and schema-violating requests (all of
schemathesis' phases but the stateful one), sent to the real Django WSGI application with a
real partner's token, against a database with real Locations. Each response must:
- not be a 5xx;
- be the OCPI envelope: a JSON object with an integer status_code and a timestamp;
- conform to the schema: documented status code, content type, body schema and headers;
- pass schemathesis' other checks that make sense for OCPI (see EXCLUDED_CHECKS).

Deterministic: Hypothesis is derandomized and schemathesis seeded, so every run sends the
same requests. The number of requests is written to the terminal at the end of the run.
"""

import time

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import strategies as st
from schemathesis.specs.openapi import checks as openapi_checks

from locations.services import location_create
from partners.models import HubClientInfo, IssuedToken, Partner
from partners.services import issued_token_create, partner_create
from tests.conftest import PARTNER_TOKEN, token_header
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory

# Fuzzing-phase examples per operation (the examples and coverage phases add their own).
EXAMPLES_PER_OPERATION = 100
MIN_TOTAL_REQUESTS = 1000

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 221,
        "generation": {
            "mode": "all",  # schema-valid and schema-violating requests
            "deterministic": True,
            "max-examples": EXAMPLES_PER_OPERATION,
            "database": "none",
        },
        # Stateful sequences need links between operations; OCPI has no create operation
        # on the Sender side, so there is nothing to chain.
        "phases": {"stateful": {"enabled": False}},
    }
)

# The sites the fuzzer can hit, besides the ids it invents: (location, evse, connector) ids.
SITES = {
    "LOC-A": {"EVSE-A1": ["1", "2"], "EVSE-A2": ["1"]},
    "LOC-B": {"EVSE-B1": ["1"]},
}
EXISTING = {
    1: [{"location_id": loc} for loc in SITES] + [{"location_id": "loc-a"}],  # CiString
    2: [
        {"location_id": loc, "evse_uid": evse}
        for loc, evses in SITES.items()
        for evse in [*evses, "EVSE-NONE"]
    ],
    3: [
        {"location_id": loc, "evse_uid": evse, "connector_id": connector}
        for loc, evses in SITES.items()
        for evse, connectors in evses.items()
        for connector in [*connectors, "9"]
    ],
}

# Checks left out, and why:
EXCLUDED_CHECKS = [
    # A schema-valid request may still be refused with 400/2001 by design: a DateTime that
    # matches the pattern but names no real day (2024-02-30), or OCPI-from-country-code
    # without OCPI-from-party-id (each header is optional on its own, the pair is not).
    openapi_checks.positive_data_acceptance,
    # Replaced by ocpi_negative_data_rejection below: OCPI answers a request that reached
    # the OCPI layer (valid JSON, authorised caller) with HTTP 200 and an OCPI error code,
    # e.g. an invalid credentials object is HTTP 200 + 2001 (OCPI 2.2.1, Status codes), where
    # schemathesis expects a 4xx.
    openapi_checks.negative_data_rejection,
]


def ocpi_negative_data_rejection(ctx, response, case):
    """A schema-violating request is refused: by a 4xx, or by HTTP 200 with OCPI 2xxx/3xxx."""
    if response.status_code == 200 and response.request.method != "HEAD":
        body = response.json()
        code = body.get("status_code") if isinstance(body, dict) else None
        if isinstance(code, int) and code >= 2000:
            return None  # refused at the OCPI layer
    return openapi_checks.negative_data_rejection(ctx, response, case)


class Counter:
    requests = 0
    operations: set[str] = set()  # one run's tally
    started: float | None = None


@pytest.fixture
def fuzz_world(db, partner):
    """Real Locations, a registered partner (token C) and a pending one (token A).

    Django's test client does the same: the WSGI handler's request signals would otherwise
    close the test's database connection (inside its transaction) after every request.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    for location_id, evses in SITES.items():
        location_create(
            location=LocationFactory.build(id=location_id),
            evses=[
                (EVSEFactory.build(uid=uid), [ConnectorFactory.build(id=c) for c in connectors])
                for uid, connectors in evses.items()
            ],
        )
    pending = Partner.objects.create(name="Registering", state=Partner.State.PENDING)
    token_a = issued_token_create(partner=pending, kind=IssuedToken.Kind.A, token="fuzz-token-a")
    hub, token_hub = partner_create(
        name="Fuzzing hub", role="HUB", country_code="DE", party_id="HBZ", token="fuzz-hub-token"
    )
    HubClientInfo.objects.create(
        partner=hub,
        country_code="FR",
        party_id="MSP",
        role="EMSP",
        status="CONNECTED",
        last_updated="2024-03-01T10:00:00Z",
    )
    yield {"token_c": PARTNER_TOKEN, "token_a": token_a, "token_hub": token_hub}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def load_schema():
    # Loaded when the module is collected (the WSGI app answers /api/schema/ without touching
    # the database). schemathesis.pytest.from_fixture would be the lazy alternative, but it
    # breaks on pytest 9.2 (it sets Node._nodeid, which pytest no longer has).
    from ocpi_site.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)


schema = load_schema()


# HubClientInfo: parties the fuzzing hub announced, besides the ones the fuzzer invents.
CLIENT_INFO_PARTIES = [
    {"country_code": "FR", "party_id": "MSP"},
    {"country_code": "fr", "party_id": "msp"},  # CiString
]


@schema.hook
def before_generate_path_parameters(context, strategy):
    # Mostly invented ids (404/2003), but existing objects at every depth too.
    if "/hubclientinfo/" in context.operation.path:
        return st.one_of(strategy, st.sampled_from(CLIENT_INFO_PARTIES))
    depth = context.operation.path.count("{")
    if not depth:
        return strategy
    return st.one_of(strategy, st.sampled_from(EXISTING[depth]))


def ocpi_envelope(ctx, response, case):
    """Every response with a body is the OCPI envelope (OCPI 2.2.1, Transport and format,
    Response format)."""
    if response.request.method == "HEAD":
        return None
    body = response.json()
    assert isinstance(body, dict), f"not a JSON object: {response.text[:200]!r}"
    assert type(body.get("status_code")) is int, f"no integer status_code: {body!r:.200}"
    assert isinstance(body.get("timestamp"), str), f"no timestamp: {body!r:.200}"
    return True


BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def authorization_for(case, world) -> str:
    """The token each credentials method can be fuzzed with without changing the world.

    - POST with token C: a registered partner may not register again, so the answer is
      405 (or 400/2001 for a bad body) before anything happens. POST with token A would
      make the server fetch the `url` of the generated body: traffic to arbitrary hosts.
    - PUT with token A: only a registered partner may update, so the same 405 comes first.
      PUT with token C would call the generated `url` and rotate the fuzzer's own token.
    - DELETE: unregisters, so each example gets a fresh registered partner of its own.
    """
    if "/hubclientinfo/" in case.path:
        return token_header(world["token_hub"])  # only a hub may use the module
    if case.path.endswith("/credentials"):
        if case.method == "PUT":
            return token_header(world["token_a"])
        if case.method == "DELETE":
            n = Partner.objects.count()
            token = f"fuzz-delete-{n}"
            party_id = "D" + BASE36[n // 36 % 36] + BASE36[n % 36]
            partner_create(name=token, country_code="FR", party_id=party_id, token=token)
            return token_header(token)
    return token_header(world["token_c"])


@schema.parametrize()
@hypothesis.settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_every_ocpi_operation_answers_fuzzed_requests_with_a_documented_envelope(case, fuzz_world):
    Counter.started = Counter.started or time.monotonic()
    Counter.requests += 1
    Counter.operations.add(case.operation.label)
    case.call_and_validate(
        headers={"Authorization": authorization_for(case, fuzz_world)},
        additional_checks=[ocpi_envelope, ocpi_negative_data_rejection],
        excluded_checks=EXCLUDED_CHECKS,
    )


def test_the_fuzzing_run_made_enough_requests(capsys):
    if not Counter.requests:
        pytest.skip("the fuzzing test did not run (deselected)")
    with capsys.disabled():  # shown in the test output (CI logs), not captured
        print(
            f"\nfuzz: {Counter.requests} requests to {len(Counter.operations)} OCPI operations "
            f"in {time.monotonic() - Counter.started:.1f} s"
        )
    assert len(Counter.operations) >= 10
    assert Counter.requests >= MIN_TOTAL_REQUESTS
