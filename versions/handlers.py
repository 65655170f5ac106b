"""Django's 404/500 handlers: OCPI envelope under /ocpi/, Django's pages elsewhere."""

from django.views import defaults

from .envelope import OcpiResponse
from .status import OcpiStatus


def _is_ocpi(request) -> bool:
    return request.path_info.startswith("/ocpi/")


def ocpi_aware_404(request, exception):
    if _is_ocpi(request):
        return OcpiResponse(
            status_code=OcpiStatus.CLIENT_ERROR, status_message="Unknown URL", http_status=404
        )
    return defaults.page_not_found(request, exception)


def ocpi_aware_500(request):
    if _is_ocpi(request):
        return OcpiResponse(
            status_code=OcpiStatus.SERVER_ERROR, status_message="Server error", http_status=500
        )
    return defaults.server_error(request)
