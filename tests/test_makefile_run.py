"""`make run` records the URL it serves on in `.env`, and installs only what running needs.

The Makefile runs in a scratch directory with stand-ins for the virtualenv's programs
(`manage.py` commands and honcho only report how they were called), so nothing is
installed or started.
"""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")

STAND_IN = """#!/bin/sh
echo "$(basename "$0") $* WEB_PORT=$WEB_PORT OCPI_BASE_URL=$OCPI_BASE_URL" >> calls.log
"""


@pytest.fixture
def checkout(tmp_path):
    for name in ("Makefile", "Procfile", "pyproject.toml", "constraints.txt"):
        shutil.copy2(ROOT / name, tmp_path / name)
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for program in ("python", "honcho"):
        (bin_dir / program).write_text(STAND_IN)
        (bin_dir / program).chmod(stat.S_IRWXU)
    (bin_dir / ".installed-run").touch()  # newer than pyproject.toml: nothing to install
    (tmp_path / ".env").write_text("DEBUG=true\nSECRET_KEY=kept-as-it-was\n")
    return tmp_path


def make(checkout: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"OCPI_BASE_URL", "PORT", "MAKEFLAGS"}}
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=checkout,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_run_records_the_port_in_env_for_every_command_of_the_checkout(checkout):
    result = make(checkout, "run", "PORT=8123")

    assert result.returncode == 0, result.stderr
    assert (checkout / ".env").read_text().splitlines() == [
        "DEBUG=true",
        "SECRET_KEY=kept-as-it-was",
        "OCPI_BASE_URL=http://127.0.0.1:8123",
    ]
    assert (checkout / "calls.log").read_text().splitlines()[-1] == (
        "honcho -f Procfile start WEB_PORT=8123 OCPI_BASE_URL=http://127.0.0.1:8123"
    )


def test_the_next_make_run_records_its_own_url_again(checkout):
    make(checkout, "run", "PORT=8123")

    make(checkout, "run")  # the default port
    default = (checkout / ".env").read_text().splitlines()
    make(checkout, "run", OCPI_BASE_URL="https://tunnel.example.org")
    tunnel = (checkout / ".env").read_text().splitlines()

    assert default[-1] == "OCPI_BASE_URL=http://127.0.0.1:8000"
    assert tunnel[-1] == "OCPI_BASE_URL=https://tunnel.example.org"
    assert len(tunnel) == 3  # replaced, not appended


def test_make_run_installs_without_the_development_extras_and_make_test_with_them(checkout):
    for stamp in (checkout / ".venv" / "bin").glob(".installed-*"):
        stamp.unlink()

    run_plan = make(checkout, "-n", "run").stdout
    test_plan = make(checkout, "-n", "test").stdout

    assert "pip install --quiet -c constraints.txt -e .\n" in run_plan
    assert "[dev]" not in run_plan
    assert "pip install --quiet -c constraints.txt -e '.[dev]'" in test_plan
