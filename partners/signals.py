"""What the partner lifecycle tells the apps above it (partners imports none of them)."""

from django.dispatch import Signal

# Sent inside the transaction that brings a suspended partner back (`partner_resume`), with
# `partner`: nothing was pushed to it while suspended, so the push engine syncs it again.
partner_resumed = Signal()
