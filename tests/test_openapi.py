"""The OpenAPI schema of the OCPI endpoints (/api/schema/) and its docs page (/api/docs/)."""

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.validation import validate_schema

from tests.locations.conftest import full_site  # noqa: F401 - the fixture, used by name below

OCPI_METHODS = ("get", "post", "put", "patch", "delete")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def schema() -> dict:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def ocpi_url_patterns(resolver: URLResolver | None = None, prefix: str = ""):
    """(regex, URLPattern) of every URL pattern whose path starts with ocpi/."""
    for entry in (resolver or get_resolver()).url_patterns:
        regex = prefix + str(entry.pattern.regex.pattern).lstrip("^")
        if isinstance(entry, URLResolver):
            yield from ocpi_url_patterns(entry, regex)
        elif isinstance(entry, URLPattern) and regex.startswith("ocpi/"):
            yield regex, entry


def documented_path(pattern: URLPattern, regex: str) -> str:
    """The pattern's URL with `{name}` for each of its parameters, as the schema writes it."""
    placeholders = {name: f"{{{name}}}" for name in re.compile(regex).groupindex}
    return unquote(reverse(pattern.name, kwargs=placeholders or None))


def test_the_schema_is_served_without_credentials_and_is_valid_openapi(schema):
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "OCPI 2.2.1 CPO server"


def test_generating_the_schema_gives_no_warning_and_validates(tmp_path):
    # What `manage.py spectacular --validate --fail-on-warn` does in CI and for docs.
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/ocpi/cpo/2.2.1/locations/{location_id}/{evse_uid}/{connector_id}" in (
        target.read_text()
    )


def test_every_ocpi_url_and_method_is_in_the_schema(schema):
    patterns = list(ocpi_url_patterns())
    assert len(patterns) >= 7  # versions, details, credentials, 4 locations URLs
    for regex, pattern in patterns:
        path = documented_path(pattern, regex)
        assert path in schema["paths"], f"{path} ({pattern.name}) is not in the schema"
        view_methods = {m for m in OCPI_METHODS if hasattr(pattern.callback.view_class, m)}
        assert set(schema["paths"][path]) - {"parameters"} == view_methods, path


def test_every_operation_needs_the_token_and_documents_401_and_the_id_headers(schema):
    scheme = schema["components"]["securitySchemes"]["OcpiToken"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert "base64" in scheme["description"].lower()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert operation["security"] == [{"OcpiToken": []}], (method, path)
            for status, response in operation["responses"].items():
                headers = response.get("headers", {})
                assert {"X-Request-ID", "X-Correlation-ID"} <= set(headers), (path, status)
                assert "application/json" in response["content"], (path, status)
            assert "401" in operation["responses"], (method, path)
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]


def test_the_components_are_those_the_apps_declare(schema):
    from locations.openapi import COMPONENTS as LOCATIONS
    from partners.openapi import COMPONENTS as PARTNERS
    from versions.openapi import COMPONENTS as VERSIONS

    declared = {**VERSIONS, **PARTNERS, **LOCATIONS}
    assert schema["components"]["schemas"] == json.loads(json.dumps(declared))


# Builds the schema of the OCPI views without importing ocpi_site.urls: each view class
# carries its own description, applied where the class is defined.
_VIEWS_ALONE = """
import sys
import django
django.setup()
from django.urls import path
from drf_spectacular.generators import SchemaGenerator
from locations.api import LocationListView, LocationObjectView
from partners.views import CredentialsView
from versions.views import VersionDetailsView, VersionListView
patterns = [
    path("versions", VersionListView.as_view()),
    path("details", VersionDetailsView.as_view()),
    path("credentials", CredentialsView.as_view()),
    path("locations", LocationListView.as_view()),
    path("locations/<str:location_id>/<str:evse_uid>", LocationObjectView.as_view()),
]
schema = SchemaGenerator(patterns=patterns).get_schema(public=True)
print(sorted(op["operationId"] for item in schema["paths"].values() for op in item.values()))
print(sorted(schema["components"]["securitySchemes"]), "ocpi_site.urls" in sys.modules)
"""


