"""LOG_FORMAT=json: one JSON object per line, carrying the request's ids."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from monitoring.logs import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines():
    """The lines of Django's request logger, formatted as LOG_FORMAT=json formats them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)


def test_a_log_line_written_while_handling_a_request_carries_its_ids(db, json_lines):
    response = Client().get(
        "/ocpi/versions", headers={"X-Request-ID": "req-17", "X-Correlation-ID": "corr-42"}
    )

    assert response.status_code == 401
    [line] = json_lines()  # Django's "Unauthorized: /ocpi/versions" warning
    assert set(line) == {"time", "level", "logger", "message", "request_id", "correlation_id"}
    assert line["level"] == "WARNING"
    assert line["logger"] == "django.request"
    assert line["message"] == "Unauthorized: /ocpi/versions"
    assert (line["request_id"], line["correlation_id"]) == ("req-17", "corr-42")
    assert line["time"].endswith("+00:00")


def test_a_request_without_ids_logs_the_ones_it_was_given(db, json_lines):
    response = Client().get("/ocpi/versions")

    [line] = json_lines()
    assert line["request_id"] == response["X-Request-ID"]
    assert line["correlation_id"] == response["X-Correlation-ID"]


def test_an_exception_is_one_line_with_its_traceback(json_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("django.request").exception("failed")

    [line] = json_lines()
    assert line["message"] == "failed"
    assert "ValueError: boom" in line["exc_info"]


def _console_output(log_format: str) -> str:
    env = {
        **os.environ,
        "LOG_FORMAT": log_format,
        "DJANGO_SETTINGS_MODULE": "ocpi_site.test_settings",
        "OCPI_ENV_FILE": "/nonexistent",
    }
    code = "import logging; logging.getLogger('ocpi.test').warning('hello %s', 'world')"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stderr


def test_log_format_json_makes_the_console_write_json_lines():
    [line] = _console_output("json").splitlines()

    assert {k: v for k, v in json.loads(line).items() if k != "time"} == {
        "level": "WARNING",
        "logger": "ocpi.test",
        "message": "hello world",
    }


def test_the_default_stays_plain_text():
    [line] = _console_output("plain").splitlines()

    assert line.endswith(" WARNING ocpi.test hello world")
