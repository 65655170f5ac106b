import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ocpi_site.celery import app as celery_app
from tests.ocpi_partner_server import FakeEmsp
from versions import connections as outbound

EXTRAWEST = Path(__file__).parent / "extrawest"
EXTRAWEST_REQUIREMENTS = EXTRAWEST / "requirements.txt"
EXTRAWEST_VENV = Path(__file__).resolve().parents[2] / "var" / "test-extrawest-venv"


@pytest.fixture
def our_server(live_server, settings):
    """Our Django app as a real HTTP server; the URLs we publish point at it."""
    settings.OCPI_BASE_URL = live_server.url
    settings.OCPI_COUNTRY_CODE = "NL"
    settings.OCPI_PARTY_ID = "EXA"
    settings.OCPI_BUSINESS_NAME = "Example CPO"
    settings.OCPI_BUSINESS_WEBSITE = "https://cpo.example.com"
    return live_server


@pytest.fixture
def emsp():
    with FakeEmsp() as partner:
        yield partner


@pytest.fixture
def eager_pushes(settings):
    """Pushes run in the process, when their change commits (as in tests/pushers)."""
    settings.PUSH_LANE_QUIET = 0
    settings.OCPI_HTTP_CONNECT_TIMEOUT = settings.OCPI_HTTP_READ_TIMEOUT = 2
    conf = celery_app.conf
    old = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    outbound._client = None
    yield
    conf.task_always_eager, conf.task_eager_propagates = old
    outbound._client = None


OUR_ROLES = [
    {
        "role": "CPO",
        "party_id": "EXA",
        "country_code": "NL",
        "business_details": {"name": "Example CPO", "website": "https://cpo.example.com"},
    }
]


# --- extrawest-ocpi: an independent OCPI implementation, run as a real server ---------------


def extrawest_python() -> Path:
    """The interpreter of a virtualenv holding extrawest-ocpi, created once from PyPI.

    Its own virtualenv: it pins httpx 0.24 and pydantic 1, which clash with ours.
    """
    python = EXTRAWEST_VENV / "bin" / "python"
    stamp = EXTRAWEST_VENV / "requirements.sha256"
    wanted = hashlib.sha256(EXTRAWEST_REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(EXTRAWEST_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(EXTRAWEST_REQUIREMENTS)],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.fail(f"could not install extrawest-ocpi: {done.stderr[-2000:]}")
    stamp.write_text(wanted)
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def extrawest_emsp_server(python: Path, token_a: str):
    """The extrawest eMSP (extrawest/emsp_app.py) on 127.0.0.1, accepting `token_a`.

    It accepts `token_a` as a token A (on its versions, version details and credentials
    endpoints) until someone registers with it by that token.
    """
    port = free_port()
    # In an empty directory: py_ocpi's settings (pydantic) read a `.env` in the working
    # directory, and the checkout's (from `make run`) is not for them.
    workdir = tempfile.mkdtemp(prefix="extrawest-")
    process = subprocess.Popen(
        [str(python), str(EXTRAWEST / "emsp_app.py"), str(port), token_a],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/ocpi/versions", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode(errors="replace")[-2000:]
                    pytest.fail(f"the extrawest eMSP did not start: {output}")
                time.sleep(0.2)
        yield {"base": base, "versions_url": f"{base}/ocpi/versions", "token_a": token_a}
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
        shutil.rmtree(workdir, ignore_errors=True)


def extrawest_as_we_store_it(base: str) -> dict:
    """What we keep about the extrawest eMSP at `base` once registered, whichever side
    started the registration: its endpoints and its roles (emsp_app.py)."""
    return {
        "endpoints": [
            ("credentials", "SENDER", f"{base}/ocpi/emsp/2.2.1/credentials/"),
            ("locations", "RECEIVER", f"{base}/ocpi/emsp/2.2.1/locations/"),
        ],
        "roles": [
            {
                "role": "EMSP",
                "country_code": "UA",
                "party_id": "XWE",
                "business_details": {"name": "Extrawest eMSP"},
            }
        ],
    }


def stored_endpoints_and_roles(partner) -> dict:
    return {
        "endpoints": sorted(partner.endpoints.values_list("identifier", "role", "url")),
        "roles": list(partner.roles.values("role", "country_code", "party_id", "business_details")),
    }


@pytest.fixture(scope="session")
def extrawest_interpreter():
    return extrawest_python()


@pytest.fixture
def extrawest_emsp(extrawest_interpreter):
    """The extrawest eMSP with a token A of its own, for us to register with it."""
    with extrawest_emsp_server(
        extrawest_interpreter, "xw-token-a-" + os.urandom(6).hex()
    ) as server:
        yield server
