"""Pagination of list GETs: offset/limit in, Link/X-Total-Count/X-Limit out.

OCPI 2.2.1, Transport and format, Pagination (Paginated Request, Paginated Response).
"""

from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from .envelope import OcpiResponse
from .errors import InvalidParameters
from .urls_util import public_url


def _non_negative_int(request, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise InvalidParameters(f"{name} must be a non-negative integer, got {raw[:40]!r}")
    return int(raw)


def pagination_params(request) -> tuple[int, int]:
    """(offset, limit), the limit capped at the server maximum (no error for a big limit)."""
    max_limit = settings.OCPI_MAX_PAGE_SIZE
    offset = _non_negative_int(request, "offset", 0)
    limit = _non_negative_int(request, "limit", max_limit)
    if limit == 0:
        raise InvalidParameters("limit must be at least 1")
    return offset, min(limit, max_limit)


def next_page_url(request, *, offset: int, limit: int) -> str:
    """The request's own URL with every filter kept and offset/limit replaced."""
    query = request.GET.copy()
    query["offset"] = str(offset)
    query["limit"] = str(limit)
    return f"{public_url(request.path_info)}?{query.urlencode()}"


def page_response(
    request, *, offset: int, limit: int, total: int, data: list, more: bool
) -> OcpiResponse:
    """A page with the Pagination headers: `X-Total-Count`, `X-Limit` (the server cap) and,
    when `more` objects follow this page, a `Link` to the next one (`offset + limit`)."""
    headers = {"X-Total-Count": str(total), "X-Limit": str(settings.OCPI_MAX_PAGE_SIZE)}
    if more:
        url = next_page_url(request, offset=offset + limit, limit=limit)
        headers["Link"] = f'<{url}>; rel="next"'
    return OcpiResponse(data, headers=headers)


def paginated_response(
    request,
    queryset: QuerySet,
    serialize: Callable[[Sequence[Any]], list],
) -> OcpiResponse:
    """A page of a queryset by COUNT and OFFSET: fine for short lists. The Locations list,
    which partners crawl whole at tens of thousands of rows, pages with `locations.paging`."""
    offset, limit = pagination_params(request)
    total = queryset.count()
    page = list(queryset[offset : offset + limit]) if offset < total else []
    data = serialize(page)
    return page_response(
        request, offset=offset, limit=limit, total=total, data=data, more=offset + limit < total
    )
