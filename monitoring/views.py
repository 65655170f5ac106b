import hmac
import ipaddress

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse

from . import health, heartbeats
from .prometheus import exposition


def healthz(request):
    """200 when everything answers, else 503 naming what failed (docs/operations.md).

    `?scope=web` checks only what the web process needs to answer OCPI (database and
    migrations): for a load balancer, which should not take every web machine out because
    a worker died.
    """
    checks: dict[str, str | None] = {"database": health.database()}
    rows = None
    if checks["database"] is None:
        checks["migrations"] = health.migrations()
    else:
        checks["migrations"] = "database unavailable"
    if request.GET.get("scope") != "web":
        checks["broker"] = health.broker()
        if checks["database"] is None:
            rows = heartbeats.liveness()
            checks["workers"] = health.workers(rows)
            checks["beat"] = health.beat(rows)
        else:
            checks["workers"] = checks["beat"] = "database unavailable"
    failed = any(checks.values())
    body: dict = {"status": "unavailable" if failed else "ok"}
    body.update({name: f"failed: {error}" if error else "ok" for name, error in checks.items()})
    if rows is not None:
        body["processes"] = [
            {
                "kind": r.kind,
                "name": r.name,
                "queues": r.queues,
                "seen_seconds_ago": r.age,
                "alive": r.alive,
            }
            for r in rows
        ]
    return JsonResponse(body, status=503 if failed else 200)


def _allowed(request) -> bool:
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS
    if not token and not networks:
        return False
    if token:
        sent = request.META.get("HTTP_AUTHORIZATION", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return False
    if networks:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        if not any(address in ipaddress.ip_network(n, strict=False) for n in networks):
            return False
    return True


def metrics(request):
    """Prometheus metrics. 404 unless METRICS_TOKEN or METRICS_ALLOWED_IPS is set; 403 to a
    client that does not match them."""
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_IPS:
        raise Http404("metrics are off")
    if not _allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(exposition(), content_type="text/plain; version=0.0.4; charset=utf-8")
