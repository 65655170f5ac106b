"""Paging of the Sender GET list that stays flat at hundreds of thousands of Locations.

OCPI 2.2.1, Transport and format, Pagination: the client asks for `offset`/`limit` and
follows the `Link` header; every page carries `X-Total-Count`. Done naively (`COUNT(*)` and
`LIMIT/OFFSET` on every page) three costs grow with the table on every page: the count, the
OFFSET walk, and with `date_from`/`date_to` a walk of the primary key that discards the rows
outside the window. Here, for the same data, every response is the one `COUNT` + `OFFSET`
would give, byte for byte, but a page costs the same at any depth:

- **The count** is read once per state of the data and kept in the cache (Django's cache,
  `CACHES`) under a key of the partner (roaming agreements: `locations.sharing`), the date
  filters and the data version: `MAX(row_id), MAX(last_updated)` of all Locations, two
  index probes in one query on every page. A Location is never deleted; every change that
  can add a Location to a partner's list or take one out of it (a new Location, any change
  of its tree, a change of its roaming agreements) inserts a row or stamps the Location's
  `last_updated` to now (`locations.locking.stamp`), so the version changes and the next
  page counts again. The count is therefore the exact number of matching Locations the
  partner may see, as of the data version read at the start of the request. One case
  escapes the version: two writes whose stamps commit in the opposite order (the one with
  the older stamp commits last, and no newer row or stamp exists). `OCPI_LIST_COUNT_MAX_AGE`
  (seconds) bounds how long such a count can be served; the next write ends it at once.
  Computing the count also gives the smallest and largest matching `row_id`, which bound
  every page's index walk (no walk over the rows before the window's first Location, and
  the last page does not walk to the end of the table to learn there is nothing more).
- **The page** is a deferred join: the page's row ids from an index alone
  (`location_list_idx`: list order, date bounds and visibility read from the index entry),
  then the whole rows of just those ids. The ids are found by keyset: each page remembers,
  in the cache, the `row_id` after which the next page (`offset + limit`) starts, and
  that page reads `row_id > remembered` instead of skipping `offset` rows. A request for
  an offset no page led to (a jump, or a remembered boundary that expired after
  `OCPI_LIST_CRAWL_MAX_AGE` seconds) skips `offset` index entries (`OFFSET` on the id
  query only: still exact, but it grows with the offset).

What a crawl sees while Locations change (OCPI 2.2.1, Pagination, and the spec's advice to
repeat a page with `offset - 1` when a `date_to` window loses an object): a page that
follows the previous page of the same partner and filters continues right after that
page's last Location, so every Location that matches from the crawl's first page to its
last is returned exactly once, even when Locations before the crawl's position enter or
leave the window or the partner's agreements in the meantime (with plain `OFFSET` they
shift the later pages: one Location skipped or one sent twice). A Location that enters
behind the crawl's position is not in this crawl; its new `last_updated` puts it in the
next `date_from` crawl. `X-Total-Count` is the count at the moment of each page (it may
grow or shrink between pages, as the spec allows). The `Link` to the next page is there
exactly when matching Locations follow the page's last one (for unchanged data: exactly
when `offset + limit < total`), so a crawl whose earlier pages lost a Location still gets
to the end, and one whose window gained some behind it does not ask for an empty page.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import BooleanField, Count, F, Func, Max, Min, QuerySet, Subquery

from . import selectors
from .models import Location

log = logging.getLogger(__name__)

_PREFIX = "ocpi:locations:list:"


@dataclass(frozen=True)
class ListQuery:
    """One partner's list with its filters: what a cached count or boundary belongs to."""

    partner_id: int
    date_from: datetime | None = None
    date_to: datetime | None = None

    def key(self, *parts: object) -> str:
        """A cache key of this list and `parts` (hashed: no spaces, bounded length)."""
        window = [None if d is None else d.isoformat() for d in (self.date_from, self.date_to)]
        material = repr((self.partner_id, *window, *parts)).encode()
        return _PREFIX + hashlib.blake2b(material, digest_size=16).hexdigest()


