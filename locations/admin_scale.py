"""Admin lists that stay fast on large tables (docs/admin.md, "Large lists"; issue 17).

A changelist of Django's admin, left to its defaults, does work that grows with the table
on every page view: `count(*)` of the filtered rows and again of the whole table, a date
hierarchy (`SELECT DISTINCT` of the dates), filter choices read with `SELECT DISTINCT` over
every row, facet counts, a search that ORs `icontains` across joins (no index can serve it,
and the joins need a de-duplicating subquery), and an OFFSET walk over every row before the
last page. `LargeTableAdmin` replaces each of those; a list opts in with the mixin and a few
attributes:

- `show_full_result_count = False`, no facets, no date hierarchy (the lists use
  `DateFieldListFilter` instead, whose choices are fixed);
- `paginator = LargeTablePaginator`: the count of an unfiltered list comes from PostgreSQL's
  statistics (`pg_class.reltuples`, scaled to the table's current size as the planner does)
  once the table holds more than `ESTIMATE_ABOVE` rows; a filtered or searched list is
  counted exactly up to `EXACT_UP_TO` rows (`count(*)` of a subquery with a LIMIT, so it
  stops there) and beyond that shown as the planner's estimate ("about 41,000"). Pages in
  the second half are read in reverse order from the end, so the last page costs what the
  first one does. SQLite (small installations) always counts exactly;
- `search_fields` keep Django's prefixes (`^` prefix, `=` exact, none: contains), but each
  field becomes its own subquery of primary keys and a term matches the UNION of them:
  every arm can use its own index (ids and EVSE IDs: `upper(...) text_pattern_ops`; names,
  addresses, cities: trigram GIN indexes on PostgreSQL, migration
  `locations/migrations/0005_admin_search_indexes.py`), and no row is listed twice;
- `page_counts`: child counts (e.g. EVSEs per Location) computed for the rows shown only,
  with one grouped query per page, instead of a `Count()` annotation over every row;
- `SubqueryChoicesFilter`: a choices filter across a multi-valued relation (a Location's
  EVSEs' status) as `pk IN (subquery)`, instead of Django's join and SELECT DISTINCT over
  every column;
- `distinct_values_filter(limit)`: a list filter whose choices are read from an index with
  a loose index scan (one index probe per distinct value, stops after `limit`), hidden when
  a column has more values than that (the search finds them).
"""

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from django.contrib import admin
from django.contrib.admin.filters import AllValuesFieldListFilter
from django.contrib.admin.utils import (
    build_q_object_from_lookup_parameters,
    lookup_spawns_duplicates,
)
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Page, Paginator
from django.db import connections, models
from django.db.models import Count, Q, QuerySet
from django.utils.text import smart_split, unescape_string_literal

# An unfiltered list of a table with more rows than this shows the planner's estimate.
ESTIMATE_ABOVE = 10_000
# A filtered or searched list is counted exactly up to this many rows.
EXACT_UP_TO = 1_000


# --- Counting ---------------------------------------------------------------------------


def table_estimate(model: type[models.Model], using: str) -> int | None:
    """Rows of the model's table from PostgreSQL's statistics, scaled to the table's current
    number of pages (as the planner does); None before the first ANALYZE or elsewhere."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN c.reltuples < 0 THEN NULL"
            " WHEN c.relpages = 0 THEN c.reltuples"
            " ELSE c.reltuples / c.relpages"
            " * (pg_relation_size(c.oid) / current_setting('block_size')::integer) END"
            " FROM pg_class c WHERE c.oid = %s::regclass",
            [connection.ops.quote_name(model._meta.db_table)],
        )
        row = cursor.fetchone()
    return None if row is None or row[0] is None else int(row[0])


def planner_estimate(queryset: QuerySet) -> int:
    """Rows PostgreSQL expects `queryset` to return (EXPLAIN: planning only, nothing read)."""
    query = queryset.order_by().values("pk").query
    connection = connections[queryset.db]
    sql, params = query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # a driver that does not decode json
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class LargeTablePaginator(Paginator):
    """Counts cheaply (module docstring) and reads pages past the middle from the end."""

    estimated = False  # True when `count` is an estimate (the page says "about")

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            return super().count
        if not queryset.query.where:
            estimate = table_estimate(queryset.model, queryset.db)
            if estimate is not None and estimate > ESTIMATE_ABOVE:
                self.estimated = True
                return estimate
            return queryset.count()
        capped = queryset.order_by()[: EXACT_UP_TO + 1].count()
        if capped <= EXACT_UP_TO:
            return capped
        self.estimated = True
        return max(planner_estimate(queryset), capped)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if top + self.orphans >= self.count:
            top = self.count
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or not queryset.ordered or 2 * bottom <= self.count:
            return Page(queryset[bottom:top], number, self)
        # Past the middle: the same rows, read backwards from the end (no OFFSET walk over
        # everything before them). With an estimated count the last page is the last rows.
        size = top - bottom
        start = 0 if number == self.num_pages else max(self.count - top, 0)
        rows = list(queryset.reverse()[start : start + size])
        rows.reverse()
        return Page(rows, number, self)


# --- Counts of children, for the rows shown ---------------------------------------------


@dataclass(frozen=True)
class PageCount:
    """`attr` on each row shown: how many `model` rows point at it through `fk` (and match
    `condition`). One grouped query per page."""

    attr: str
    model: type[models.Model]
    fk: str
    condition: Q = field(default_factory=Q)


def count_for_rows(rows: list, count: PageCount) -> None:
    ids = [row.pk for row in rows]
    found = dict(
        count.model._default_manager.filter(count.condition, **{f"{count.fk}__in": ids})
        .order_by()
        .values_list(count.fk)
        .annotate(n=Count("pk"))
    )
    for row in rows:
        setattr(row, count.attr, found.get(row.pk, 0))


class PageChangeList(ChangeList):
    def get_filters(self, request):
        # Django removes the duplicates a filter over a multi-valued relation (a Location's
        # EVSEs) may give with SELECT DISTINCT over every column of every row; our
        # `SubqueryChoicesFilter` gives none.
        specs, has_filters, remaining, duplicates, active = super().get_filters(request)
        if duplicates:
            duplicates = any(
                lookup_spawns_duplicates(self.lookup_opts, key) for key in remaining
            ) or any(
                lookup_spawns_duplicates(self.lookup_opts, getattr(spec, "field_path", ""))
                for spec in specs
                if getattr(spec, "used_parameters", None)
                and not isinstance(spec, SubqueryChoicesFilter)
            )
        return specs, has_filters, remaining, duplicates, active

    def get_results(self, request):
        super().get_results(request)
        counts = getattr(self.model_admin, "page_counts", ())
        if counts:
            self.result_list = list(self.result_list)
            for count in counts:
                count_for_rows(self.result_list, count)


# --- Search -----------------------------------------------------------------------------


def _lookup(search_field: str) -> str:
    if search_field.startswith("^"):
        return f"{search_field[1:]}__istartswith"
    if search_field.startswith("="):
        return f"{search_field[1:]}__iexact"
    return f"{search_field}__icontains"


def search_terms(search_term: str) -> list[str]:
    """The words of a search, as Django's admin splits them ("quoted phrases" stay whole)."""
    terms = []
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if bit:
            terms.append(bit)
    return terms


