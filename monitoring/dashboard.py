"""The dashboard on the admin index: what an operator checks first (docs/admin.md,
"Dashboard"). Read-only selectors, one per panel, each a constant number of queries whatever
the number of Locations, EVSEs, Deliveries or history records (asserted in
tests/monitoring/test_dashboard.py).

A panel is a `Provider` in `PROVIDERS`: its title, its template (which gets `panel` and
`data`, what the provider's function returned), the permissions a user needs to see it (the
view permissions of what it links to) and the function. Adding a panel is one line there.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count
from django.urls import reverse
from django.utils.module_loading import import_string

from audit.history import Entry, recent_entries
from locations.enums import Status
from locations.models import EVSE, Location
from partners.models import Partner
from pushers.health import SEVERITY, PartnerPush, partners_push

RECENT_CHANGES = 10


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int
    url: str


@dataclass(frozen=True)
class EvseStatuses:
    locations: int
    evses: int  # not counting removed ones
    statuses: list[StatusCount]  # every status, REMOVED last
    locations_url: str
    evses_url: str


def evse_statuses() -> EvseStatuses:
    """EVSEs per status, each count linking to the EVSE list filtered by it (two queries:
    the count per status from the status index, the Locations from the primary key's)."""
    counts = dict(EVSE.objects.values_list("status").annotate(n=Count("*")).order_by())
    evses_url = reverse("admin:locations_evse_changelist")
    order = [s for s in Status if s != Status.REMOVED] + [Status.REMOVED]
    statuses = [
        StatusCount(
            status=status.value,
            label=str(status.label),
            count=counts.get(status.value, 0),
            url=f"{evses_url}?{urlencode({'status__exact': status.value})}",
        )
        for status in order
    ]
    return EvseStatuses(
        locations=Location.objects.count(),
        evses=sum(n for s, n in counts.items() if s != Status.REMOVED),
        statuses=statuses,
        locations_url=reverse("admin:locations_location_changelist"),
        evses_url=evses_url,
    )


@dataclass(frozen=True)
class PushPanel:
    partners: list[PartnerPush]  # worst health first
    states_url: str


def push_health() -> PushPanel:
    """Every partner that is not unregistered, with its push health (`pushers.health`: the
    rule the admin's Partner push states shows too), worst first."""
    pushes = partners_push(Partner.objects.exclude(state=Partner.State.UNREGISTERED))
    pushes.sort(key=lambda push: (SEVERITY.index(push.health.kind), push.partner.name))
    return PushPanel(pushes, reverse("admin:pushers_partnerpushstate_changelist"))


@dataclass(frozen=True)
class RecentChange:
    entry: Entry
    url: str


def recent_changes() -> list[RecentChange]:
    """The newest changes of Locations, EVSEs and Connectors from the audit trail, each
    linking to its object's page (a deleted Connector: its EVSE's)."""
    changes = []
    for entry in recent_entries(RECENT_CHANGES):
        assert entry.model is not None
        name, pk = entry.model._meta.model_name, entry.pk
        if name == "connector" and entry.action == "deleted":
            name, pk = "evse", entry.evse_pk
        changes.append(RecentChange(entry, reverse(f"admin:locations_{name}_change", args=[pk])))
    return changes


@dataclass(frozen=True)
class Provider:
    title: str
    template: str
    permissions: tuple[str, ...]  # to see the panel: the view permissions of what it links to
    build: Callable[[], Any] | str  # the function, or its dotted path


@dataclass(frozen=True)
class Panel:
    title: str
    template: str
    data: Any


PROVIDERS: list[Provider] = [
    Provider(
        "EVSE statuses",
        "admin/dashboard/evse_status_panel.html",
        ("locations.view_location", "locations.view_evse"),
        evse_statuses,
    ),
    Provider(
        "Push to partners",
        "admin/dashboard/push_panel.html",
        ("pushers.view_partnerpushstate", "pushers.view_delivery"),
        push_health,
    ),
    Provider(
        "Data quality",
        "admin/dashboard/quality_panel.html",
        ("locations.view_location",),
        "locations.quality_store.quality_overview",
    ),
    Provider(
        "Recent changes",
        "admin/dashboard/recent_changes_panel.html",
        ("locations.view_location", "locations.view_evse", "locations.view_connector"),
        recent_changes,
    ),
]


def panels(user, providers: list[Provider] | None = None) -> list[Panel]:
    """The panels `user` may see, built (no query for a panel the user may not see)."""
    shown = []
    for provider in PROVIDERS if providers is None else providers:
        if not user.has_perms(provider.permissions):
            continue
        build = import_string(provider.build) if isinstance(provider.build, str) else provider.build
        shown.append(Panel(provider.title, provider.template, build()))
    return shown
