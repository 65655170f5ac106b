from importlib.metadata import PackageNotFoundError, version

from django.http import JsonResponse
from rest_framework.views import APIView

from .auth import IsRegisteredOrRegisteringPartner
from .envelope import OcpiResponse
from .openapi import version_details_schema, version_list_schema
from .registry import OCPI_VERSION, SUPPORTED_VERSIONS, registered_endpoints
from .urls_util import public_reverse, public_url

PRODUCT_NAME = "OCPI CPO Server"


@version_list_schema
class VersionListView(APIView):
    """GET {versions_url}: the OCPI versions we speak (OCPI 2.2.1, Version information
    endpoint)."""

    permission_classes = [IsRegisteredOrRegisteringPartner]

    def get(self, request):
        return OcpiResponse(
            [
                {"version": v, "url": public_reverse("ocpi-version-details")}
                for v in SUPPORTED_VERSIONS
            ]
        )


@version_details_schema
class VersionDetailsView(APIView):
    """GET {version_url}: the endpoints of the modules installed right now."""

    permission_classes = [IsRegisteredOrRegisteringPartner]

    def get(self, request):
        endpoints = [
            {
                "identifier": e.identifier,
                "role": e.role,
                "url": public_url(e.path) if e.path else public_reverse(e.url_name),
            }
            for e in registered_endpoints()
        ]
        return OcpiResponse({"version": OCPI_VERSION, "endpoints": endpoints})


def package_version() -> str:
    try:
        return version("ocpi-cpo")
    except PackageNotFoundError:  # running from a checkout that was not pip-installed
        return "0.0.0+unknown"


def server_version(request):
    """GET /api/version: our product name, server version and OCPI versions, without
    secrets."""
    server = package_version()
    return JsonResponse(
        {"server": server, "text": f"{PRODUCT_NAME} {server}", "ocpi": list(SUPPORTED_VERSIONS)}
    )
