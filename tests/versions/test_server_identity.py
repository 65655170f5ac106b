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
