"""What the partner lifecycle tells the apps above it (partners imports none of them)."""

from django.dispatch import Signal

# Sent inside the transaction that brings a suspended partner back (`partner_resume`), with
# `partner`: nothing was pushed to it while suspended, so the push engine syncs it again.
partner_resumed = Signal()

# A partner completed a credentials registration, in either direction (they POSTed to our
# credentials endpoint, or we POSTed to theirs). Sent after the commit; argument: partner.
partner_registered = Signal()


def send_partner_registered_after_commit(partner) -> None:
    from django.db import transaction

    transaction.on_commit(
        lambda: partner_registered.send(sender=type(partner), partner=partner), robust=True
    )
