"""What the partner app tells the apps above it (which it must not import)."""

from django.dispatch import Signal

# A partner completed a credentials registration, in either direction (they POSTed to our
# credentials endpoint, or we POSTed to theirs). Sent after the commit; argument: partner.
partner_registered = Signal()


def send_partner_registered_after_commit(partner) -> None:
    from django.db import transaction

    transaction.on_commit(
        lambda: partner_registered.send(sender=type(partner), partner=partner), robust=True
    )
