"""Data quality: what strict receivers, roaming hubs and national access points refuse.

Rules are grouped in profiles. Values the OCPI 2.2.1 specification forbids are errors;
values the specification allows but some receivers refuse (hub-required fields, the released
2.2.1 field lengths) and implausible values are warnings.

Read-only: nothing here writes. `location_issues` checks one Location (with its EVSEs and
Connectors prefetched it runs no query); `quality_summary` checks every Location in batches
with a constant number of queries per batch.
"""

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch

from . import enums
from .labels import location_label, object_label
from .models import EVSE, Connector, Location
from .quality_rules import ERROR, PROFILES, Issue, Level, Severity, rules_for

# --- per Location ---


def _objects(location: Location) -> Iterator[tuple[Level, str, Any]]:
    """The Location, its EVSEs and their Connectors with their labels, in page order.

    REMOVED EVSEs are left out: they are history, receivers only keep their status.
    """
    label = location_label(location)
    yield "location", label, location
    for evse in _children(location, "evses"):
        if evse.status == enums.Status.REMOVED:
            continue
        yield "evse", object_label(location, evse.uid), evse
        for connector in _children(evse, "connectors"):
            yield "connector", object_label(location, evse.uid, connector.id), connector


def _children(parent: Location | EVSE, name: str) -> Iterable[Any]:
    # The plain lists of `with_children` when there: `.all()` on a prefetched relation
    # still builds a QuerySet per call, which was half the time of a summary.
    prefetched = getattr(parent, f"quality_{name}", None)
    return prefetched if prefetched is not None else getattr(parent, name).all()


def location_issues(location: Location, *, profiles: Iterable[str] | None = None) -> list[Issue]:
    """Every finding of the Location, its EVSEs and Connectors (errors first).

    Prefetch `evses__connectors` (see `with_children`) to run no query.
    """
    rules = rules_for(profiles)
    issues = []
    for level, label, obj in _objects(location):
        for rule in rules:
            if level in rule.levels:
                message = rule.check(obj)
                if message is not None:
                    issues.append(Issue(label, rule.field, rule.id, rule.severity, message))
    issues.sort(key=lambda issue: issue.severity != ERROR)  # stable: page order kept
    return issues


# The columns the rules read (and the keys); the JSON columns no rule reads are not decoded.
EVSE_COLUMNS = (
    "row_id", "location_id", "uid", "evse_id", "status", "capabilities", "coordinates",
    "parking_restrictions",
)  # fmt: skip
CONNECTOR_COLUMNS = (
    "row_id", "evse_id", "id", "standard", "power_type", "max_voltage", "max_amperage",
    "max_electric_power", "tariff_ids",
)  # fmt: skip
LOCATION_COLUMNS = (
    "row_id", "country_code", "party_id", "id", "address", "state", "country", "coordinates",
    "operator", "owner", "opening_times", "energy_mix",
)  # fmt: skip


def with_children(queryset: Any) -> Any:
    """The Locations with the EVSEs and Connectors the rules need (2 queries per evaluation).

    They go to `quality_evses` / `quality_connectors` (lists of partial rows), so that the
    caller's own `evses` relation stays untouched.
    """
    connectors = Connector.objects.only(*CONNECTOR_COLUMNS).order_by("row_id")
    evses = (
        EVSE.objects.only(*EVSE_COLUMNS)
        .order_by("row_id")
        .prefetch_related(Prefetch("connectors", queryset=connectors, to_attr="quality_connectors"))
    )
    return queryset.prefetch_related(Prefetch("evses", queryset=evses, to_attr="quality_evses"))


# --- over all Locations ---

EXAMPLES_PER_RULE = 3


@dataclass
class RuleSummary:
    rule: str
    profile: str
    severity: Severity
    field: str
    source: str
    count: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)


@dataclass
class Summary:
    profiles: list[str]
    locations: int = 0
    locations_with_issues: int = 0
    errors: int = 0
    warnings: int = 0
    rules: list[RuleSummary] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "profiles": self.profiles,
            "locations": self.locations,
            "locations_with_issues": self.locations_with_issues,
            "errors": self.errors,
            "warnings": self.warnings,
            "rules": [vars(rule) for rule in self.rules],
        }


def locations_in_batches(batch_size: int = 500) -> Iterator[Sequence[Location]]:
    """Every Location with its children, `batch_size` at a time, in `row_id` order.

    Three queries per batch (Locations, EVSEs, Connectors), by keyset so that a late
    batch costs no more than the first.
    """
    last = 0
    while True:
        batch = list(
            with_children(
                Location.objects.only(*LOCATION_COLUMNS).filter(row_id__gt=last).order_by("row_id")
            )[:batch_size]
        )
        if not batch:
            return
        yield batch
        if len(batch) < batch_size:
            return
        last = batch[-1].row_id


BatchResults = list[tuple[Location, list[Issue]]]


def quality_summary(
    *,
    profiles: Iterable[str] | None = None,
    batch_size: int = 500,
    on_batch: Callable[[BatchResults], None] | None = None,
) -> Summary:
    """Counts per rule over every Location, with a few example objects per rule.

    `on_batch` gets each batch's Locations with their findings (`ocpi_quality --store`
    stores them: `locations.quality_store`).
    """
    rules = rules_for(profiles)
    selected = [key for key in PROFILES if any(rule.profile == key for rule in rules)]
    summary = Summary(profiles=[PROFILES[key] for key in selected])
    by_rule = {
        rule.id: RuleSummary(
            rule.id, PROFILES[rule.profile], rule.severity, rule.field, rule.source
        )
        for rule in rules
    }
    summary.rules = list(by_rule.values())
    keys = list(profiles) if profiles is not None else None
    for batch in locations_in_batches(batch_size):
        results: BatchResults = []
        for location in batch:
            summary.locations += 1
            issues = location_issues(location, profiles=keys)
            results.append((location, issues))
            if issues:
                summary.locations_with_issues += 1
            for issue in issues:
                entry = by_rule[issue.rule]
                entry.count += 1
                if len(entry.examples) < EXAMPLES_PER_RULE:
                    entry.examples.append(issue.object)
                if issue.severity == ERROR:
                    summary.errors += 1
                else:
                    summary.warnings += 1
        if on_batch is not None:
            on_batch(results)
    return summary
