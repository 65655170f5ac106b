"""A production-like environment in a temporary directory, for the deployment tests:
real `manage.py` and gunicorn processes with DEBUG off, as docs/deploy.md runs them."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent

# Variables of the test run that must not leak into the "production" processes.
_DROP = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}


def production_env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP and not k.startswith("OCPI_")}
    env.update(
        DJANGO_SETTINGS_MODULE="ocpi_site.settings",
        OCPI_ENV_FILE="",  # only what is given here counts
        OCPI_VAR_DIR=str(var_dir),
        DEBUG="false",
        SECRET_KEY="x9!k2-production-like-secret-key-with-enough-length-and-variety-7Hq",
        ALLOWED_HOSTS="127.0.0.1,cpo.example.com",
        OCPI_BASE_URL="https://cpo.example.com",
        SECURE_PROXY_SSL_HEADER="true",
    )
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str]):
    """The web process as the Procfile and deploy/ocpi-web.service start it; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "ocpi_site.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", "1", "--worker-class", "gthread", "--threads", "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/api/version", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise RuntimeError(process.communicate()[1].decode()[-2000:]) from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        process.stderr.close()
