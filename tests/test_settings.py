"""Settings come from the environment; production values pass `check --deploy` cleanly."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "ocpi_site.settings"
    # Only the variables given here count (or the file they name).
    clean["OCPI_ENV_FILE"] = env.get("OCPI_ENV_FILE", "/nonexistent/.env")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x9!k2-production-like-secret-key-with-enough-length-and-variety-7Hq",
    "ALLOWED_HOSTS": "cpo.example.com",
    "OCPI_BASE_URL": "https://cpo.example.com",
}


def test_check_deploy_reports_nothing_with_production_values():
    result = _manage("check", "--deploy", "--fail-level", "DEBUG", env=PRODUCTION)

    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_secret_key_is_required_when_debug_is_off():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_a_malformed_boolean_is_refused_loudly():
    result = _manage("check", env={**PRODUCTION, "DEBUG": "maybe"})

    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_an_env_file_named_by_ocpi_env_file_sets_every_setting_even_the_var_dir(tmp_path):
    env_file = tmp_path / "ocpi.env"
    env_file.write_text(
        "\n".join(f"{key}={value}" for key, value in PRODUCTION.items())
        + f"\nOCPI_VAR_DIR={tmp_path / 'state'}\nOCPI_BUSINESS_NAME=From the file\n"
    )
    show = "from django.conf import settings as s; print(s.STATIC_ROOT, s.OCPI_BUSINESS_NAME)"

    result = _manage("shell", "-c", show, env={"OCPI_ENV_FILE": str(env_file)})

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"{tmp_path / 'state' / 'static'} From the file"
