"""The statements of a many-lane round (`drain`), written out in SQL like the one-lane ones
(`lane_sql`, which says why): each runs once per round of up to `drain.LANES_PER_ROUND`
lanes, whatever their number.

Plain enough for PostgreSQL and SQLite (window functions, `UPDATE … RETURNING`, a `WITH`
of VALUES); values through the fields' own adapters and converters.
"""

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from partners.models import Partner

from .lane_sql import (
    _PARTNER_PARAMS,
    OPEN,
    PartnerNow,
    _columns,
    _datetime,
    _fields,
    _instance,
    _partner,
    _partner_columns,
    _placeholders,
    _prep,
    due_lanes_sql,
    table,
)
from .models import Delivery, Lane, PartnerPushState

Status = Delivery.Status


def claim_lanes(
    partner_id: int,
    token: str,
    *,
    now: datetime,
    until: datetime,
    limit: int,
    exclude: Iterable[int] = (),
) -> list[int]:
    """Take the leases of up to `limit` of the partner's due lanes nobody holds, oldest head
    first (the lanes of its first `limit` due Deliveries), all with one claim token; the
    conditions are those of `lane_sql.due_lanes_sql`, checked again on each row taken."""
    due, due_params = due_lanes_sql(partner_id, now=now, exclude=exclude, limit=limit)
    at = connection.ops.adapt_datetimefield_value
    lanes = table(Lane)
    free = "(busy_until IS NULL OR busy_until < %s)"
    # Rows locked in id order, as the fan-out locks lanes (no deadlock); one a fan-out
    # holds is skipped (its Deliveries are changing; the next round takes it).
    lock = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {lanes} SET busy_until = %s, claim_token = %s WHERE id IN ("
            f"SELECT id FROM {lanes} WHERE {free} AND id IN ({due}) ORDER BY id{lock}) "
            f"AND {free} RETURNING id",
            [at(until), token, at(now), *due_params, at(now)],
        )
        return [row[0] for row in cursor.fetchall()]


def read_lanes(lane_ids: Sequence[int]) -> tuple[dict[int, Lane], dict[int, list[Delivery]]]:
    """The lanes and each one's open Deliveries in lane order (at most one pending per
    object, so a lane holds few), in one query."""
    n_delivery = len(_fields(Delivery))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_columns(Delivery, 'd')}, {_columns(Lane, 'l')} "
            f"FROM {table(Delivery)} d JOIN {table(Lane)} l ON l.id = d.lane_id "
            f"WHERE d.lane_id IN ({_placeholders(len(lane_ids))}) AND d.status IN (%s, %s) "
            "ORDER BY d.queued_at, d.id",
            [*lane_ids, *OPEN],
        )
        rows = cursor.fetchall()
    lanes: dict[int, Lane] = {}
    deliveries: dict[int, list[Delivery]] = {}
    for row in rows:
        delivery = _instance(Delivery, row[:n_delivery])
        lane = lanes.get(delivery.lane_id)
        if lane is None:
            lane = lanes[delivery.lane_id] = _instance(Lane, row[n_delivery:])
            deliveries[lane.pk] = []
        delivery.lane = lane
        deliveries[lane.pk].append(delivery)
    return lanes, deliveries


def partner_now(partner_id: int) -> tuple[PartnerNow | None, datetime | None]:
    """`lane_sql.partner_now` and the partner's `last_success_at`, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_partner_columns(connection.vendor)}, s.last_success_at "
            f"FROM {table(Partner)} p "
            f"LEFT JOIN {table(PartnerPushState)} s ON s.partner_id = p.id WHERE p.id = %s",
            [*_PARTNER_PARAMS, partner_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None, None
    return _partner(partner_id, row[:-1]), _datetime(row[-1])


def mark_sending(heads: dict[int, tuple[datetime, int]], *, now: datetime) -> list[Delivery]:
    """`lane_sql.mark_sending` for many lanes: their pending Deliveries up to each lane's
    place `heads[lane id]` (`(queued_at, id)` of the last one read) marked as being sent,
    then read again in lane order. Locked in id order, as the fan-out locks them."""
    at = connection.ops.adapt_datetimefield_value
    postgres = connection.vendor == "postgresql"
    stamp = "CAST(%s AS timestamp with time zone)" if postgres else "%s"
    values = ", ".join([f"(CAST(%s AS bigint), {stamp}, CAST(%s AS bigint))"] * len(heads))
    params: list[Any] = []
    for lane_id, (queued_at, last_id) in heads.items():
        params += [lane_id, at(queued_at), last_id]
    lock = " FOR UPDATE OF d" if connection.features.has_select_for_update_of else ""
    deliveries = table(Delivery)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in _fields(Delivery))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v(lane, at, last) AS (VALUES {values}) "
            f"UPDATE {deliveries} SET status = %s, attempts = attempts + 1, "
            f"last_attempt_at = %s WHERE id IN (SELECT d.id FROM {deliveries} d "
            "JOIN v ON d.lane_id = v.lane WHERE d.status = %s "
            "AND (d.queued_at < v.at OR (d.queued_at = v.at AND d.id <= v.last)) "
            f"ORDER BY d.id{lock}) RETURNING {columns}",
            [*params, Status.SENDING, at(now), Status.PENDING],
        )
        marked = [_instance(Delivery, row) for row in cursor.fetchall()]
    marked.sort(key=lambda d: (d.queued_at, d.pk))
    return marked


def renew(token: str, *, until: datetime) -> int:
    """Extend the leases of the lanes held with `token`; returns how many are still held."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table(Lane)} SET busy_until = %s WHERE id IN ("
            f"SELECT id FROM {table(Lane)} WHERE claim_token = %s ORDER BY id{_lock()})",
            [connection.ops.adapt_datetimefield_value(until), token],
        )
        return cursor.rowcount


def release(token: str, states: dict[int, dict[str, Any]]) -> None:
    """Let go of the leases held with `token`, writing each lane's pending state (`states`:
    lane id → attname → value, see `rounds.record_round`) in the same UPDATE."""
    if not states:
        return
    names = sorted({name for state in states.values() for name in state})
    assignments = ["busy_until = NULL", "claim_token = ''"]
    params: list[Any] = []
    json_cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    for name in names:
        owners = [(lane_id, s[name]) for lane_id, s in states.items() if name in s]
        value = json_cast if name == "sent_at" else "%s"
        cases = " ".join(f"WHEN %s THEN {value}" for _ in owners)
        column = connection.ops.quote_name(name)
        assignments.append(f"{column} = CASE id {cases} ELSE {column} END")
        for lane_id, v in owners:
            # JSON as its text (cast on PostgreSQL), like the column's own adapter sends it.
            params += [lane_id, json.dumps(v) if name == "sent_at" else _prep(Lane, name, v)]
    ids = list(states)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table(Lane)} SET {', '.join(assignments)} WHERE id IN ("
            f"SELECT id FROM {table(Lane)} WHERE claim_token = %s "
            f"AND id IN ({_placeholders(len(ids))}) ORDER BY id{_lock()})",
            [*params, token, *ids],
        )


def _lock() -> str:
    """Lanes are locked in id order, as the fan-out locks them (no deadlock)."""
    return " FOR UPDATE" if connection.features.has_select_for_update else ""
