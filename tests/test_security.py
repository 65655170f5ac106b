"""Security checks over every OCPI endpoint and the operator admin (issue 6, part 5).

Every OCPI endpoint we serve: the versions list, version details, credentials (GET, POST,
PUT, DELETE), the Locations list and the Location / EVSE / Connector objects. For each:

* a caller without a usable token gets HTTP 401 with the envelope, whatever the reason;
* a partner cannot speak for another party through the OCPI-from-* routing headers;
* no token, raw or Base64, ever shows in a response body or in any log line;
* hostile query values, URL segments, headers and credentials bodies get the envelope with
  the right code, never a 500 and never a change to what we store.

The admin needs a staff login and a CSRF token. `check --deploy` with production settings is
covered by tests/test_settings.py::test_check_deploy_reports_nothing_with_production_values.
"""

import base64
import json
import logging
import re
from html.parser import HTMLParser
from urllib.parse import quote, quote_plus, unquote, urlencode

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from locations.models import Location
from locations.services import location_create
from partners.models import IssuedToken, Partner
from partners.services import issued_token_create, partner_create
from tests.conftest import PARTNER_TOKEN, token_header
from tests.factories import LocationFactory
from tests.ocpi_partner_server import FakeEmsp

VERSIONS = "/ocpi/versions"
VERSION_DETAILS = "/ocpi/2.2.1"
CREDENTIALS = "/ocpi/2.2.1/credentials"
LOCATIONS = "/ocpi/cpo/2.2.1/locations"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# A credentials object that would pass validation, so that a refused POST/PUT is refused for
# its token and not for its body.
VALID_CREDENTIALS = {
    "token": "a-token-b-nobody-should-store",
    "url": "https://emsp.example.com/ocpi/versions",
    "roles": [
        {
            "role": "EMSP",
            "party_id": "NEW",
            "country_code": "FR",
            "business_details": {"name": "Newcomer"},
        }
    ],
}


# --- Helpers ---------------------------------------------------------------------------------


def forms_of(token: str) -> list[str]:
    """What a token looks like on the wire: raw, and Base64 as in the Authorization header."""
    return [token, base64.b64encode(token.encode()).decode()]


def envelope_of(response, http_status: int, ocpi_status: int) -> dict:
    """The response's OCPI envelope, after checking its HTTP status and its shape."""
    assert response.status_code == http_status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body["status_code"] == ocpi_status, body
    assert isinstance(body["status_message"], str) and body["status_message"]
    assert TIMESTAMP.match(body["timestamp"])
    return body


def assert_refused_with_401(response) -> None:
    body = envelope_of(response, 401, 2000)
    assert "data" not in body
    assert response["WWW-Authenticate"] == "Token"


def call(client: Client, endpoint: tuple[str, str], **extra):
    """One request to (method, path); POST and PUT send a valid credentials object."""
    method, path = endpoint
    if method in ("POST", "PUT"):
        return client.generic(
            method, path, json.dumps(VALID_CREDENTIALS), content_type="application/json", **extra
        )
    return client.generic(method, path, **extra)


class LogCapture:
    """Every record of every logger at DEBUG, SQL included, as one searchable text."""

    def __init__(self, caplog):
        self.caplog = caplog

    @property
    def text(self) -> str:
        records = [
            f"{r.name} {r.levelname} {r.getMessage()} {r.args!r} {r.__dict__!r}"
            for r in self.caplog.records
        ]
        return "\n".join([self.caplog.text, *records])

    def logger_names(self) -> set[str]:
        return {r.name for r in self.caplog.records}


