"""An operator ends the relation with a partner (OCPI 2.2.1, Credentials module, "DELETE"):
we tell the partner first, with a DELETE on its credentials endpoint and our current token
for it, so that it stops calling us too; then every token we issued for it is revoked, its
token for us is forgotten and pushes stop (`services.partner_unregister`).

The partner's answer does not decide: an operator who unregisters a partner that is down
or refuses still gets the partner unregistered on our side, and is told what the partner
said. The call runs in a handshake slot with the handshake deadline, like the others.
"""

from django.conf import settings

from versions.client import OcpiCallFailed, ocpi_request
from versions.registry import InterfaceRole, ModuleID

from .handshake_slots import HandshakesBusy, handshake_slot
from .models import Partner
from .services import partner_unregister


def partner_unregister_by_us(*, partner: Partner) -> str:
    """Unregister `partner`; returns what its credentials endpoint answered, for the operator.
    Raises services.NotAllowedInThisState when it is not registered or suspended."""
    if partner.state not in (Partner.State.REGISTERED, Partner.State.SUSPENDED):
        # The same refusal the service gives, before any call to the partner.
        partner_unregister(partner=partner)
    endpoint = partner.endpoints.filter(
        identifier=ModuleID.CREDENTIALS, role=InterfaceRole.SENDER
    ).first()
    if endpoint is None or not partner.outgoing_token:
        told = "not told: we know no credentials endpoint or token of theirs"
    else:
        try:
            with handshake_slot():
                result = ocpi_request(
                    "DELETE",
                    endpoint.url,
                    token=partner.outgoing_token,
                    base64_token=partner.outgoing_token_base64,
                    deadline=settings.OCPI_HANDSHAKE_DEADLINE,
                )
            told = f"DELETE {endpoint.url} answered {result.describe()}"
        except HandshakesBusy as exc:
            told = f"not told: {exc.detail}"
        except OcpiCallFailed as exc:
            told = f"DELETE {endpoint.url} failed: {exc.reason}"
    partner_unregister(partner=partner)
    return told