def test_each_view_carries_its_own_description_without_the_site_urls():
    result = subprocess.run(
        [sys.executable, "-c", _VIEWS_ALONE],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "ocpi_site.test_settings", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    operations, security = result.stdout.splitlines()
    assert operations == str(
        sorted(
            [
                "versions_list",
                "version_details",
                "credentials_get",
                "credentials_register",
                "credentials_update",
                "credentials_delete",
                "locations_list",
                "evse_get",
            ]
        )
    )
    assert security == "['OcpiToken'] False"


def test_the_locations_list_documents_its_parameters_and_pagination_headers(schema):
    operation = schema["paths"]["/ocpi/cpo/2.2.1/locations"]["get"]
    query = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
    assert set(query) == {"date_from", "date_to", "offset", "limit"}
    datetime_pattern = re.compile(query["date_from"]["pattern"])
    assert datetime_pattern.match("2024-03-01T10:00:00Z")
    assert datetime_pattern.match("2015-06-29T20:39:09")
    assert datetime_pattern.match("2016-12-29T17:45:09.2Z")
    assert not datetime_pattern.match("2024-03-01T10:00:00+01:00")
    assert (query["offset"]["type"], query["offset"]["minimum"]) == ("integer", 0)
    assert (query["limit"]["type"], query["limit"]["minimum"]) == ("integer", 1)
    headers = operation["responses"]["200"]["headers"]
    assert {"Link", "X-Total-Count", "X-Limit", "OCPI-from-country-code"} <= set(headers)
    # On every page, but a 200 may also be a 2001 refusal without them.
    assert not any(headers[name].get("required") for name in ("X-Total-Count", "X-Limit", "Link"))
    assert "On every page (1000)" in headers["X-Total-Count"]["description"]
    assert set(operation["responses"]) == {"200", "401"}
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"]
    assert ok[0] == {"$ref": "#/components/schemas/LocationListResponse"}
    assert ok[1]["allOf"][1]["properties"]["status_code"]["enum"] == [2001]


def test_the_object_urls_document_their_own_object_and_404_with_2003(schema):
    base = "/ocpi/cpo/2.2.1/locations/{location_id}"
    expected = {
        base: "LocationResponse",
        f"{base}/{{evse_uid}}": "EVSEResponse",
        f"{base}/{{evse_uid}}/{{connector_id}}": "ConnectorResponse",
    }
    for path, component in expected.items():
        responses = schema["paths"][path]["get"]["responses"]
        ok = responses["200"]["content"]["application/json"]["schema"]["oneOf"]
        assert ok[0] == {"$ref": f"#/components/schemas/{component}"}
        assert ok[1]["allOf"][1]["properties"]["status_code"]["enum"] == [2001]
        not_found = responses["404"]["content"]["application/json"]["schema"]["allOf"]
        assert not_found[1]["properties"]["status_code"]["enum"] == [2003]


def test_the_credentials_methods_document_their_error_answers(schema):
    item = schema["paths"]["/ocpi/2.2.1/credentials"]
    assert set(item["get"]["responses"]) == {"200", "401"}
    for method in ("post", "put"):
        assert set(item[method]["responses"]) == {"200", "400", "401", "405", "415"}
        body = item[method]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/Credentials"}
    assert set(item["delete"]["responses"]) == {"200", "401", "405"}


def test_the_enums_have_every_value_of_the_code(schema):
    from locations import enums

    components = schema["components"]["schemas"]
    assert len(components["ConnectorType"]["enum"]) == 40
    for name in ("Capability", "Facility", "ParkingType", "PowerType", "Status", "TokenType"):
        assert components[name]["enum"] == list(getattr(enums, name).values), name


def component_validator(schema: dict, name: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(
        {"$ref": f"#/components/schemas/{name}", "components": schema["components"]}
    )


@pytest.mark.django_db
def test_a_location_with_every_field_set_conforms_and_uses_every_documented_field(
    schema,
    ocpi_client,
    full_site,  # noqa: F811 - the imported fixture
):
    base = "/ocpi/cpo/2.2.1/locations/LOC-FULL"
    evse_uid = full_site.evses.get().uid
    for url, component in [
        (base, "LocationResponse"),
        (f"{base}/{evse_uid}", "EVSEResponse"),
        (f"{base}/{evse_uid}/1", "ConnectorResponse"),
        ("/ocpi/cpo/2.2.1/locations", "LocationListResponse"),
    ]:
        body = ocpi_client.get(url).json()
        errors = list(component_validator(schema, component).iter_errors(body))
        assert errors == [], (url, [e.message for e in errors])

    location = ocpi_client.get(base).json()["data"]
    components = schema["components"]["schemas"]
    # Every documented field is one the server really sends (when it has a value).
    assert set(components["Location"]["properties"]) == set(location)
    assert set(components["EVSE"]["properties"]) == set(location["evses"][0])
    assert set(components["Connector"]["properties"]) == set(location["evses"][0]["connectors"][0])


def test_the_schema_rejects_what_the_omission_rules_forbid(schema):
    validator = component_validator(schema, "Connector")
    connector = {
        "id": "1",
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_voltage": 230,
        "max_amperage": 16,
        "last_updated": "2024-03-01T10:00:00Z",
    }
    assert validator.is_valid(connector)
    assert not validator.is_valid({**connector, "tariff_ids": []})  # empty list: left out
    assert not validator.is_valid({**connector, "max_electric_power": None})  # no nulls
    assert not validator.is_valid({**connector, "standard": "IEC_62196_T9"})
    location = component_validator(schema, "GeoLocation")
    assert location.is_valid({"latitude": "52.08944", "longitude": "5.11027"})
    assert not location.is_valid({"latitude": 52.08944, "longitude": 5.11027})  # strings
    assert not location.is_valid({"latitude": "52.0894", "longitude": "5.11027"})  # 5+ decimals


def test_the_docs_page_is_served_without_credentials_from_local_assets():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/api/schema/" in page
    assert "swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page  # nothing from a CDN
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    redoc = Client().get("/api/redoc/")
    assert redoc.status_code == 200
    assert finders.find("drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")


@pytest.mark.django_db
def test_options_on_an_ocpi_endpoint_answers_the_envelope_with_the_allowed_methods(ocpi_client):
    # Found by fuzzing: DRF's default OPTIONS answer was its own metadata document.
    response = ocpi_client.options("/ocpi/2.2.1/credentials")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status_code", "status_message", "timestamp"}
    assert body["status_code"] == 1000
    assert {"GET", "POST", "PUT", "DELETE"} <= set(response["Allow"].replace(" ", "").split(","))