def union_of(subqueries: list[QuerySet]) -> QuerySet:
    first, *rest = subqueries
    return first.union(*rest) if rest else first


# --- Filters ----------------------------------------------------------------------------


class SubqueryChoicesFilter(admin.ChoicesFieldListFilter):
    """Django's choices filter for a field across a multi-valued relation (e.g. the status
    of a Location's EVSEs), applied as `pk IN (subquery)`: no join in the list's query, so
    no duplicate rows to remove with DISTINCT."""

    def queryset(self, request, queryset):
        condition = build_q_object_from_lookup_parameters(self.used_parameters)  # type: ignore[arg-type]
        if not condition:
            return queryset
        matching = queryset.model._default_manager.filter(condition).order_by().values("pk")
        return queryset.filter(pk__in=matching)


def distinct_values(model: type[models.Model], column: str, limit: int, using: str) -> list:
    """Up to `limit` + 1 distinct values of a column, smallest first, with one index probe per
    value (a loose index scan; needs an index that starts with the column)."""
    connection = connections[using]
    table = connection.ops.quote_name(model._meta.db_table)
    col = connection.ops.quote_name(column)
    sql = (  # table and column: the model's own names, quoted
        f"WITH RECURSIVE t(v) AS (SELECT MIN({col}) FROM {table}"  # noqa: S608
        f" UNION ALL SELECT (SELECT MIN({col}) FROM {table} WHERE {col} > t.v)"
        " FROM t WHERE t.v IS NOT NULL)"
        " SELECT v FROM t WHERE v IS NOT NULL LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit + 1])
        return [row[0] for row in cursor.fetchall()]


def distinct_values_filter(limit: int = 100):
    """A list filter like Django's `AllValuesFieldListFilter` (one link per value) whose
    choices cost one index probe per value instead of a scan of the table. Hidden when the
    column holds more than `limit` values (a link list that long is no use; search instead),
    unless a value is chosen in the URL (then that one is shown and applied)."""

    class DistinctValuesFilter(AllValuesFieldListFilter):
        def __init__(self, field, request, params, model, model_admin, field_path):
            super().__init__(field, request, params, model, model_admin, field_path)
            values = distinct_values(field.model, field.column, limit, model._default_manager.db)
            self.too_many = len(values) > limit
            # Too many: only the value chosen (from a link or the URL) is offered.
            chosen = list(self.lookup_val or ())
            self.lookup_choices = chosen if self.too_many else values  # type: ignore[assignment]

        def has_output(self):
            # A filter that is not output is not applied either: keep a chosen one.
            return bool(self.lookup_val) or not self.too_many

    return DistinctValuesFilter


# --- The mixin --------------------------------------------------------------------------


if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin
else:
    _ModelAdmin = object  # a mixin: the concrete admin brings ModelAdmin


class LargeTableAdmin(_ModelAdmin):
    """Mix into a ModelAdmin (before `admin.ModelAdmin`) to make its list cheap at any size;
    set `page_counts` for per-row child counts."""

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = LargeTablePaginator
    date_hierarchy = None
    page_counts: tuple[PageCount, ...] = ()

    def get_changelist(self, request, **kwargs):
        return PageChangeList

    def search_subqueries(self, request, term: str) -> list[QuerySet]:
        """One queryset of primary keys per search field matching `term`; a subclass may add
        its own (e.g. a key it can turn into an indexed lookup)."""
        manager = self.model._default_manager
        return [
            manager.filter(**{_lookup(str(name)): term}).order_by().values("pk")
            for name in self.get_search_fields(request)
        ]

    def get_search_results(self, request, queryset, search_term):
        for term in search_terms(search_term):
            subqueries = self.search_subqueries(request, term)
            if subqueries:
                queryset = queryset.filter(pk__in=union_of(subqueries))
        return queryset, False
