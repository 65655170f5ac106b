"""The statements the send loop runs for every lane, written out in SQL.

Why not the ORM here: a lane task sends a few messages and runs about ten statements, and
compiling those querysets cost more CPU than the HTTP calls and the database together
(docs/benchmarks.md, "Push: where the time went, and the targets met"). Push throughput
is bounded by the workers' CPU, so the hot path uses fixed SQL strings built once per
process from the models' table and column names. Everything else (fan-out, retries,
parking, the admin) stays with the ORM.

The SQL is plain enough for both PostgreSQL and SQLite (UPDATE … FROM needs SQLite 3.33).
Values go through the fields' own adapters and converters (`_prep`, `_instance`), so datetimes,
JSON and booleans are stored and read exactly as the ORM would.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

from partners.models import Partner, PartnerEndpoint, PartnerRole
from versions.registry import InterfaceRole, ModuleID

from .models import Delivery, Lane, PartnerPushState

M = TypeVar("M", bound=Model)
Status = Delivery.Status
OPEN = Delivery.OPEN


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns(model: type[Model], alias: str) -> str:
    return ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in _fields(model))


@cache
def _fields(model: type[Model]) -> list:
    return list(model._meta.concrete_fields)


def _prep(model: type[Model], name: str, value: Any) -> Any:
    """`value` for column `name` (a field's attname) as the ORM would send it."""
    field = next(f for f in _fields(model) if f.attname == name)
    return field.get_db_prep_save(value, connection)


@cache
def _converters(model: type[Model], vendor: str) -> list[tuple[int, Any, list]]:
    """(position, column expression, converters) of the fields that need converting."""
    del vendor  # the cache key: converters depend on the database backend
    out = []
    for index, field in enumerate(_fields(model)):
        col = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        if converters:
            out.append((index, col, converters))
    return out


@cache
def _attnames(model: type[Model]) -> list[str]:
    return [f.attname for f in _fields(model)]


def _instance(model: type[M], values: Sequence[Any]) -> M:
    """A model instance from the raw values of all its concrete columns, in field order."""
    converted = list(values)
    for index, col, converters in _converters(model, connection.vendor):
        for convert in converters:
            converted[index] = convert(converted[index], col, connection)
    return model.from_db(connection.alias, _attnames(model), converted)


def _datetime(value: Any) -> datetime | None:
    """A datetime from a joined column as the ORM would give it (aware, UTC)."""
    col = PartnerPushState._meta.get_field("last_success_at").get_col("s")
    for convert in connection.ops.get_db_converters(col):
        value = convert(value, col, connection)
    return value


def _placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


# --- Statements --------------------------------------------------------------------------------


def claim(lane_id: int, token: str, *, now: datetime, until: datetime) -> bool:
    """Take the lane's lease if nobody holds it (or the holder's lease ran out)."""
    sql = (
        f"UPDATE {table(Lane)} SET busy_until = %s, claim_token = %s "
        "WHERE id = %s AND (busy_until IS NULL OR busy_until < %s)"
    )
    at = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(sql, [at(until), token, lane_id, at(now)])
        return cursor.rowcount == 1


def update_lane(lane_id: int, token: str, values: dict[str, Any]) -> int:
    """Set columns of the lane while we hold its lease (`values`: attname → value)."""
    names = list(values)
    assignments = ", ".join(f"{connection.ops.quote_name(n)} = %s" for n in names)
    params = [_prep(Lane, n, values[n]) for n in names]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table(Lane)} SET {assignments} WHERE id = %s AND claim_token = %s",
            [*params, lane_id, token],
        )
        return cursor.rowcount


def _roles_aggregate(vendor: str) -> str:
    """A partner's roles (alias `r`) in one column, "id:role:country:party" comma-separated,
    so that the addressee is chosen by the one rule in Python (`partners.routing.addressee`)."""
    role = (
        "CAST(r.id AS text) || ':' || r.{role} || ':' || r.country_code || ':' || r.party_id"
    ).format(role=connection.ops.quote_name("role"))
    return f"string_agg({role}, ',')" if vendor == "postgresql" else f"group_concat({role})"


def _partner_columns(vendor: str) -> str:
    """What sending needs about the partner (alias `p`, its push state `s`): state, token,
    Base64 switch, Locations RECEIVER URL, pause flag, failures in a row, roles (`_partner`)."""
    return (
        "p.state, p.outgoing_token, p.outgoing_token_base64, "
        f"(SELECT e.url FROM {table(PartnerEndpoint)} e WHERE e.partner_id = p.id "
        "AND e.identifier = %s AND e.role = %s ORDER BY e.id LIMIT 1), "
        "s.push_paused, s.consecutive_failures, "
        f"(SELECT {_roles_aggregate(vendor)} FROM {table(PartnerRole)} r "
        "WHERE r.partner_id = p.id)"
    )


