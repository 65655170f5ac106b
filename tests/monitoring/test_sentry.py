"""Sentry: loaded only when SENTRY_DSN is set; never sends a token."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitoring.sentry import scrub

ROOT = Path(__file__).resolve().parents[2]


def _loaded_modules(**env: str) -> str:
    code = (
        "import sys, django; django.setup(); "
        "print('sentry_sdk' in sys.modules, 'prometheus_client' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ocpi_site.test_settings",
            "OCPI_ENV_FILE": "/nonexistent",
            "SENTRY_DSN": "",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_sentry_is_not_even_imported_without_a_dsn():
    assert _loaded_modules() == "False False"


def test_sentry_is_set_up_when_a_dsn_is_set():
    # A DSN of a host that is never contacted: nothing is reported during set-up.
    assert _loaded_modules(SENTRY_DSN="https://public@sentry.invalid/1") == "True False"


def test_an_event_loses_the_authorization_header_cookies_and_body():
    event = {
        "request": {
            "url": "https://cpo.example.com/ocpi/cpo/2.2.1/locations",
            "headers": {
                "Authorization": "Token c2VjcmV0LXBhcnRuZXItdG9rZW4=",
                "Cookie": "sessionid=abc",
                "X-Request-ID": "req-1",
            },
            "cookies": {"sessionid": "abc"},
            "data": '{"token": "secret"}',
        }
    }

    assert scrub(event) == {
        "request": {
            "url": "https://cpo.example.com/ocpi/cpo/2.2.1/locations",
            "headers": {
                "Authorization": "[Filtered]",
                "Cookie": "[Filtered]",
                "X-Request-ID": "req-1",
            },
            "cookies": "[Filtered]",
            "data": "[Filtered]",
        }
    }


@pytest.fixture
def sentry_events():
    """Sentry set up as SENTRY_DSN does, sending into a list instead of the network."""
    import sentry_sdk
    from sentry_sdk.transport import Transport

    from monitoring.sentry import init_sentry

    sent: list[dict] = []

    class Capture(Transport):
        def capture_envelope(self, envelope):
            sent.extend(item.payload.json for item in envelope.items if item.payload.json)

    init_sentry(
        "https://public@sentry.invalid/1", environment="test", release="0", transport=Capture
    )
    yield sent
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # an inactive client again


@pytest.mark.urls("tests.monitoring.failing_urls")
def test_an_error_in_a_request_with_a_partner_token_reaches_sentry_without_the_token(
    db, sentry_events
):
    import sentry_sdk
    from django.test import Client

    response = Client(raise_request_exception=False).get(
        "/ocpi/fails", headers={"Authorization": f"Token {TOKEN}", "Cookie": "sessionid=abc"}
    )
    sentry_sdk.flush()

    assert response.status_code == 500
    [event] = [e for e in sentry_events if e.get("exception")]
    assert event["exception"]["values"][0]["value"] == "the view failed"
    # sentry-sdk 2.75 leaves the headers out by itself; `scrub` filters them if it did not.
    headers = event["request"].get("headers", {})
    assert headers.get("Authorization", "[Filtered]") == "[Filtered]"
    assert TOKEN not in repr(sentry_events)
    assert "abc" not in repr(event["request"])


TOKEN = "c2VjcmV0LXBhcnRuZXItdG9rZW4="
