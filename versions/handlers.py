"""Django's 400/404/500 handlers: OCPI envelope under /ocpi/, Django's pages elsewhere."""

from django.views import defaults

from .envelope import OcpiResponse
from .status import OcpiStatus


def _is_ocpi(request) -> bool:
    return request.path_info.startswith("/ocpi/")


def ocpi_aware_400(request, exception):
    """A request Django refuses before any view (e.g. a Host not in ALLOWED_HOSTS)."""
    if _is_ocpi(request):
        return OcpiResponse(
            status_code=OcpiStatus.CLIENT_ERROR, status_message="Bad request", http_status=400
        )
    return defaults.bad_request(request, exception)


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
