"""Who receives pushes, where, and with which headers.

A partner receives the pushes of our Locations when it is registered and has published a
Locations RECEIVER endpoint (OCPI 2.2.1, Locations module, "Receiver Interface"), and of
each Location only while it may see it (roaming agreements: `locations.sharing`,
`audiences`). `target` is the one builder of where and how one partner is called; the send
loop feeds it from its own SQL read (`lane_sql.read_lane`), `push_target` from the ORM.

Whether a partner may hold a Location (`may_hold`), so that withdrawing it retires it there,
is decided from rows: the lane's `partner_holds` (set when the partner took a message of the
Location, cleared when it took its retirement), or a Delivery of the lane that was sent
without an answer written down (it may have arrived).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from locations.sharing import audiences
from partners.models import Partner, PartnerEndpoint, PartnerRole
from partners.routing import addressee, routing_headers
from versions.registry import InterfaceRole, ModuleID

from .models import Delivery, Lane

__all__ = ["audiences", "may_hold", "push_partner_ids", "push_target", "target"]


@dataclass(frozen=True)
class Target:
    partner_id: int
    receiver_url: str
    token: str
    base64_token: bool
    routing: dict[str, str]


def target(
    *,
    partner: Partner,
    receiver_url: str | None,
    roles: Iterable[PartnerRole],
) -> Target | None:
    """Where and how to push to `partner`; None when it cannot receive pushes (not
    registered, or no Locations RECEIVER endpoint)."""
    if partner.state != Partner.State.REGISTERED or receiver_url is None:
        return None
    return Target(
        partner_id=partner.pk,
        receiver_url=receiver_url,
        token=partner.outgoing_token,
        base64_token=partner.outgoing_token_base64,
        routing=routing_headers(addressee(roles)),
    )


def _receivers():
    return PartnerEndpoint.objects.filter(
        identifier=ModuleID.LOCATIONS,
        role=InterfaceRole.RECEIVER,
        partner__state=Partner.State.REGISTERED,
    )


def push_partner_ids() -> list[int]:
    """Registered partners that have a Locations RECEIVER endpoint.

    Paused partners are included: their changes keep being coalesced, only sending waits.
    """
    return list(_receivers().order_by("partner_id").values_list("partner_id", flat=True).distinct())


def push_target(partner_id: int) -> Target | None:
    endpoint = _receivers().select_related("partner").filter(partner_id=partner_id).first()
    if endpoint is None:
        return None
    partner = endpoint.partner
    return target(partner=partner, receiver_url=endpoint.url, roles=partner.roles.all())


def may_hold(lanes: Q) -> set[int]:
    """Ids of the lanes (of those `lanes` selects) whose partner may hold the Location: it
    took a message of it and not its retirement since, or a message of it went without an
    answer written down (sending, or pending or expired after an unanswered attempt)."""
    attempted = Delivery.objects.filter(
        attempts__gt=0,
        status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING, Delivery.Status.EXPIRED],
    ).values("lane_id")
    return set(
        Lane.objects.filter(lanes)
        .filter(Q(partner_holds=True) | Q(pk__in=attempted))
        .values_list("pk", flat=True)
    )
