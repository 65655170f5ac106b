import logging

from django.db import connection

from partners.models import Partner


def test_sql_with_a_partner_token_is_not_logged_even_at_debug_level(db, caplog):
    caplog.set_level(logging.DEBUG)  # the root logger, as LOG_LEVEL=DEBUG would set it
    caplog.set_level(logging.DEBUG, logger="django")  # someone debugging Django itself
    connection.force_debug_cursor = True  # what DEBUG=true does to every query
    try:
        Partner.objects.create(name="Logged?", outgoing_token="their-secret-token-c")
    finally:
        connection.force_debug_cursor = False

    assert "their-secret-token-c" not in caplog.text


def test_a_django_log_line_is_printed_once_with_debug_on(tmp_path):
    # Django's own console handler (DEBUG only) used to print each of its lines a second
    # time next to the root handler's. A separate process: the settings as `make run` has
    # them (the tests' settings and their .env are not used).
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "Client(HTTP_HOST='127.0.0.1').get('/ocpi/versions')\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ocpi_site.settings",
        "DEBUG": "true",
        "OCPI_ENV_FILE": "",
        "OCPI_VAR_DIR": str(tmp_path),
        "LOG_FORMAT": "plain",
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stderr.count("Unauthorized: /ocpi/versions") == 1, result.stderr