_PARTNER_PARAMS = [ModuleID.LOCATIONS, InterfaceRole.RECEIVER]
_N_PARTNER_COLUMNS = 7


@dataclass
class PartnerNow:
    """What sending needs to know about a partner, read again before each call."""

    partner: Partner  # state and outgoing token only
    receiver_url: str | None
    paused: bool
    roles: list[PartnerRole]
    consecutive_failures: int


def _partner(partner_id: int, values: Sequence[Any]) -> PartnerNow:
    state, token, base64, url, paused, failures, roles = values
    # Booleans come as 0/1 from SQLite; None when the partner has no push state row yet.
    partner = Partner.from_db(
        connection.alias,
        ["id", "state", "outgoing_token", "outgoing_token_base64"],
        [partner_id, state, token, bool(base64)],
    )
    return PartnerNow(partner, url, bool(paused), _roles(roles), failures or 0)


@cache
def _read_sql(vendor: str) -> str:
    return (
        f"SELECT {_columns(Delivery, 'd')}, {_columns(Lane, 'l')}, "
        f"{_partner_columns(vendor)}, s.last_success_at "
        f"FROM {table(Delivery)} d "
        f"JOIN {table(Lane)} l ON l.id = d.lane_id "
        f"JOIN {table(Partner)} p ON p.id = l.partner_id "
        f"LEFT JOIN {table(PartnerPushState)} s ON s.partner_id = l.partner_id "
        "WHERE d.lane_id = %s AND d.status IN (%s, %s) "
        "ORDER BY d.queued_at, d.id LIMIT %s"
    )


@cache
def _partner_sql(vendor: str) -> str:
    return (
        f"SELECT {_partner_columns(vendor)} FROM {table(Partner)} p "
        f"LEFT JOIN {table(PartnerPushState)} s ON s.partner_id = p.id WHERE p.id = %s"
    )


def partner_now(partner_id: int) -> PartnerNow | None:
    """The partner's state, token, Locations RECEIVER URL, pause flag and roles as they are
    now, so that nothing goes out after an unregistering, a pause or a token rotation."""
    with connection.cursor() as cursor:
        cursor.execute(_partner_sql(connection.vendor), [*_PARTNER_PARAMS, partner_id])
        row = cursor.fetchone()
    return None if row is None else _partner(partner_id, row)


def due_lanes_sql(
    partner_id: int, *, now: datetime, exclude: Iterable[int], limit: int
) -> tuple[str, list]:
    """The SELECT of the ids of up to `limit` of the partner's due lanes, oldest head first,
    with its parameters: the one rule of which lanes are due (`next_due_lane`, and the round
    claim of `drain_sql.claim_lanes`): a lane nobody holds, not backing off and not waiting
    for a deferred (debounced) send, of a partner that is not paused."""
    excluded = list(exclude)
    skip = f"AND l.id NOT IN ({_placeholders(len(excluded))}) " if excluded else ""
    at = connection.ops.adapt_datetimefield_value(now)
    sql = (
        f"SELECT d.lane_id FROM {table(Delivery)} d "
        f"JOIN {table(Lane)} l ON l.id = d.lane_id "
        "WHERE d.partner_id = %s AND d.status IN (%s, %s) "
        "AND (l.busy_until IS NULL OR l.busy_until < %s) "
        "AND (l.retry_at IS NULL OR l.retry_at <= %s) "
        "AND (l.next_send_at IS NULL OR l.next_send_at <= %s) "
        f"AND NOT EXISTS (SELECT 1 FROM {table(PartnerPushState)} s "
        "WHERE s.partner_id = d.partner_id AND s.push_paused) "
        f"{skip}ORDER BY d.queued_at, d.id LIMIT %s"
    )
    return sql, [partner_id, *OPEN, at, at, at, *excluded, limit]


def next_due_lane(partner_id: int, *, now: datetime, exclude: Iterable[int] = ()) -> int | None:
    """The partner's lane whose head has waited longest and that nobody holds, is not
    backing off and not waiting for a deferred (debounced) send; None if there is none or
    the partner is paused."""
    sql, params = due_lanes_sql(partner_id, now=now, exclude=exclude, limit=1)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _roles(aggregated: str | None) -> list[PartnerRole]:
    roles = []
    for item in (aggregated or "").split(","):
        if item:
            pk, role, country_code, party_id = item.split(":")
            roles.append(
                PartnerRole(pk=int(pk), role=role, country_code=country_code, party_id=party_id)
            )
    return roles


