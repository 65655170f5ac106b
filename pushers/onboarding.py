"""Onboarding: a partner that registers with a Locations Receiver endpoint gets every
Location at once, by a full sync queued when the registration commits.

OCPI 2.2.1, Locations module, Interfaces and endpoints: the Sender interface is for "when
the connection between two parties is established for the first time", to retrieve the
current Locations; a partner that only receives pushes would otherwise hold nothing until
a Location changes, and then get a PATCH for an object it lacks. Per partner
(`Partner.initial_full_sync`, on by default): some partners prefer to pull.
"""

import logging

from partners.models import Partner

from .models import FullSync
from .operations import full_sync_request
from .progress import syncs_progress

logger = logging.getLogger(__name__)

REQUESTED_BY = "registration"


def on_partner_registered(sender, partner: Partner, **kwargs) -> None:
    partner = Partner.objects.get(pk=partner.pk)  # the committed row, switches included
    if not partner.initial_full_sync:
        logger.info("Partner %s registered; initial full sync is switched off", partner.name)
        return
    # Queued for the workers: this runs right after the registration's commit, still in the
    # partner's credentials request.
    sync = full_sync_request(partner_id=partner.pk, requested_by=REQUESTED_BY)
    if sync is None:
        logger.info("Partner %s registered without a Locations Receiver: it pulls", partner.name)
        return
    logger.info(
        "Partner %s registered: full sync #%s of %d Locations queued",
        partner.name,
        sync.pk,
        sync.total,
    )


def latest_full_sync_line(partner: Partner) -> str:
    """The partner page's line on its latest full sync: who asked, when, how far it is."""
    sync = FullSync.objects.filter(partner=partner).first()  # ordered newest first
    if sync is None:
        if not partner.initial_full_sync:
            return "No full sync yet (initial full sync switched off: the partner pulls)"
        return "No full sync yet"
    progress = syncs_progress([sync])[sync.pk]
    state = "done" if progress.settled >= progress.total else "in progress"
    who = f" by {sync.requested_by}" if sync.requested_by else ""
    return (
        f"Full sync #{sync.pk}{who}, {sync.created_at:%Y-%m-%d %H:%M} UTC: "
        f"{progress.text} ({state})"
    )
