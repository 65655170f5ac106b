from django.test import Client

from versions.views import package_version


def test_api_version_names_the_server_without_secrets(db):
    response = Client().get("/api/version")

    assert response.status_code == 200
    version = package_version()
    assert version != "0.0.0+unknown"  # the project is installed, so its version is known
    assert response.json() == {
        "server": version,
        "text": f"OCPI CPO Server {version}",
        "ocpi": ["2.2.1"],
    }


def test_healthz_is_200_when_database_and_broker_answer(db):
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_is_503_and_names_the_broker_when_it_is_down(db, settings):
    # Nothing listens on port 1; the check must fail fast instead of hanging.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = Client().get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["broker"].startswith("failed: ")
