"""A developer's `.env` (which `make run` writes) never changes a test run.

The proof runs tests in a copy of the checkout that has a hostile `.env`: the settings the
tests see, and the extrawest eMSP subprocess (whose settings library reads a `.env` in its
working directory), must not notice it.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.partners.conftest import extrawest_python

ROOT = Path(__file__).resolve().parent.parent

HOSTILE_ENV = """\
# what a developer's .env might hold, and worse
DATABASE_URL=postgres://nobody@127.0.0.1:1/nothing
CELERY_BROKER_URL=redis://127.0.0.1:1/0
OCPI_BUSINESS_NAME=From the developer's .env
OCPI_MAX_PAGE_SIZE=not-a-number
"""


def test_settings_under_test_do_not_read_the_checkouts_env():
    """Run directly it checks the defaults; the copy below runs it next to HOSTILE_ENV."""
    if os.environ.get("OCPI_TEST_HOSTILE_ENV") == "1":
        assert (settings.BASE_DIR / ".env").read_text() == HOSTILE_ENV  # really in the copy
    assert os.environ["OCPI_ENV_FILE"] == ""
    assert settings.OCPI_BUSINESS_NAME == "Example CPO"
    assert "nobody" not in str(settings.DATABASES["default"].get("USER") or "")
    assert settings.CELERY_BROKER_URL != "redis://127.0.0.1:1/0"


def _copy_checkout(target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    # The extrawest virtualenv is built once per checkout (slow): share this one's.
    (target / "var").mkdir()
    (target / "var" / "test-extrawest-venv").symlink_to(extrawest_python().parents[1])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to list the checkout")
def test_the_suite_passes_in_a_checkout_with_a_hostile_env_file(tmp_path):
    checkout = tmp_path / "checkout"
    _copy_checkout(checkout)
    (checkout / ".env").write_text(HOSTILE_ENV)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OCPI_"))}
    # Its own SQLite test database in the copy: the same PostgreSQL test database name as
    # this run's would be dropped under our feet when the inner run ends.
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    env["OCPI_TEST_HOSTILE_ENV"] = "1"

    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "tests/test_deploy_env.py::test_settings_under_test_do_not_read_the_checkouts_env",
            "tests/partners/test_end_to_end_extrawest.py::test_we_register_with_an_extrawest_emsp",
        ],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout
