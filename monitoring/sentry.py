"""Error reporting to Sentry when SENTRY_DSN is set (settings.py imports this only then;
the dependency is the optional `sentry` extra).

Never sent: request headers that carry credentials (our partners' tokens arrive in
`Authorization`), cookies, request bodies, local variables of stack frames (the outbound
client holds the partner's token in one).
"""

from typing import Any

_SECRET_HEADERS = {"authorization", "cookie", "x-csrftoken", "proxy-authorization"}


def scrub(event: Any, hint: Any = None) -> Any:
    request = event.get("request") or {}
    headers = request.get("headers")
    if isinstance(headers, dict):
        request["headers"] = {
            k: ("[Filtered]" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()
        }
    for key in ("cookies", "data"):
        if key in request:
            request[key] = "[Filtered]"
    return event


def init_sentry(dsn: str, *, environment: str, release: str, **options: Any) -> None:
    try:
        import sentry_sdk
        from sentry_sdk.integrations.celery import CeleryIntegration
        from sentry_sdk.integrations.django import DjangoIntegration
    except ImportError:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "SENTRY_DSN is set but sentry-sdk is not installed: pip install '.[sentry]'"
        ) from None
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=f"ocpi-cpo@{release}",
        integrations=[DjangoIntegration(), CeleryIntegration()],
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub,
        **options,
    )
