"""`manage.py ocpi_prod_check` (`make prod-check`): one line per check, exit 1 on any failure;
and with DEBUG off the admin is styled after the documented steps (`migrate`,
`collectstatic`, then the web process, whose WhiteNoise serves what was collected:
docs/deploy.md, "Static files")."""

import socket

import httpx
import pytest

from tests.deploy_helpers import gunicorn, manage, production_env

HTTPS = {"X-Forwarded-Proto": "https"}  # what the reverse proxy of docs/deploy.md sends

pytestmark = pytest.mark.django_db(transaction=True)


def status_lines(output: str) -> list[str]:
    """Each check's line, cut after its name: `ok    database`, `FAIL  migrations`."""
    return [line.split(":")[0] for line in output.splitlines() if line[:4] in ("ok  ", "FAIL")]


def test_a_fresh_environment_fails_with_what_to_do(tmp_path, live_server):
    env = production_env(tmp_path, OCPI_BASE_URL=f"http://127.0.0.1:{closed_port()}")

    result = manage("ocpi_prod_check", env=env)

    assert result.returncode == 1
    assert status_lines(result.stdout) == [
        "ok    check --deploy",
        "ok    database",
        "FAIL  migrations",
        "FAIL  static files",
        "ok    broker",
        "FAIL  base URL",
    ]
    assert "run `manage.py migrate`" in result.stdout
    assert "run `manage.py collectstatic --noinput`" in result.stdout
    assert "Connection refused" in result.stdout
    assert "3 of 6 production checks failed" in result.stderr
    with gunicorn(env) as url:  # nothing collected: the admin would be unstyled
        assert httpx.get(f"{url}/static/admin/css/base.css", headers=HTTPS).status_code == 404


def test_passes_and_the_admin_is_styled_after_the_documented_steps(tmp_path, live_server):
    # The base URL is a running server of ours (the test server: over plain HTTP, which
    # the production process itself would redirect to HTTPS).
    env = production_env(tmp_path, OCPI_BASE_URL=live_server.url)
    assert manage("migrate", "--noinput", env=env).returncode == 0
    assert manage("collectstatic", "--noinput", env=env).returncode == 0

    result = manage("ocpi_prod_check", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "ok    check --deploy",
        "ok    database",
        "ok    migrations",
        "ok    static files",
        "ok    broker",
        "ok    base URL",
        "All 6 production checks passed.",
    ]
    with gunicorn(env) as url:
        css = httpx.get(f"{url}/static/admin/css/base.css", headers=HTTPS)
        login = httpx.get(f"{url}/admin/login/", headers=HTTPS)
    assert (css.status_code, css.headers["content-type"]) == (200, 'text/css; charset="utf-8"')
    assert "body" in css.text
    assert login.status_code == 200
    assert '/static/admin/css/base.css"' in login.text


def test_debug_on_and_a_dead_broker_and_database_are_named(tmp_path, live_server):
    env = production_env(
        tmp_path,
        OCPI_BASE_URL=live_server.url,
        DEBUG="true",
        CELERY_BROKER_URL=f"redis://127.0.0.1:{closed_port()}/0",
        DATABASE_URL=f"postgres://nobody@127.0.0.1:{closed_port()}/nothing",
    )

    result = manage("ocpi_prod_check", env=env)

    assert result.returncode == 1
    assert status_lines(result.stdout) == [
        "FAIL  check --deploy",
        "FAIL  database",
        "FAIL  migrations",
        "FAIL  static files",
        "FAIL  broker",
        "ok    base URL",
    ]
    assert "security.W018: You should not have DEBUG set to True in deployment" in result.stdout
    assert "check DATABASE_URL" in result.stdout
    assert "check CELERY_BROKER_URL" in result.stdout


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
