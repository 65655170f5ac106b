"""Request latency per OCPI endpoint (`/metrics`)."""

import time

from .prometheus import REQUEST_SECONDS, REQUESTS

# The OCPI module of each app's views (labels stay few: a route is a URL name, never a path).
_MODULE_OF_APP = {"versions": "versions", "partners": "credentials", "locations": "locations"}


def _labels(request) -> tuple[str, str] | None:
    """(module, route) of an OCPI request, None for anything else (admin, docs, health)."""
    if not request.path.startswith("/ocpi/"):
        return None
    match = getattr(request, "resolver_match", None)
    if match is None or not match.url_name:
        return ("unknown", "unmatched")  # a 404: not the raw path, which anyone can vary
    app = match.func.__module__.split(".")[0]
    return (_MODULE_OF_APP.get(app, app), match.url_name)


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        labels = _labels(request)
        if labels is not None:
            method = request.method if request.method in _METHODS else "OTHER"
            REQUEST_SECONDS.labels(*labels, method).observe(time.perf_counter() - started)
            REQUESTS.labels(*labels, method, str(response.status_code)).inc()
        return response


_METHODS = {"GET", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "HEAD"}