def read_lane(lane_id: int, limit: int) -> tuple[Lane | None, list[Delivery]]:
    """The lane's first `limit` open Deliveries in order and, from the same query, the lane
    with its partner (`lane.partner`: state and outgoing token only) and what sending needs
    about that partner: `lane.receiver_url` (its Locations RECEIVER endpoint), `lane.paused`,
    `lane.last_success`, `lane.roles` (its PartnerRoles, unsaved copies). (None, []) when the
    lane has nothing open."""
    params: list[Any] = [*_PARTNER_PARAMS, lane_id, *OPEN, limit]
    with connection.cursor() as cursor:
        cursor.execute(_read_sql(connection.vendor), params)
        rows = cursor.fetchall()
    if not rows:
        return None, []
    n_delivery, n_lane = len(_fields(Delivery)), len(_fields(Lane))
    first = rows[0]
    lane = _instance(Lane, first[n_delivery : n_delivery + n_lane])
    extra = first[n_delivery + n_lane :]
    now = _partner(lane.partner_id, extra[:_N_PARTNER_COLUMNS])
    lane.partner = now.partner
    lane.receiver_url, lane.paused, lane.roles = now.receiver_url, now.paused, now.roles
    lane.consecutive_failures = now.consecutive_failures
    lane.last_success = _datetime(extra[_N_PARTNER_COLUMNS])
    deliveries = []
    for row in rows:
        delivery = _instance(Delivery, row[:n_delivery])
        delivery.lane = lane
        deliveries.append(delivery)
    return lane, deliveries


def open_deliveries(lane_id: int, limit: int) -> list[Delivery]:
    """The lane's first `limit` open Deliveries in order (the lane's later rounds)."""
    sql = (
        f"SELECT {_columns(Delivery, 'd')} FROM {table(Delivery)} d "
        "WHERE d.lane_id = %s AND d.status IN (%s, %s) ORDER BY d.queued_at, d.id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [lane_id, *OPEN, limit])
        return [_instance(Delivery, row) for row in cursor.fetchall()]


def mark_sending(
    ids: Sequence[int], *, now: datetime, upto: tuple[datetime, int]
) -> list[Delivery]:
    """Mark these pending Deliveries as being sent (one more attempt) and return them as
    they are now, in lane order: a fan-out may have merged changes into one just before.

    Only those still at or before `upto` (the lane place, `(queued_at, id)`, of the last one
    read): one a fan-out moved back meanwhile (a newer change merged in) waits for its new
    turn, so an older change the fan-out added in front of it is not overtaken. The rows are
    locked in id order, as the fan-out locks them (no deadlock; SQLite has no row locks)."""
    at = connection.ops.adapt_datetimefield_value(now)
    place = connection.ops.adapt_datetimefield_value(upto[0])
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    deliveries = table(Delivery)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {deliveries} SET status = %s, attempts = attempts + 1, last_attempt_at = %s "
            f"WHERE id IN (SELECT id FROM {deliveries} WHERE id IN ({_placeholders(len(ids))}) "
            "AND status = %s AND (queued_at < %s OR (queued_at = %s AND id <= %s)) "
            f"ORDER BY id{lock})",
            [Status.SENDING, at, *ids, Status.PENDING, place, place, upto[1]],
        )
        cursor.execute(
            f"SELECT {_columns(Delivery, 'd')} FROM {deliveries} d "
            f"WHERE d.id IN ({_placeholders(len(ids))}) AND d.status = %s "
            "ORDER BY d.queued_at, d.id",
            [*ids, Status.SENDING],
        )
        return [_instance(Delivery, row) for row in cursor.fetchall()]


def mark_succeeded(
    results: Iterable[tuple[int, int | None, int | None, int | None]], *, now: datetime
) -> None:
    """Deliveries being sent that succeeded: (id, HTTP status, OCPI status, latency ms)."""
    rows = list(results)
    if not rows:
        return
    values = ", ".join(
        ["(CAST(%s AS bigint), CAST(%s AS integer), CAST(%s AS integer), CAST(%s AS integer))"]
        * len(rows)
    )
    deliveries = table(Delivery)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v(id, http, ocpi, ms) AS (VALUES {values}) "
            f"UPDATE {deliveries} SET status = %s, finished_at = %s, last_error = '', "
            "last_http_status = v.http, last_ocpi_status = v.ocpi, last_latency_ms = v.ms "
            f"FROM v WHERE {deliveries}.id = v.id AND {deliveries}.status = %s",
            [
                *(value for row in rows for value in row),
                Status.SUCCEEDED,
                connection.ops.adapt_datetimefield_value(now),
                Status.SENDING,
            ],
        )


def has_due_work(lane_id: int, *, now: datetime) -> bool:
    """Whether the lane has an open Delivery and is not backing off."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table(Delivery)} d JOIN {table(Lane)} l ON l.id = d.lane_id "
            "WHERE d.lane_id = %s AND d.status IN (%s, %s) "
            "AND (l.retry_at IS NULL OR l.retry_at <= %s) LIMIT 1",
            [lane_id, *OPEN, connection.ops.adapt_datetimefield_value(now)],
        )
        return cursor.fetchone() is not None
