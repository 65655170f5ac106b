"""The HubClientInfo module, our Receiver interface: a hub tells us which parties are
reachable through it (OCPI 2.2.1, HubClientInfo module: Receiver Interface, ClientInfo
object). A Configuration Module: no routing headers, only between a hub and us.

The stored ClientInfo objects decide which OCPI-from parties a hub may forward requests for
(`models.hub_forwards_for`, used by the routing check of functional modules).
"""

import logging

from django.db import transaction
from rest_framework import serializers

from versions.datetimes import parse_ocpi_datetime

from .models import ConnectionStatus, HubClientInfo, Partner, Role

logger = logging.getLogger(__name__)


class ClientInfoSerializer(serializers.Serializer):
    """ClientInfo object: party_id CiString(3), country_code CiString(2), role, status,
    last_updated (all required)."""

    party_id = serializers.RegexField(r"^[A-Za-z0-9]{3}$", max_length=3)
    country_code = serializers.RegexField(r"^[A-Za-z]{2}$", max_length=2)
    role = serializers.ChoiceField(choices=Role.values)
    status = serializers.ChoiceField(choices=ConnectionStatus.values)
    last_updated = serializers.CharField(max_length=27)

    def validate_last_updated(self, value):
        try:
            return parse_ocpi_datetime(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


def is_hub(partner: Partner) -> bool:
    return partner.roles.filter(role=Role.HUB).exists()


def client_info_get(partner: Partner, country_code: str, party_id: str) -> HubClientInfo | None:
    return HubClientInfo.objects.filter(
        partner=partner, country_code__iexact=country_code, party_id__iexact=party_id
    ).first()


@transaction.atomic
def client_info_put(*, partner: Partner, data: dict) -> tuple[HubClientInfo, bool]:
    """Store a ClientInfo the hub pushed; (object, created).

    A ClientInfo older than the one we hold (by its last_updated) is ignored: pushes may
    arrive out of order, and the newest word of the hub counts.
    """
    Partner.objects.select_for_update().get(pk=partner.pk)  # one writer per hub
    existing = client_info_get(partner, data["country_code"], data["party_id"])
    if existing is not None and existing.last_updated > data["last_updated"]:
        return existing, False
    values = {
        "country_code": data["country_code"].upper(),
        "party_id": data["party_id"].upper(),
        "role": data["role"],
        "status": data["status"],
        "last_updated": data["last_updated"],
    }
    if existing is None:
        info = HubClientInfo.objects.create(partner=partner, **values)
        created = True
    else:
        for name, value in values.items():
            setattr(existing, name, value)
        existing.save()
        info, created = existing, False
    logger.info(
        "Hub %s: party %s*%s (%s) is %s",
        partner.name,
        info.country_code,
        info.party_id,
        info.role,
        info.status,
    )
    return info, created