@pytest.fixture
def logs(caplog):
    """caplog at DEBUG on the root logger and on every logger that does not propagate to it.

    The project keeps `django.db.backends` silent on purpose; here it is switched on, with
    SQL logging forced as DEBUG=true would, so that even a query carrying a token would show.
    """
    caplog.set_level(logging.DEBUG)
    silent = [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    saved = [(logger, logger.level) for logger in silent]
    for logger in silent:
        logger.addHandler(caplog.handler)
        logger.setLevel(logging.DEBUG)
    connection.force_debug_cursor = True
    try:
        yield LogCapture(caplog)
    finally:
        connection.force_debug_cursor = False
        for logger, level in saved:
            logger.removeHandler(caplog.handler)
            logger.setLevel(level)


def assert_no_token_leaks(response, logs: LogCapture, *tokens: str) -> None:
    """Neither the body, nor a header, nor any log line holds any form of the tokens."""
    headers = "\n".join(f"{k}: {v}" for k, v in response.items())
    body = response.content.decode("utf-8", "replace")
    logged = logs.text
    for token in tokens:
        for form in forms_of(token):
            assert form not in body, f"token in the body: {body[:300]}"
            assert form not in headers, f"token in a header: {headers}"
            assert form not in logged, "token in the logs"


# --- Fixtures: one partner per way of holding a token that must not work --------------------


@pytest.fixture
def endpoint_ids(site) -> dict[str, str]:
    evse = site.evses.get()
    connector = evse.connectors.order_by("id").first()
    return {"location": site.id, "evse": evse.uid, "connector": connector.id}


@pytest.fixture
def endpoints(endpoint_ids) -> dict[str, tuple[str, str]]:
    """Every OCPI endpoint, as (method, path) with paths to objects that exist."""
    location = f"{LOCATIONS}/{endpoint_ids['location']}"
    evse = f"{location}/{endpoint_ids['evse']}"
    return {
        "versions list": ("GET", VERSIONS),
        "version details": ("GET", VERSION_DETAILS),
        "credentials GET": ("GET", CREDENTIALS),
        "credentials POST": ("POST", CREDENTIALS),
        "credentials PUT": ("PUT", CREDENTIALS),
        "credentials DELETE": ("DELETE", CREDENTIALS),
        "locations list": ("GET", LOCATIONS),
        "location object": ("GET", location),
        "evse object": ("GET", evse),
        "connector object": ("GET", f"{evse}/{endpoint_ids['connector']}"),
    }


ALL_ENDPOINTS = [
    "versions list",
    "version details",
    "credentials GET",
    "credentials POST",
    "credentials PUT",
    "credentials DELETE",
    "locations list",
    "location object",
    "evse object",
    "connector object",
]
LOCATION_ENDPOINTS = ALL_ENDPOINTS[6:]


def _registered(name: str, party_id: str, token: str) -> Partner:
    partner, _ = partner_create(name=name, country_code="NL", party_id=party_id, token=token)
    return partner


def _wrong_token(db) -> str:
    _registered("Somebody", "SMB", "the-right-token-of-somebody")
    return "a-token-nobody-was-given"


def _revoked_token(db) -> str:
    partner = _registered("Revoked eMSP", "REV", "revoked-token-0123456789")
    partner.issued_tokens.update(revoked_at=timezone.now())
    return "revoked-token-0123456789"


def _unregistered_partners_token(db) -> str:
    partner = _registered("Gone eMSP", "GON", "unregistered-token-0123456789")
    Partner.objects.filter(pk=partner.pk).update(state=Partner.State.UNREGISTERED)
    return "unregistered-token-0123456789"


def _suspended_partners_token(db) -> str:
    partner = _registered("Suspended eMSP", "SUS", "suspended-token-0123456789")
    Partner.objects.filter(pk=partner.pk).update(state=Partner.State.SUSPENDED)
    return "suspended-token-0123456789"


def _token_a_after_registration(db) -> str:
    partner = _registered("Registered since", "REG", "token-c-of-registered-since")
    return issued_token_create(partner=partner, kind=IssuedToken.Kind.A, token="stale-token-a-xyz")


BAD_TOKENS = {
    "a wrong token": _wrong_token,
    "a revoked token": _revoked_token,
    "an unregistered partner's token": _unregistered_partners_token,
    "a suspended partner's token": _suspended_partners_token,
    "token A of a partner that has registered since": _token_a_after_registration,
}


def stored_state() -> dict:
    """Everything a refused request must leave untouched."""
    return {
        "partners": sorted(
            Partner.objects.values_list("name", "state", "versions_url", "outgoing_token")
        ),
        "tokens": sorted(IssuedToken.objects.values_list("token_hash", "kind", "revoked_at")),
        "locations": sorted(Location.objects.values_list("id", "last_updated")),
    }


# --- 1 and 3. 401 with the envelope, and no token in the answer or the logs -----------------


@pytest.mark.parametrize("endpoint", ALL_ENDPOINTS)
def test_a_request_without_a_token_is_refused_with_401_on_every_endpoint(endpoints, endpoint, logs):
    before = stored_state()

    response = call(Client(), endpoints[endpoint])

    assert_refused_with_401(response)
    assert stored_state() == before
    assert_no_token_leaks(response, logs, PARTNER_TOKEN, VALID_CREDENTIALS["token"])
    assert "django.request" in logs.logger_names()  # the capture did see the refusal


@pytest.mark.parametrize("endpoint", ALL_ENDPOINTS)
@pytest.mark.parametrize("how", list(BAD_TOKENS))
def test_a_token_that_must_not_work_is_refused_with_401_on_every_endpoint(
    endpoints, endpoint, how, logs, db
):
    token = BAD_TOKENS[how](db)
    before = stored_state()

    response = call(Client(HTTP_AUTHORIZATION=token_header(token)), endpoints[endpoint])

    assert_refused_with_401(response)
    assert stored_state() == before
    assert_no_token_leaks(response, logs, token, VALID_CREDENTIALS["token"])
    assert "django.db.backends" in logs.logger_names()  # SQL was captured too


@pytest.mark.parametrize("endpoint", LOCATION_ENDPOINTS)
def test_token_a_is_refused_with_401_on_every_locations_url(
    endpoints, endpoint, pending_partner_token_a, logs
):
    client = Client(HTTP_AUTHORIZATION=token_header(pending_partner_token_a))

    response = call(client, endpoints[endpoint])

    assert_refused_with_401(response)
    assert_no_token_leaks(response, logs, pending_partner_token_a)


def test_token_a_does_open_versions_and_credentials(endpoints, pending_partner_token_a):
    # The other side of the rule above: token A is refused on locations for being token A.
    client = Client(HTTP_AUTHORIZATION=token_header(pending_partner_token_a))

    for endpoint in ("versions list", "version details", "credentials GET"):
        assert call(client, endpoints[endpoint]).status_code == 200, endpoint


READ_ENDPOINTS = [e for e in ALL_ENDPOINTS if e not in ("credentials POST", "credentials PUT")]


@pytest.mark.parametrize("endpoint", [e for e in READ_ENDPOINTS if e != "credentials DELETE"])
def test_every_endpoint_answers_the_registered_partner(endpoints, endpoint, ocpi_client):
    # The control for the 401s above: the same URLs do answer a valid token C.
    response = call(ocpi_client, endpoints[endpoint])

    assert envelope_of(response, 200, 1000)["data"]


# --- 2. Routing headers cannot make one partner read as another ------------------------------


@pytest.fixture
def other_partner(db) -> Partner:
    partner, _ = partner_create(
        name="Other eMSP", country_code="FR", party_id="OTH", token="other-partner-token-xyz"
    )
    return partner


@pytest.mark.parametrize("endpoint", LOCATION_ENDPOINTS)
@pytest.mark.parametrize(
    ("country", "party"),
    [("FR", "OTH"), ("fr", "oth"), (" FR ", " OTH "), ("FR", "EMS"), ("DE", "OTH")],
    ids=["other party", "lower case", "padded", "other country", "other party id"],
)
def test_a_partner_cannot_read_with_the_routing_headers_of_another_party(
    endpoints, endpoint, ocpi_client, other_partner, site, country, party, logs
):
    response = call(
        ocpi_client,
        endpoints[endpoint],
        HTTP_OCPI_FROM_COUNTRY_CODE=country,
        HTTP_OCPI_FROM_PARTY_ID=party,
    )

    body = envelope_of(response, 401, 2000)
    assert "data" not in body
    assert site.id not in response.content.decode()
    assert "OCPI-to-party-id" not in response  # the answer is addressed to nobody
    assert_no_token_leaks(response, logs, PARTNER_TOKEN, "other-partner-token-xyz")


@pytest.mark.parametrize("endpoint", LOCATION_ENDPOINTS)
def test_each_partner_reads_with_its_own_routing_headers(
    endpoints, endpoint, ocpi_client, other_partner, site
):
    # The control: the same headers work for the party they belong to.
    other = Client(HTTP_AUTHORIZATION=token_header("other-partner-token-xyz"))
    for client, (country, party) in [(ocpi_client, ("DE", "EMS")), (other, ("FR", "OTH"))]:
        response = call(
            client,
            endpoints[endpoint],
            HTTP_OCPI_FROM_COUNTRY_CODE=country,
            HTTP_OCPI_FROM_PARTY_ID=party,
        )

        assert envelope_of(response, 200, 1000)["data"]
        assert (response["OCPI-to-country-code"], response["OCPI-to-party-id"]) == (
            country,
            party,
        )


def test_another_partys_routing_headers_on_credentials_still_answer_the_caller_only(
    ocpi_client, other_partner
):
    # Configuration modules ignore routing headers (OCPI 2.2.1, Transport and format, Message
    # Routing): the answer is about the token's own partner, never about the party named in
    # the headers.
    response = ocpi_client.get(
        CREDENTIALS, HTTP_OCPI_FROM_COUNTRY_CODE="FR", HTTP_OCPI_FROM_PARTY_ID="OTH"
    )

    assert envelope_of(response, 200, 1000)["data"]["token"] == PARTNER_TOKEN
    assert "other-partner-token-xyz" not in response.content.decode()


# --- 6. Hostile query values, URL segments and headers ---------------------------------------

HOSTILE = {
    "SQL OR": "' OR 1=1 --",
    "SQL DROP": '"; DROP TABLE locations_location; --',
    "10k characters": "x" * 10_000,
    "10^30": str(10**30),
    "negative": "-1",
    "exponent": "1e3",
    "emoji": "\U0001f50c\u26a1",
    "right-to-left override": "\u202e12\u202c",
    "Arabic-Indic digits": "\u0661\u0662",
    "fullwidth digits": "\uff11\uff12",
    "null byte": "\x00",
    "CR/LF": "\r\nX-Injected: 1",
    "path traversal": "../../etc/passwd",
    "percent sign": "%00",
}
HOSTILE_DATES = {
    "date then SQL": "2024-01-01T00:00:00Z' OR 1=1 --",
    "date then null byte": "2024-01-01T00:00:00Z\x00",
    "fullwidth date": "\uff12\uff10\uff12\uff14-01-01T00:00:00Z",
    "year 0": "0000-01-01T00:00:00Z",
    "month 13": "2024-13-01T00:00:00Z",
    "year 99999": "99999-01-01T00:00:00Z",
    "25 fraction digits": "2024-01-01T00:00:00." + "9" * 25 + "Z",
}


@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
@pytest.mark.parametrize("param", ["date_from", "date_to", "offset", "limit"])
def test_a_hostile_query_value_is_200_2001(ocpi_client, site, param, value, logs):
    before = stored_state()

    response = ocpi_client.get(LOCATIONS, {param: value})

    body = envelope_of(response, 200, 2001)
    assert "data" not in body
    assert param in body["status_message"]
    assert len(body["status_message"]) < 300  # the value is not echoed in full
    assert stored_state() == before
    assert_no_token_leaks(response, logs, PARTNER_TOKEN)


@pytest.mark.parametrize("value", list(HOSTILE_DATES.values()), ids=list(HOSTILE_DATES))
@pytest.mark.parametrize("param", ["date_from", "date_to"])
def test_a_hostile_date_is_200_2001(ocpi_client, site, param, value):
    response = ocpi_client.get(LOCATIONS, {param: value})

    assert param in envelope_of(response, 200, 2001)["status_message"]


@pytest.mark.parametrize("query", ["offset=%00", "limit=%0D%0A", "date_from=%FF", "offset=%C0%AF"])
def test_raw_percent_escapes_in_the_query_are_200_2001(ocpi_client, site, query):
    envelope_of(ocpi_client.get(f"{LOCATIONS}?{query}"), 200, 2001)


@pytest.mark.parametrize("name", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_names_of_unknown_parameters_are_ignored_and_kept_harmless_in_link(
    ocpi_client, site, name, settings
):
    settings.OCPI_MAX_PAGE_SIZE = 1
    location_create(location=LocationFactory.build(), evses=[])  # two pages: a Link header

    response = ocpi_client.get(f"{LOCATIONS}?{urlencode({name: name})}")

    assert len(envelope_of(response, 200, 1000)["data"]) == 1
    url, rel = re.fullmatch(r"<([^>]*)>; (rel=\"next\")", response["Link"]).groups()
    assert url.startswith("http://testserver.example/ocpi/cpo/2.2.1/locations?")
    assert re.fullmatch(r"[\x21-\x7e]+", url), url  # every odd character percent-encoded
    assert f"{quote(name, safe='')}=" in url or f"{quote_plus(name)}=" in url


def test_more_query_parameters_than_django_reads_is_200_2001_not_a_bare_page(
    ocpi_client, site, settings
):
    over = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 100  # 10,000 (for the admin's big selections)
    query = "&".join(f"p{i}=1" for i in range(over))

    envelope_of(ocpi_client.get(f"{LOCATIONS}?{query}"), 200, 2001)


# The object URLs: a hostile segment at each depth, below real parents.
HOSTILE_SEGMENTS = {
    **{name: quote(value, safe="") for name, value in HOSTILE.items()},
    "overlong id (37)": "L" * 37,
    "overlong id (10k)": "L" * 10_000,
    "raw traversal": "..",
    "encoded slash": "..%2F..%2Fversions",
    "invalid UTF-8": "%FF%FE",
    "overlong UTF-8 slash": "%C0%AF",
    "space": "LOC%201",
}


@pytest.mark.parametrize("segment", list(HOSTILE_SEGMENTS.values()), ids=list(HOSTILE_SEGMENTS))
@pytest.mark.parametrize("depth", ["location", "evse", "connector"])
def test_a_hostile_url_segment_is_404_2003(ocpi_client, endpoint_ids, depth, segment, logs):
    parents = {
        "location": [],
        "evse": [endpoint_ids["location"]],
        "connector": [endpoint_ids["location"], endpoint_ids["evse"]],
    }[depth]
    path = "/".join([LOCATIONS, *parents, segment])
    # A segment that decodes to several (`..%2F..`) makes a URL deeper than the Connector's:
    # no route, so "Unknown URL" (2000) rather than "Unknown Location" (2003).
    depth_after_decoding = len(unquote(path).removeprefix(LOCATIONS + "/").split("/"))

    response = ocpi_client.get(path)

    body = envelope_of(response, 404, 2003 if depth_after_decoding <= 3 else 2000)
    assert "data" not in body
    assert len(body["status_message"]) < 300
    assert_no_token_leaks(response, logs, PARTNER_TOKEN)


def test_traversal_out_of_the_locations_urls_reaches_nothing(ocpi_client, site):
    # The test client, like a proxy that does not normalise, hands `..` through as a segment.
    for path in [f"{LOCATIONS}/../../versions", f"{LOCATIONS}/../../../versions"]:
        response = ocpi_client.get(path)

        body = envelope_of(response, 404, 2003 if path.count("..") == 2 else 2000)
        assert "data" not in body


def test_an_unknown_ocpi_url_is_404_with_the_envelope(ocpi_client):
    envelope_of(ocpi_client.get("/ocpi/cpo/2.2.1/../../../etc/passwd"), 404, 2000)


AUTHORIZATION_GARBAGE = {
    "10k characters": "Token " + "A" * 10_000,
    "10k characters, no keyword": "x" * 10_000,
    "keyword only": "Token",
    "keyword and space": "Token ",
    "not Base64": "Token !!!***%%%",
    "Base64 of non-UTF-8 bytes": "Token " + base64.b64encode(b"\xff\xfe\xfa\x80").decode(),
    "Base64 of control characters": "Token " + base64.b64encode(b"\x00\r\ntoken").decode(),
    "two values": "Token abc def",
    "another scheme": "Bearer " + base64.b64encode(PARTNER_TOKEN.encode()).decode(),
    "basic auth": "Basic " + base64.b64encode(b"admin:admin").decode(),
    "raw token without the per-partner switch": f"Token {PARTNER_TOKEN}",
    "non-ASCII": "Token \u00e9\u00e8\u00ea",
    "null byte": "Token abc\x00def",
}


@pytest.mark.parametrize("endpoint", ALL_ENDPOINTS)
@pytest.mark.parametrize(
    "header", list(AUTHORIZATION_GARBAGE.values()), ids=list(AUTHORIZATION_GARBAGE)
)
def test_a_garbage_authorization_header_is_401_on_every_endpoint(
    endpoints, partner, endpoint, header, logs
):
    response = call(Client(HTTP_AUTHORIZATION=header), endpoints[endpoint])

    assert_refused_with_401(response)
    assert len(response.content) < 300  # the header is not echoed
    assert_no_token_leaks(response, logs, PARTNER_TOKEN)


REQUEST_IDS = {
    "CR/LF": "abc\r\nSet-Cookie: stolen=1",
    "LF": "abc\nX-Injected: 1",
    "1000 characters": "r" * 1000,
    "space": "abc def",
    "non-ASCII": "\u00e9t\u00e9",
    "null byte": "abc\x00def",
}


@pytest.mark.parametrize("authorization", ["token C", "no token"])
@pytest.mark.parametrize("endpoint", READ_ENDPOINTS)
@pytest.mark.parametrize("value", list(REQUEST_IDS.values()), ids=list(REQUEST_IDS))
def test_an_unsafe_request_id_is_replaced_not_reflected(
    endpoints, partner, endpoint, value, authorization
):
    token = {"token C": {"HTTP_AUTHORIZATION": token_header(PARTNER_TOKEN)}, "no token": {}}
    client = Client(**token[authorization])

    response = call(
        client, endpoints[endpoint], HTTP_X_REQUEST_ID=value, HTTP_X_CORRELATION_ID=value
    )

    expected = 200 if authorization == "token C" else 401
    envelope_of(response, expected, 1000 if expected == 200 else 2000)
    assert UUID.match(response["X-Request-ID"])
    assert UUID.match(response["X-Correlation-ID"])
    assert "Set-Cookie" not in response and "X-Injected" not in response
    assert not response.cookies


@pytest.mark.parametrize("endpoint", ALL_ENDPOINTS)
@pytest.mark.parametrize(
    "host",
    ["evil.example", "127.0.0.1\r\nX-Injected: 1", "a" * 1000],
    ids=["foreign", "CR/LF", "1000"],
)
def test_a_host_header_we_do_not_serve_is_400_with_the_envelope(endpoints, partner, endpoint, host):
    client = Client(HTTP_AUTHORIZATION=token_header(PARTNER_TOKEN))

    response = call(client, endpoints[endpoint], HTTP_HOST=host)

    assert "data" not in envelope_of(response, 400, 2000)
    assert "X-Injected" not in response


def test_a_host_header_we_do_not_serve_is_still_django_s_page_outside_ocpi(db):
    response = Client().get("/admin/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_a_sane_request_id_is_echoed(ocpi_client):
    response = ocpi_client.get(VERSIONS, HTTP_X_REQUEST_ID="req-42", HTTP_X_CORRELATION_ID="c-7")

    assert (response["X-Request-ID"], response["X-Correlation-ID"]) == ("req-42", "c-7")


# Property-based sweeps: whatever the values, the answer is an envelope, 200 with 1000 or 2001.

_any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
_query_value = st.one_of(
    _any_text,
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from([*HOSTILE.values(), *HOSTILE_DATES.values()]),
    st.datetimes().map(lambda d: d.isoformat()),
)
_sweep = hypothesis_settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_sweep
@given(
    query=st.dictionaries(
        st.sampled_from(["date_from", "date_to", "offset", "limit"]), _query_value, min_size=1
    )
)
def test_any_query_values_on_the_list_get_an_envelope_and_never_a_500(ocpi_client, site, query):
    response = ocpi_client.get(LOCATIONS, query)

    assert response.status_code == 200, (query, response.content[:300])
    if response.json()["status_code"] == 1000:
        assert isinstance(envelope_of(response, 200, 1000)["data"], list)
    else:
        assert "data" not in envelope_of(response, 200, 2001)


@hypothesis_settings(_sweep, max_examples=100)
@given(segments=st.lists(_any_text.filter(bool), min_size=1, max_size=3))
def test_any_object_url_gets_an_envelope_and_never_a_500(ocpi_client, site, segments):
    path = "/".join([LOCATIONS, *(quote(s, safe="") for s in segments)])

    response = ocpi_client.get(path)

    assert response.status_code in (200, 404), (path, response.content[:300])
    envelope_of(response, response.status_code, 1000 if response.status_code == 200 else 2003)


# --- 7. Malformed credentials bodies ---------------------------------------------------------


def _credentials(**changes) -> dict:
    body = json.loads(json.dumps(VALID_CREDENTIALS))
    for key, value in changes.items():
        if value is ...:
            del body[key]
        else:
            body[key] = value
    return body


def _role(**changes) -> dict:
    role = dict(VALID_CREDENTIALS["roles"][0])
    for key, value in changes.items():
        if value is ...:
            del role[key]
        else:
            role[key] = value
    return role


# (body bytes, HTTP status, OCPI status). Bodies that are not JSON: 400 + 2000 (OCPI 2.2.1,
# Status codes); JSON that is not a valid credentials object: HTTP 200 + 2001.
MALFORMED_BODIES = {
    "not JSON": (b"{token: nope", 400, 2000),
    "truncated JSON": (b'{"token": "abc', 400, 2000),
    "NaN": (b'{"token": NaN}', 400, 2000),
    "invalid UTF-8": (b'{"token": "\xff\xfe"}', 400, 2000),
    "integer of 5000 digits": (b"1" * 5000, 400, 2000),
    "nested 100k deep": (b"[" * 100_000 + b"]" * 100_000, 400, 2000),
    "nested 5k deep in a field": (
        b'{"token": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        400,
        2000,
    ),
    "over DATA_UPLOAD_MAX_MEMORY_SIZE": (
        json.dumps(_credentials(token="t" * 3_000_000)).encode(),
        400,
        2000,
    ),
    "empty body": (b"", 200, 2001),
    "JSON array": (json.dumps([VALID_CREDENTIALS]).encode(), 200, 2001),
    "JSON string": (b'"token"', 200, 2001),
    "JSON null": (b"null", 200, 2001),
    "empty object": (b"{}", 200, 2001),
    "no token": (json.dumps(_credentials(token=...)).encode(), 200, 2001),
    "no url": (json.dumps(_credentials(url=...)).encode(), 200, 2001),
    "no roles": (json.dumps(_credentials(roles=...)).encode(), 200, 2001),
    "token with spaces": (json.dumps(_credentials(token="tok en")).encode(), 200, 2001),
    "token of 65 characters": (json.dumps(_credentials(token="t" * 65)).encode(), 200, 2001),
    "token of 1M characters": (json.dumps(_credentials(token="t" * 1_000_000)).encode(), 200, 2001),
    "empty token": (json.dumps(_credentials(token="")).encode(), 200, 2001),
    "token with a null byte": (json.dumps(_credentials(token="tok\x00en")).encode(), 200, 2001),
    "non-ASCII token": (json.dumps(_credentials(token="t\u00f6k\u00e9n")).encode(), 200, 2001),
    "lone surrogate token": (
        b'{"token": "\\ud800", "url": "https://a.example", "roles": []}',
        200,
        2001,
    ),
    "url not a URL": (json.dumps(_credentials(url="not a url")).encode(), 200, 2001),
    "javascript: url": (json.dumps(_credentials(url="javascript:alert(1)")).encode(), 200, 2001),
    "file: url": (json.dumps(_credentials(url="file:///etc/passwd")).encode(), 200, 2001),
    "url of 300 characters": (
        json.dumps(_credentials(url="https://e.example/" + "a" * 282)).encode(),
        200,
        2001,
    ),
    "roles empty": (json.dumps(_credentials(roles=[])).encode(), 200, 2001),
    "roles not a list": (json.dumps(_credentials(roles={"role": "EMSP"})).encode(), 200, 2001),
    "unknown role": (json.dumps(_credentials(roles=[_role(role="ADMIN")])).encode(), 200, 2001),
    "party_id of 4": (json.dumps(_credentials(roles=[_role(party_id="ABCD")])).encode(), 200, 2001),
    "SQL in party_id": (
        json.dumps(_credentials(roles=[_role(party_id="' OR 1=1 --")])).encode(),
        200,
        2001,
    ),
    "country_code with a digit": (
        json.dumps(_credentials(roles=[_role(country_code="N1")])).encode(),
        200,
        2001,
    ),
    "no business_details": (
        json.dumps(_credentials(roles=[_role(business_details=...)])).encode(),
        200,
        2001,
    ),
    "same role twice": (json.dumps(_credentials(roles=[_role(), _role()])).encode(), 200, 2001),
}


@pytest.fixture
def registered_token(partner) -> str:
    return PARTNER_TOKEN


@pytest.fixture(scope="module")
def fake_emsp():
    # A real eMSP behind every valid URL: it must never be called for a malformed body. One
    # for the module (stopping one takes half a second); tests compare its request count.
    with FakeEmsp() as emsp:
        yield emsp


@pytest.mark.parametrize(
    ("body", "http_status", "ocpi_status"),
    list(MALFORMED_BODIES.values()),
    ids=list(MALFORMED_BODIES),
)
@pytest.mark.parametrize(
    ("method", "token_fixture"),
    [("POST", "pending_partner_token_a"), ("PUT", "registered_token")],
    ids=["POST with token A", "PUT with token C"],
)
def test_a_malformed_credentials_body_is_refused_and_nothing_is_saved(
    request, method, token_fixture, body, http_status, ocpi_status, fake_emsp, logs
):
    token = request.getfixturevalue(token_fixture)
    body = body.replace(b"https://emsp.example.com/ocpi/versions", fake_emsp.versions_url.encode())
    client = Client(HTTP_AUTHORIZATION=token_header(token))
    before = stored_state()
    requests_before = len(fake_emsp.requests)

    response = client.generic(method, CREDENTIALS, body, content_type="application/json")

    envelope_of(response, http_status, ocpi_status)
    assert stored_state() == before
    assert len(fake_emsp.requests) == requests_before  # no call to the partner's URL
    assert_no_token_leaks(response, logs, token, VALID_CREDENTIALS["token"])
    # The token is still good for a correct exchange afterwards.
    assert client.get(CREDENTIALS).status_code == 200


def test_a_valid_credentials_body_does_reach_the_partners_url(pending_partner_token_a, fake_emsp):
    # The control for the request count above: a body that passes validation is acted on.
    client = Client(HTTP_AUTHORIZATION=token_header(pending_partner_token_a))
    requests_before = len(fake_emsp.requests)

    client.post(
        CREDENTIALS, _credentials(url=fake_emsp.versions_url), content_type="application/json"
    )

    assert len(fake_emsp.requests) > requests_before


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_credentials_body_that_is_not_json_by_its_type_is_415(
    pending_partner_token_a, content_type
):
    client = Client(HTTP_AUTHORIZATION=token_header(pending_partner_token_a))
    before = stored_state()

    response = client.generic(
        "POST", CREDENTIALS, json.dumps(VALID_CREDENTIALS), content_type=content_type
    )

    envelope_of(response, 415, 2000)
    assert stored_state() == before


@pytest.mark.parametrize("charset", ["utf-16", "rot13", "hex", "zlib", "no-such-charset", "idna"])
def test_a_credentials_body_in_an_odd_charset_is_refused_or_read_never_a_500(
    pending_partner_token_a, charset
):
    client = Client(HTTP_AUTHORIZATION=token_header(pending_partner_token_a))
    before = stored_state()

    response = client.generic(
        "POST",
        CREDENTIALS,
        json.dumps(_credentials(roles=[])),  # if it is read at all, it is still invalid
        content_type=f"application/json; charset={charset}",
    )

    assert response.status_code in (200, 400), response.content[:300]
    envelope_of(response, response.status_code, 2001 if response.status_code == 200 else 2000)
    assert stored_state() == before


# --- 4. The admin: staff login and CSRF ------------------------------------------------------

ADMIN_APPS = {"locations", "partners", "pushers"}


def admin_urls() -> list[str]:
    """Every admin URL of our apps' models (custom views included), object ids filled in."""
    urls = ["/admin/", *(f"/admin/{app}/" for app in sorted(ADMIN_APPS))]
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in ADMIN_APPS:
            continue
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for pattern in model_admin.get_urls():
            route = re.sub(r"<(?:\w+:)?\w+>", "1", str(pattern.pattern))
            urls.append(base + route)
    return urls


ADMIN_URLS = admin_urls()


def test_the_admin_url_list_covers_every_model_and_the_custom_views():
    assert len(ADMIN_URLS) > 40
    for expected in [
        "/admin/partners/partner/register/",
        "/admin/partners/partner/token-a/",
        "/admin/locations/location/1/change/",
        "/admin/locations/connector/",
        "/admin/pushers/delivery/add/",
    ]:
        assert expected in ADMIN_URLS


def _login_redirect(url: str) -> str:
    return f"/admin/login/?next={quote(url)}"


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("visitor", password="a-visitor-password-1")


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("operator", password="an-operator-pass-1")


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_every_admin_url_sends_an_anonymous_visitor_to_the_login(db, url):
    before = stored_state()

    for method in ("get", "post"):
        response = getattr(Client(), method)(url)

        assert response.status_code == 302, (method, url)
        assert response["Location"] == _login_redirect(url)
    assert stored_state() == before


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_every_admin_url_sends_a_logged_in_non_staff_user_to_the_login(user, url):
    client = Client()
    client.force_login(user)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == _login_redirect(url)


def test_staff_do_get_into_the_admin(staff):
    # The control: the same URLs open for a staff login.
    client = Client()
    client.force_login(staff)

    for url in ["/admin/", "/admin/partners/partner/", "/admin/partners/partner/token-a/"]:
        assert client.get(url).status_code == 200, url


class _HiddenInputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.values[attrs["name"]] = attrs.get("value") or ""


def _partner_add_form(client: Client) -> dict[str, str]:
    page = client.get("/admin/partners/partner/add/")
    assert page.status_code == 200
    reader = _HiddenInputs()
    reader.feed(page.content.decode())
    return {
        **reader.values,
        "name": "Added in the admin",
        "state": Partner.State.PENDING,
        "outgoing_token_base64": "on",
        "_save": "Save",
    }


def test_an_admin_post_without_the_csrf_token_is_403_and_saves_nothing(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    form = _partner_add_form(client)
    del form["csrfmiddlewaretoken"]

    response = client.post("/admin/partners/partner/add/", form)

    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert not Partner.objects.filter(name="Added in the admin").exists()


def test_an_admin_post_with_a_wrong_csrf_token_is_403(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    form = _partner_add_form(client)
    form["csrfmiddlewaretoken"] = "x" * 64

    assert client.post("/admin/partners/partner/add/", form).status_code == 403
    assert not Partner.objects.filter(name="Added in the admin").exists()


def test_an_admin_post_with_the_csrf_token_is_accepted(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)

    response = client.post("/admin/partners/partner/add/", _partner_add_form(client))

    assert response.status_code == 302, response.content[:2000]
    assert Partner.objects.filter(name="Added in the admin").exists()


def test_the_admin_login_itself_needs_the_csrf_token(staff):
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/admin/login/", {"username": "operator", "password": "an-operator-pass-1"}
    )

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_a_non_staff_user_cannot_log_into_the_admin(user):
    client = Client()

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "visitor", "password": "a-visitor-password-1", "next": "/admin/"},
    )

    assert response.status_code == 200  # the form again, with an error
    assert client.get("/admin/").status_code == 302
