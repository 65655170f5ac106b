"""Roaming agreements: which partners receive a Location and may pull it.

A Location is shared with all partners (the default, `Location.shared_with_all`) or only
with the partners chosen for it (`LocationShare` rows): the eMSPs the CPO has a roaming
agreement with for that site. OCPI 2.2.1 lets a Sender serve each client only what is
available to it (Transport and format, Pagination, Paginated Response: `X-Total-Count` counts
the objects "available to this client"), and a receiver learns that a site is no longer
shared with it the way OCPI retires anything: its EVSEs get status REMOVED (Locations module,
8.1 Flow and Lifecycle).

- Reads: `visible_to` (the one filter of "who may see what", used by the Sender API and the
  push engine), `audiences`, `may_see`.
- Writes: `location_set_sharing` (the Location's page), `locations_share_with_all`,
  `locations_share_with`, `locations_share_only_with`, `locations_withdraw_from` (bulk, the
  Location list). Like every change of a Location they lock its row first and stamp its
  `last_updated` (`locations.services`): a partner that may see it from now on finds it in its
  next `date_from` crawl. They record the change (`locations.changes`) with the partners
  that gained the Location and those that lost it; the push engine PUTs it to the first and
  retires it at the second, through the outbox like any change.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from partners.models import Partner

from .changes import Change, Level, Method, record_changes
from .locking import lock_locations as _lock_locations
from .locking import stamp as _stamp
from .models import Location, LocationShare

# A Location's sharing: None = all partners, else the ids of the partners chosen.
Sharing = frozenset[int] | None

# --- Reads -----------------------------------------------------------------------------------


def visible_to(partner_id: int, path: str = "") -> Q:
    """Filter on the Locations `partner_id` may see; `path` leads from the queried model to
    the Location ("location__" from an EVSE, "evse__location__" from a Connector).

    A column test or membership in the partner's shares (read from the (partner, location)
    unique index): no join that could multiply rows, and no query more. An uncorrelated
    `IN (subquery)` rather than a correlated EXISTS: PostgreSQL hashes the partner's shares
    once either way, but costs the EXISTS per row, so that a deep list page's estimate
    passed `jit_above_cost` and each such page paid for JIT compiling (docs/benchmarks.md,
    "Locations API with roaming agreements").
    """
    shares = LocationShare.objects.filter(partner_id=partner_id).values("location_id")
    return Q(**{f"{path}shared_with_all": True}) | Q(**{f"{path}pk__in": shares})


def may_see(location_id: int, partner_id: int) -> bool:
    return Location.objects.filter(visible_to(partner_id), pk=location_id).exists()


def audiences(location_ids: Iterable[int], partner_ids: Iterable[int]) -> dict[int, set[int]]:
    """Which of `partner_ids` may see each of these Locations (one query)."""
    partners = set(partner_ids)
    ids = list(location_ids)
    out = {location_id: set(partners) for location_id in ids}
    restricted = Location.objects.filter(pk__in=ids, shared_with_all=False).values_list(
        "pk", "shares__partner_id"
    )
    seen: set[int] = set()
    for location_id, partner_id in restricted:
        if location_id not in seen:
            seen.add(location_id)
            out[location_id] = set()
        if partner_id in partners:
            out[location_id].add(partner_id)
    return out


def sharing_of(location_ids: Iterable[int]) -> dict[int, Sharing]:
    """The stored sharing of these Locations (two queries)."""
    ids = list(location_ids)
    out: dict[int, Sharing] = {}
    restricted: dict[int, set[int]] = {}
    for pk, shared_with_all in Location.objects.filter(pk__in=ids).values_list(
        "pk", "shared_with_all"
    ):
        if shared_with_all:
            out[pk] = None
        else:
            restricted[pk] = set()
    for location_id, partner_id in LocationShare.objects.filter(
        location_id__in=list(restricted)
    ).values_list("location_id", "partner_id"):
        restricted[location_id].add(partner_id)
    out.update((pk, frozenset(partners)) for pk, partners in restricted.items())
    return out


# --- Writes ----------------------------------------------------------------------------------


def _partner_ids(partners: Iterable[Any]) -> frozenset[int]:
    ids = frozenset(p if isinstance(p, int) else p.pk for p in partners)
    known = set(Partner.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if unknown := ids - known:
        raise ValidationError(f"No such partner: {', '.join(map(str, sorted(unknown)))}.")
    return ids


@transaction.atomic
def _apply(
    locations: Iterable[Location | int], decide: Callable[[Sharing, frozenset[int]], Sharing]
) -> int:
    """Set the sharing of these Locations to `decide(current, every partner id)`; returns how
    many changed. A few statements whatever the number of Locations."""
    ids = sorted({loc if isinstance(loc, int) else loc.pk for loc in locations})
    locked = _lock_locations(ids)  # first, like every change of a Location
    if unknown := set(ids) - set(locked):
        raise ValidationError(f"No such Location: {', '.join(map(str, sorted(unknown)))}.")
    every = frozenset(Partner.objects.values_list("pk", flat=True))
    current = sharing_of(ids)
    changed: dict[int, Sharing] = {}
    changes: list[Change] = []
    stamped: list[Location] = []
    for pk in ids:
        before, after = current[pk], decide(current[pk], every)
        if after == before:
            continue
        changed[pk] = after
        saw = every if before is None else before & every
        sees = every if after is None else after & every
        gained, lost = sees - saw, saw - sees
        if not gained and not lost:
            continue  # e.g. all partners → each of them chosen: nobody sees a difference
        now = _stamp(locked, pk)
        stamped.append(Location(pk=pk, last_updated=now))
        changes.append(
            Change(
                level=Level.LOCATION,
                method=Method.PUT,
                location_row_id=pk,
                last_updated=now,
                shared_with=tuple(sorted(gained)),
                withdrawn_from=tuple(sorted(lost)),
            )
        )
    if not changed:
        return 0
    to_all = [pk for pk, after in changed.items() if after is None]
    chosen = {pk: after for pk, after in changed.items() if after is not None}
    Location.objects.filter(pk__in=to_all).update(shared_with_all=True)
    Location.objects.filter(pk__in=list(chosen)).update(shared_with_all=False)
    LocationShare.objects.filter(location_id__in=list(changed)).delete()
    LocationShare.objects.bulk_create(
        [
            LocationShare(location_id=pk, partner_id=partner_id)
            for pk, after in chosen.items()
            for partner_id in sorted(after)
        ],
        batch_size=2000,
    )
    Location.objects.bulk_update(stamped, ["last_updated"], batch_size=500)
    record_changes(changes)
    return len(changed)


def location_set_sharing(
    *, location: Location | int, all_partners: bool, partners: Iterable[Any] = ()
) -> bool:
    """The Location page: all partners, or exactly these (none: nobody). True if it changed."""
    if all_partners:
        return locations_share_with_all(locations=[location]) == 1
    return locations_share_only_with(locations=[location], partners=partners) == 1


def locations_share_with_all(*, locations: Iterable[Location | int]) -> int:
    return _apply(locations, lambda current, every: None)


def locations_share_only_with(*, locations: Iterable[Location | int], partners: Iterable) -> int:
    ids = _partner_ids(partners)
    return _apply(locations, lambda current, every: ids)


def locations_share_with(*, locations: Iterable[Location | int], partners: Iterable) -> int:
    """Add partners to the chosen ones (a Location shared with all stays so)."""
    ids = _partner_ids(partners)
    return _apply(locations, lambda current, every: None if current is None else current | ids)


def locations_withdraw_from(*, locations: Iterable[Location | int], partners: Iterable) -> int:
    """Stop sharing with these partners. A Location shared with all is then shared with
    every other partner known now (partners that register later will not see it)."""
    ids = _partner_ids(partners)
    return _apply(locations, lambda current, every: (every if current is None else current) - ids)
