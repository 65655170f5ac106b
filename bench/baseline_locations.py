"""Baseline for bench/locations_api.py: the Locations GET list straight from SQL.

A minimal WSGI app (no Django) that answers `GET /ocpi/cpo/2.2.1/locations?offset=&limit=`
with the same JSON as the real API (same fields, same omission rules, same envelope, same
Link / X-Total-Count / X-Limit headers), built with psycopg and orjson:

- one query to check the token (hash lookup, like the real authentication),
- `count(*)` and the page of Locations (ORDER BY row_id LIMIT/OFFSET),
- one query for the page's EVSEs and one for their Connectors.

That is the same query plan the Django view uses (page + two prefetches), so the ratio
measures what Django, the ORM and the serializers cost on top of the unavoidable work.
No filters (date_from/date_to), no error envelopes beyond 401/404: a floor, not a product.

Configured by environment: BASELINE_DSN (libpq URL), BASELINE_BASE_URL (for Link),
BASELINE_MAX_PAGE (default 100). Serve with gunicorn:
    gunicorn --chdir bench baseline_locations:application
"""

import base64
import binascii
import hashlib
import os
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

import orjson
import psycopg
from psycopg.types.json import set_json_loads

DSN = os.environ.get("BASELINE_DSN", "postgresql://postgres@127.0.0.1:5432/bench_api")
BASE_URL = os.environ.get("BASELINE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
MAX_PAGE = int(os.environ.get("BASELINE_MAX_PAGE", "100"))
PATH = "/ocpi/cpo/2.2.1/locations"

set_json_loads(orjson.loads)

LOCATION_COLUMNS = (
    "row_id, country_code, party_id, id, publish, publish_allowed_to, name, address, city, "
    "postal_code, state, country, coordinates, related_locations, parking_type, directions, "
    "operator, suboperator, owner, facilities, time_zone, opening_times, charging_when_closed, "
    "images, energy_mix, last_updated"
)
EVSE_COLUMNS = (
    "row_id, location_id, uid, evse_id, status, status_schedule, capabilities, floor_level, "
    "coordinates, physical_reference, directions, parking_restrictions, images, last_updated"
)
CONNECTOR_COLUMNS = (
    "evse_id, id, standard, format, power_type, max_voltage, max_amperage, max_electric_power, "
    "tariff_ids, terms_and_conditions, last_updated"
)

_connection: psycopg.Connection | None = None


def _conn() -> psycopg.Connection:
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(DSN, autocommit=True)
    return _connection


def _dt(value: datetime) -> str:
    value = value.astimezone(UTC)
    millis = value.microsecond // 1000
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{millis:03d}Z" if millis else f"{base}Z"


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _put(target: dict, name: str, value) -> None:
    if value is not None and value != "" and value != []:
        target[name] = value


def _put_obj(target: dict, name: str, value) -> None:
    if value:
        target[name] = _clean(value)


def _connector(row) -> dict:
    (_, cid, standard, fmt, power_type, volts, amps, power, tariffs, terms, updated) = row
    data = {
        "id": cid,
        "standard": standard,
        "format": fmt,
        "power_type": power_type,
        "max_voltage": volts,
        "max_amperage": amps,
    }
    _put(data, "max_electric_power", power)
    _put(data, "tariff_ids", tariffs)
    _put(data, "terms_and_conditions", terms)
    data["last_updated"] = _dt(updated)
    return data


def _evse(row, connectors: list) -> dict:
    (_, _, uid, evse_id, status, schedule, capabilities, floor, coordinates, reference,
     directions, restrictions, images, updated) = row  # fmt: skip
    data = {"uid": uid}
    _put(data, "evse_id", evse_id)
    data["status"] = status
    _put_obj(data, "status_schedule", schedule)
    _put(data, "capabilities", capabilities)
    data["connectors"] = connectors
    _put(data, "floor_level", floor)
    _put_obj(data, "coordinates", coordinates)
    _put(data, "physical_reference", reference)
    _put_obj(data, "directions", directions)
    _put(data, "parking_restrictions", restrictions)
    _put_obj(data, "images", images)
    data["last_updated"] = _dt(updated)
    return data


def _location(row, evses: list) -> dict:
    (_, country_code, party_id, lid, publish, allowed, name, address, city, postal_code,
     state, country, coordinates, related, parking_type, directions, operator, suboperator,
     owner, facilities, time_zone, opening_times, when_closed, images, energy_mix,
     updated) = row  # fmt: skip
    data = {"country_code": country_code, "party_id": party_id, "id": lid, "publish": publish}
    _put_obj(data, "publish_allowed_to", allowed)
    _put(data, "name", name)
    data["address"] = address
    data["city"] = city
    _put(data, "postal_code", postal_code)
    _put(data, "state", state)
    data["country"] = country
    data["coordinates"] = _clean(coordinates)
    _put_obj(data, "related_locations", related)
    _put(data, "parking_type", parking_type)
    data["evses"] = evses
    _put_obj(data, "directions", directions)
    _put_obj(data, "operator", operator)
    _put_obj(data, "suboperator", suboperator)
    _put_obj(data, "owner", owner)
    _put(data, "facilities", facilities)
    data["time_zone"] = time_zone
    _put_obj(data, "opening_times", opening_times)
    _put(data, "charging_when_closed", when_closed)
    _put_obj(data, "images", images)
    _put_obj(data, "energy_mix", energy_mix)
    data["last_updated"] = _dt(updated)
    return data


def _authorised(cur, header: str) -> bool:
    keyword, _, value = header.partition(" ")
    if keyword.lower() != "token" or not value:
        return False
    try:
        token = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    cur.execute(
        "SELECT 1 FROM partners_issuedtoken t JOIN partners_partner p ON p.id = t.partner_id"
        " WHERE t.token_hash = %s AND t.revoked_at IS NULL AND t.kind = 'C'"
        " AND p.state = 'registered'",
        (hashlib.sha256(token.encode()).hexdigest(),),
    )
    return cur.fetchone() is not None


def _envelope(data, status_code=1000, message="Success") -> bytes:
    return orjson.dumps(
        {
            "data": data,
            "status_code": status_code,
            "status_message": message,
            "timestamp": _dt(datetime.now(UTC).replace(microsecond=0)),
        }
    )


def page(offset: int, limit: int) -> tuple[list, int]:
    with _conn().cursor() as cur:
        cur.execute("SELECT count(*) FROM locations_location")
        total = cur.fetchone()[0]
        if offset >= total:
            return [], total
        cur.execute(
            f"SELECT {LOCATION_COLUMNS} FROM locations_location"  # noqa: S608 - constants
            " ORDER BY row_id LIMIT %s OFFSET %s",
            (limit, offset),
        )
        locations = cur.fetchall()
        cur.execute(
            f"SELECT {EVSE_COLUMNS} FROM locations_evse"  # noqa: S608 - constants
            " WHERE location_id = ANY(%s) ORDER BY row_id",
            ([row[0] for row in locations],),
        )
        evses = cur.fetchall()
        cur.execute(
            f"SELECT {CONNECTOR_COLUMNS} FROM locations_connector"  # noqa: S608 - constants
            " WHERE evse_id = ANY(%s) ORDER BY row_id",
            ([row[0] for row in evses],),
        )
        connectors_by_evse: dict[int, list] = {}
        for row in cur.fetchall():
            connectors_by_evse.setdefault(row[0], []).append(_connector(row))
    evses_by_location: dict[int, list] = {}
    for row in evses:
        evses_by_location.setdefault(row[1], []).append(
            _evse(row, connectors_by_evse.get(row[0], []))
        )
    return [_location(row, evses_by_location.get(row[0], [])) for row in locations], total


def application(environ, start_response):
    if environ["PATH_INFO"].rstrip("/") != PATH:
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [_envelope(None, 2003, "Unknown")]
    with _conn().cursor() as cur:
        if not _authorised(cur, environ.get("HTTP_AUTHORIZATION", "")):
            start_response("401 Unauthorized", [("Content-Type", "application/json")])
            return [_envelope(None, 2002, "Unauthorized")]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    offset = int(query.get("offset", ["0"])[0])
    limit = max(1, min(int(query.get("limit", [str(MAX_PAGE)])[0]), MAX_PAGE))
    data, total = page(offset, limit)
    headers = [
        ("Content-Type", "application/json"),
        ("X-Total-Count", str(total)),
        ("X-Limit", str(MAX_PAGE)),
    ]
    if offset + limit < total:
        next_url = f"{BASE_URL}{PATH}?{urlencode({'offset': offset + limit, 'limit': limit})}"
        headers.append(("Link", f'<{next_url}>; rel="next"'))
    body = _envelope(data)
    headers.append(("Content-Length", str(len(body))))
    start_response("200 OK", headers)
    return [body]
