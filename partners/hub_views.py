"""Our HubClientInfo Receiver endpoint: /ocpi/cpo/2.2.1/hubclientinfo/{country_code}/{party_id}
(OCPI 2.2.1, HubClientInfo module, Receiver Interface: GET and PUT)."""

import re

from rest_framework.exceptions import PermissionDenied
from rest_framework.views import APIView

from versions.auth import IsRegisteredPartner
from versions.datetimes import format_ocpi_datetime
from versions.envelope import OcpiResponse
from versions.errors import InvalidBody, ObjectNotFound
from versions.parsers import OcpiJSONParser

from .hubs import ClientInfoSerializer, client_info_get, client_info_put, is_hub
from .models import HubClientInfo
from .openapi import hub_client_info_schema

# The module's URL, published in our version details; the hub calls
# {url}/{country_code}/{party_id} (OCPI 2.2.1, HubClientInfo module, Receiver Interface).
HUBCLIENTINFO_PATH = "ocpi/cpo/2.2.1/hubclientinfo"

_COUNTRY_CODE = re.compile(r"^[A-Za-z]{2}$")
_PARTY_ID = re.compile(r"^[A-Za-z0-9]{3}$")


def client_info_data(info: HubClientInfo) -> dict:
    return {
        "party_id": info.party_id,
        "country_code": info.country_code,
        "role": info.role,
        "status": info.status,
        "last_updated": format_ocpi_datetime(info.last_updated),
    }


class IsHub(IsRegisteredPartner):
    """Token C of a registered partner with role HUB: the hub owns ClientInfo objects."""

    message = "Only a hub (role HUB) pushes ClientInfo"

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if not is_hub(request.auth.partner):
            raise PermissionDenied(self.message)  # 401, as for any token not valid here
        return True


@hub_client_info_schema
class HubClientInfoView(APIView):
    """GET: the ClientInfo we hold (404 when we hold none). PUT: store the hub's ClientInfo;
    201 when new, 200 when updated (OCPI 2.2.1, Transport and format, HTTP status codes for
    a pushed object)."""

    permission_classes = [IsHub]
    parser_classes = [OcpiJSONParser]

    def get(self, request, country_code, party_id):
        info = None
        if _COUNTRY_CODE.match(country_code) and _PARTY_ID.match(party_id):
            info = client_info_get(request.auth.partner, country_code, party_id)
        if info is None:
            raise ObjectNotFound(f"No ClientInfo for {country_code[:2]}*{party_id[:3]}")
        return OcpiResponse(client_info_data(info))

    def put(self, request, country_code, party_id):
        if not isinstance(request.data, dict):
            raise InvalidBody("A ClientInfo object (JSON object) is required")
        serializer = ClientInfoSerializer(data=request.data)
        if not serializer.is_valid():
            raise InvalidBody("Invalid ClientInfo object", data=serializer.errors)
        data = serializer.validated_data
        in_url = (country_code.upper(), party_id.upper())
        in_body = (data["country_code"].upper(), data["party_id"].upper())
        if in_url != in_body:
            # OCPI 2.2.1, Transport and format, Client Owned Object Push: an object id in
            # the URL that differs from the one in the body is answered 2001.
            raise InvalidBody(
                f"The URL names {in_url[0]}*{in_url[1]}, the body {in_body[0]}*{in_body[1]}"
            )
        info, created = client_info_put(partner=request.auth.partner, data=data)
        return OcpiResponse(client_info_data(info), http_status=201 if created else 200)
