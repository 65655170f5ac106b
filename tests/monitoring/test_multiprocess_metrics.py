"""Request metrics of several gunicorn processes, summed (PROMETHEUS_MULTIPROC_DIR)."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.databases import shared_database_url

pytestmark = pytest.mark.slow

TOKEN = "scraper-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def test_every_gunicorn_process_counts_into_one_scrape(transactional_db, tmp_path):
    port, metrics_dir = _free_port(), tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ocpi_site.test_settings",
        "DATABASE_URL": shared_database_url(),
        "OCPI_VAR_DIR": str(tmp_path),
        "OCPI_ENV_FILE": "/nonexistent",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    web = subprocess.Popen(
        [gunicorn, "ocpi_site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "3"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while _get(f"{base}/healthz?scope=web")[0] != 200:  # not an OCPI request: not counted
            assert time.monotonic() < deadline, "gunicorn did not answer"
            time.sleep(0.2)
        for _ in range(30):  # spread over the 3 processes by the kernel
            assert _get(f"{base}/ocpi/versions")[0] == 401
        # Every process wrote its own file of values.
        assert len(list(metrics_dir.glob("*.db"))) >= 2

        counts = set()
        for _ in range(6):  # whichever process answers the scrape, it sums them all
            status, text = _get(f"{base}/metrics", Authorization=f"Bearer {TOKEN}")
            assert status == 200
            counts.add(
                next(
                    s.value
                    for family in text_string_to_metric_families(text)
                    for s in family.samples
                    if s.name == "ocpi_http_requests_total"
                    and s.labels
                    == {
                        "module": "versions",
                        "route": "ocpi-versions",
                        "method": "GET",
                        "status": "401",
                    }
                )
            )
        assert counts == {30.0}
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