@dataclass(frozen=True)
class Page:
    total: int
    rows: list[tuple]  # selectors.LOCATION_ROW tuples, in list order
    more: bool  # matching Locations follow this page: the response links to the next one


class _AmongIds(Func):
    """`column = ANY(ARRAY(subquery))` (PostgreSQL), a filter."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra_context):
        column, ids = self.get_source_expressions()
        column_sql, column_params = compiler.compile(column)
        ids_sql, ids_params = compiler.compile(ids)  # "(SELECT ...)"
        return f"{column_sql} = ANY(ARRAY{ids_sql})", (*column_params, *ids_params)


def data_version() -> tuple:
    """What changes whenever a Location is added or stamped (one query, two index probes).

    Two scalar subqueries rather than `SELECT MAX(a), MAX(b)`: SQLite answers a MAX from
    an index only when it is the query's single aggregate (PostgreSQL does either way)."""
    table = connection.ops.quote_name(Location._meta.db_table)
    row_id, updated = (
        connection.ops.quote_name(Location._meta.get_field(name).column)
        for name in ("row_id", "last_updated")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT MAX({row_id}) FROM {table}), (SELECT MAX({updated}) FROM {table})"  # noqa: S608 - names from the model
        )
        newest_row, newest_stamp = cursor.fetchone()
    return newest_row, str(newest_stamp)


# A cache that is down (Redis unreachable) costs speed, never an answer: a missing count
# is counted, a missing boundary walks the offset.
def _cache_get(key: str):
    try:
        return cache.get(key)
    except Exception:
        log.warning("cache unreachable; paging without it", exc_info=True)
        return None


def _cache_set(key: str, value, timeout: int) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception:
        log.warning("cache unreachable; paging without it", exc_info=True)


def _summary(query: ListQuery, matching: QuerySet) -> tuple[int, int, int]:
    """(count, first row_id, last row_id) of the matching Locations, cached per version."""
    key = query.key("count", *data_version())
    summary = _cache_get(key)
    if summary is None:
        found = matching.aggregate(n=Count("pk"), first=Min("pk"), last=Max("pk"))
        summary = (found["n"], found["first"] or 0, found["last"] or 0)
        _cache_set(key, summary, settings.OCPI_LIST_COUNT_MAX_AGE)
    return summary


def list_page(query: ListQuery, matching: QuerySet, *, offset: int, limit: int) -> Page:
    """The page at `offset` of `matching` (the partner's visible Locations, date-filtered),
    with its total. Queries: the data version, the count when it is not cached, the page
    (none when `offset` is past the end and no page led there)."""
    total, first, last = _summary(query, matching)
    remembered = _cache_get(query.key("after", offset)) if offset else None
    if remembered is None:
        if offset >= total:
            return Page(total, [], more=False)
        after, skip = first - 1, offset
    else:
        after, skip = remembered, 0
    ids = (
        matching.filter(pk__gt=after, pk__lte=last).order_by("pk").values("pk")[skip : skip + limit]
    )
    if connection.vendor == "postgresql":
        # `row_id = ANY(ARRAY(ids))`: a primary-key probe per id. With `row_id IN (ids)`
        # PostgreSQL hashes the ids and scans the whole table for them (a semi join).
        rows = list(selectors.location_rows().filter(_AmongIds(F("pk"), Subquery(ids))))
    else:
        rows = list(selectors.location_rows().filter(pk__in=ids))
    # More follow when the page is full and its last Location is not the last that matches
    # (for unchanged data: exactly when offset + limit < total).
    more = len(rows) == limit and rows[-1][0] < last
    if more:
        timeout = settings.OCPI_LIST_CRAWL_MAX_AGE
        _cache_set(query.key("after", offset + limit), rows[-1][0], timeout)
    return Page(total, rows, more)
