"""Per-partner sending slots: at most PUSH_PARTNER_CONCURRENCY calls in flight to one partner
(one while it is degraded: the circuit breaker of `outcomes`), across every worker machine.

A slot is a row leased with a conditional UPDATE, like a lane (works alike on PostgreSQL and
SQLite). A task takes a slot before it takes a lane; the holder sends that lane, then the
partner's other due lanes nobody holds (`lanes`), so the tasks that found every slot taken
simply end. After letting a slot go, the holder looks once more for due lanes, so a lane
whose task found the slots taken is never left behind (`lanes.send_lane`).
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from . import clock
from .lane_sql import table
from .models import Lane, PartnerPushState, SendSlot


def _limit_sql(partner: str = "l.partner_id") -> str:
    """How many slots a partner (the column `partner`) may use now: 1 while degraded, else
    the setting."""
    return (
        "CASE WHEN COALESCE((SELECT p.consecutive_failures FROM "
        f"{table(PartnerPushState)} p WHERE p.partner_id = {partner}), 0) >= %s "
        "THEN 1 ELSE %s END"
    )


def _lease(source: str, partner: str, key: int, token: str) -> int | None:
    """Lease the lowest free slot the partner may use now, the partner found through
    `source` (the FROM of `s`, with `key` as its one parameter) and its column `partner`;
    returns the partner's id, or None when every slot it may use now is taken."""
    now = clock.now()
    at = connection.ops.adapt_datetimefield_value
    slot = table(SendSlot)
    free = "(busy_until IS NULL OR busy_until < %s)"
    sql = (
        f"UPDATE {slot} SET busy_until = %s, claim_token = %s WHERE id = ("
        f"SELECT s.id FROM {source} AND s.number < {_limit_sql(partner)} "
        "AND (s.busy_until IS NULL OR s.busy_until < %s) ORDER BY s.number LIMIT 1"
        f") AND {free} RETURNING partner_id"
    )
    params = [
        at(now + timedelta(seconds=settings.PUSH_LANE_LEASE)),
        token,
        key,
        settings.PUSH_BREAKER_FAILURES,
        settings.PUSH_PARTNER_CONCURRENCY,
        at(now),
        at(now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def acquire(lane_id: int, token: str) -> int | None:
    """Lease a free slot of the partner of `lane_id`; returns the partner's id, or None
    when every slot it may use now is taken."""
    source = (
        f"{table(SendSlot)} s JOIN {table(Lane)} l ON l.partner_id = s.partner_id WHERE l.id = %s"
    )
    return _lease(source, "l.partner_id", lane_id, token)


def acquire_for_partner(partner_id: int, token: str) -> bool:
    """`acquire` by the partner's id (`lanes.send_partner`); False when every slot it may
    use now is taken."""
    source = f"{table(SendSlot)} s WHERE s.partner_id = %s"
    return _lease(source, "s.partner_id", partner_id, token) is not None


def ensure(partner_ids: Iterable[int]) -> None:
    """Create the partners' missing slot rows: when their first lanes are created
    (`coalescing.lock_lanes`), and by the sweeper (a raised PUSH_PARTNER_CONCURRENCY)."""
    SendSlot.objects.bulk_create(
        [
            SendSlot(partner_id=partner_id, number=n)
            for partner_id in sorted(set(partner_ids))
            for n in range(settings.PUSH_PARTNER_CONCURRENCY)
        ],
        ignore_conflicts=True,
    )


def renew(partner_id: int, token: str) -> None:
    until = clock.now() + timedelta(seconds=settings.PUSH_LANE_LEASE)
    at = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table(SendSlot)} SET busy_until = %s "
            "WHERE partner_id = %s AND claim_token = %s",
            [at(until), partner_id, token],
        )


def release(partner_id: int, token: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table(SendSlot)} SET busy_until = NULL, claim_token = '' "
            "WHERE partner_id = %s AND claim_token = %s",
            [partner_id, token],
        )


def busy_until(partner_id: int) -> list[datetime | None]:
    """The partner's slots' leases (for the admin and the tests)."""
    return list(
        SendSlot.objects.filter(partner_id=partner_id)
        .order_by("number")
        .values_list("busy_until", flat=True)
    )
