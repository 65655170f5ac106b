"""The messages an operator reads when a stored OCPI sub-object is wrong.

Each validator names the exact place of the problem (`field.member[index].member: problem`);
these tests pin the whole message, so that a change of the validation machinery cannot make
one vaguer unnoticed.
"""

import json

import jsonschema
import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from locations import coordinates, enums, schemas, validators

GEO = {"latitude": "52.089444", "longitude": "5.110278"}
HOURS = {"weekday": 1, "period_begin": "07:00", "period_end": "23:00"}
PERIOD = {"period_begin": "2024-12-24T06:00:00Z", "period_end": "2024-12-24T07:00:00Z"}
IMAGE = {"url": "https://charging.example.com/site.jpg", "category": "LOCATION", "type": "jpeg"}


def one_of(choices) -> str:
    return "is not one of: " + ", ".join(choices.values)


INVALID = [
    # GeoLocation
    ("coordinates", {**GEO, "latitude": "52.1"},
     "coordinates.latitude: '52.1' does not match the required format, e.g. 52.089444"),
    ("coordinates", {**GEO, "longitude": "5.1"},
     "coordinates.longitude: '5.1' does not match the required format, e.g. 5.110278"),
    ("coordinates", {**GEO, "latitude": 52.089444}, "coordinates.latitude: must be a text"),
    ("coordinates", {**GEO, "latitude": "52.08944400000"},
     "coordinates.latitude: at most 10 characters (it has 14)"),
    ("coordinates", {"latitude": "52.089444"}, "coordinates.longitude: is required"),
    ("coordinates", {**GEO, "latitude": None}, "coordinates.latitude: is required"),
    ("coordinates", {**GEO, "altitude": 3, "accuracy": 1},
     "coordinates: unknown field(s): accuracy, altitude"),
    ("coordinates", "52.089444, 5.110278", "coordinates: must be an object"),
    # GeoLocation: the patterns allow 95 and 200, the range rule does not
    ("coordinates", {**GEO, "latitude": "95.00000"},
     "coordinates.latitude: 95.00000 is outside −90…90"),
    ("coordinates", {**GEO, "latitude": "-90.000001"},
     "coordinates.latitude: -90.000001 is outside −90…90"),
    ("coordinates", {**GEO, "longitude": "200.00000"},
     "coordinates.longitude: 200.00000 is outside −180…180"),
    ("coordinates", {**GEO, "longitude": "-180.000001"},
     "coordinates.longitude: -180.000001 is outside −180…180"),
    ("related_locations", [{"latitude": "52.089444", "longitude": "181.00000"}],
     "related_locations[0].longitude: 181.00000 is outside −180…180"),
    # AdditionalGeoLocation, DisplayText
    ("related_locations", [{**GEO, "name": {"language": "EN", "text": "Entrance"}}],
     "related_locations[0].name.language: 'EN' does not match the required format, e.g. en"),
    ("related_locations", GEO, "related_locations: must be a list"),
    ("directions", [{"language": "en", "text": "left\tright"}],
     "directions[0].text: must not contain control characters (line breaks, tabs)"),
    ("directions", [{"language": "en", "text": "x" * 513}],
     "directions[0].text: at most 512 characters (it has 513)"),
    ("directions", [{"language": "en"}], "directions[0].text: is required"),
    # BusinessDetails, Image
    ("operator", {"name": ""}, "operator.name: must not be empty"),
    ("suboperator", {"name": "   "}, "suboperator.name: must not be empty"),
    ("owner", {"website": "https://owner.example.com"}, "owner.name: is required"),
    ("operator", {"name": "X", "website": "ftp://files.example.com"},
     "operator.website: 'ftp://files.example.com' is not a valid http(s) URL"),
    ("operator", {"name": "X", "website": "https://" + "a" * 250 + ".com"},
     "operator.website: at most 255 characters (it has 262)"),
    ("operator", {"name": "X", "logo": {**IMAGE, "category": "LOGO"}},
     f"operator.logo.category: 'LOGO' {one_of(enums.ImageCategory)}"),
    ("operator", {"name": "X", "logo": {**IMAGE, "type": "jpeg2"}},
     "operator.logo.type: at most 4 characters (it has 5)"),
    ("operator", {"name": "X", "logo": {**IMAGE, "type": "pñg"}},
     "operator.logo.type: only ASCII characters are allowed"),
    ("operator", {"name": "X", "logo": {**IMAGE, "width": "512"}},
     "operator.logo.width: must be a whole number"),
    ("operator", {"name": "X", "logo": {**IMAGE, "height": True}},
     "operator.logo.height: must be a whole number"),
    ("operator", {"name": "X", "logo": {**IMAGE, "width": -1}},
     "operator.logo.width: must be 0 to 99999"),
    ("operator", {"name": "X", "logo": {**IMAGE, "width": 100000}},
     "operator.logo.width: must be 0 to 99999"),
    ("images", [{"url": IMAGE["url"], "category": "CHARGER"}], "images[0].type: is required"),
    ("images", [{**IMAGE, "url": "not a url"}],
     "images[0].url: 'not a url' is not a valid http(s) URL"),
    # Facility, Capability, ParkingRestriction lists
    ("facilities", ["HOTEL", "SPA"], f"facilities[1]: 'SPA' {one_of(enums.Facility)}"),
    ("facilities", ["HOTEL", "HOTEL"], "facilities: contains the same value twice"),
    ("facilities", "HOTEL", "facilities: must be a list"),
    ("capabilities", ["FLYING"], f"capabilities[0]: 'FLYING' {one_of(enums.Capability)}"),
    ("capabilities", ["RFID_READER", "RFID_READER"], "capabilities: contains the same value twice"),
    ("parking_restrictions", ["EV_ONLY", 3],
     f"parking_restrictions[1]: 3 {one_of(enums.ParkingRestriction)}"),
    # Hours, RegularHours, ExceptionalPeriod
    ("opening_times", {"twentyfourseven": False},
     "opening_times.regular_hours: needs at least one entry when twentyfourseven is false"),
    ("opening_times", {"twentyfourseven": True, "regular_hours": [HOURS]},
     "opening_times.regular_hours: must be left out when twentyfourseven is true"),
    ("opening_times", {"regular_hours": [HOURS]}, "opening_times.twentyfourseven: is required"),
    ("opening_times", {"twentyfourseven": "yes"},
     "opening_times.twentyfourseven: must be true or false"),
    ("opening_times",
     {"twentyfourseven": False, "regular_hours": [{**HOURS, "period_end": "06:00"}]},
     "opening_times.regular_hours[0].period_end: must be later than period_begin"),
    ("opening_times",
     {"twentyfourseven": False, "regular_hours": [HOURS, {**HOURS, "period_begin": "7:00"}]},
     "opening_times.regular_hours[1].period_begin: '7:00' does not match the required format, "
     "e.g. 07:00"),
    ("opening_times",
     {"twentyfourseven": False, "regular_hours": [{**HOURS, "period_end": "24:00"}]},
     "opening_times.regular_hours[0].period_end: '24:00' does not match the required format, "
     "e.g. 23:00"),
    ("opening_times", {"twentyfourseven": False, "regular_hours": [{**HOURS, "weekday": 0}]},
     "opening_times.regular_hours[0].weekday: must be 1 to 7 (1 = Monday, 7 = Sunday)"),
    ("opening_times", {"twentyfourseven": False, "regular_hours": [{**HOURS, "weekday": 8}]},
     "opening_times.regular_hours[0].weekday: must be 1 to 7 (1 = Monday, 7 = Sunday)"),
    ("opening_times", {"twentyfourseven": False, "regular_hours": [{**HOURS, "weekday": "1"}]},
     "opening_times.regular_hours[0].weekday: must be a whole number"),
    ("opening_times",
     {"twentyfourseven": True,
      "exceptional_openings": [{**PERIOD, "period_begin": "2024-12-24T06:00:00+01:00"}]},
     "opening_times.exceptional_openings[0].period_begin: '2024-12-24T06:00:00+01:00' is not "
     "a UTC DateTime such as 2024-03-01T10:00:00Z"),
    ("opening_times",
     {"twentyfourseven": True,
      "exceptional_openings": [{**PERIOD, "period_end": "2024-02-30T10:00:00Z"}]},
     "opening_times.exceptional_openings[0].period_end: '2024-02-30T10:00:00Z' is not "
     "a UTC DateTime such as 2024-03-01T10:00:00Z"),
    ("opening_times",
     {"twentyfourseven": True, "exceptional_closings": [{**PERIOD, "period_begin": 20241224}]},
     "opening_times.exceptional_closings[0].period_begin: must be a DateTime text such as "
     "2024-03-01T10:00:00Z"),
    ("opening_times",
     {"twentyfourseven": True,
      "exceptional_closings": [{**PERIOD, "period_end": PERIOD["period_begin"]}]},
     "opening_times.exceptional_closings[0].period_end: must be later than period_begin"),
    # EnergyMix, EnergySource, EnvironmentalImpact
    ("energy_mix", {"is_green_energy": "true"},
     "energy_mix.is_green_energy: must be true or false"),
    ("energy_mix",
     {"is_green_energy": True, "energy_sources": [{"source": "SOLAR", "percentage": 90}]},
     "energy_mix.energy_sources: percentages must add up to 100"),
    ("energy_mix",
     {"is_green_energy": True, "energy_sources": [{"source": "SOLAR", "percentage": 101}]},
     "energy_mix.energy_sources[0].percentage: must be 0 to 100"),
    ("energy_mix",
     {"is_green_energy": True, "energy_sources": [{"source": "SOLAR", "percentage": "100"}]},
     "energy_mix.energy_sources[0].percentage: must be a number"),
    ("energy_mix",
     {"is_green_energy": True, "energy_sources": [{"source": "TIDAL", "percentage": 100}]},
     f"energy_mix.energy_sources[0].source: 'TIDAL' {one_of(enums.EnergySourceCategory)}"),
    ("energy_mix",
     {"is_green_energy": False, "environ_impact": [{"category": "CARBON_DIOXIDE", "amount": -1}]},
     "energy_mix.environ_impact[0].amount: must be at least 0 (g/kWh)"),
    ("energy_mix", {"is_green_energy": True, "supplier_name": "x" * 65},
     "energy_mix.supplier_name: at most 64 characters (it has 65)"),
    # PublishTokenType
    ("publish_allowed_to", [{"uid": "ABC"}],
     "publish_allowed_to[0].type: is required when uid is set"),
    ("publish_allowed_to", [{"visual_number": "NL-1"}],
     "publish_allowed_to[0].issuer: is required when visual_number is set"),
    ("publish_allowed_to", [{"group_id": "G1"}, {"issuer": "X"}],
     "publish_allowed_to[1]: set at least one of uid, visual_number or group_id"),
    ("publish_allowed_to", [{"uid": "ABC", "type": "CARD"}],
     f"publish_allowed_to[0].type: 'CARD' {one_of(enums.TokenType)}"),
    ("publish_allowed_to", [{"group_id": "G" * 37}],
     "publish_allowed_to[0].group_id: at most 36 characters (it has 37)"),
    ("publish_allowed_to", [{"uid": "ABC", "type": "RFID", "colour": "red"}],
     "publish_allowed_to[0]: unknown field(s): colour"),
    # StatusSchedule
    ("status_schedule",
     [{"period_begin": "2024-06-02T00:00:00Z", "period_end": "2024-06-01T00:00:00Z",
       "status": "INOPERATIVE"}],
     "status_schedule[0].period_end: must be later than period_begin"),
    ("status_schedule", [{"period_begin": "2024-06-02T00:00:00Z", "status": "BROKEN"}],
     f"status_schedule[0].status: 'BROKEN' {one_of(enums.Status)}"),
    ("status_schedule", [{"status": "PLANNED"}], "status_schedule[0].period_begin: is required"),
    # Connector.tariff_ids: CiString(36)
    ("tariff_ids", ["AC-STD", "AC-STD"], "tariff_ids: contains the same value twice"),
    ("tariff_ids", [""], "tariff_ids[0]: must not be empty"),
    ("tariff_ids", ["T" * 37], "tariff_ids[0]: at most 36 characters (it has 37)"),
    ("tariff_ids", ["tarif-é"], "tariff_ids[0]: only ASCII characters are allowed"),
    ("tariff_ids", ["AC\nSTD"],
     "tariff_ids[0]: must not contain control characters (line breaks, tabs)"),
    ("tariff_ids", [5], "tariff_ids[0]: must be a text"),
    ("tariff_ids", "AC-STD", "tariff_ids: must be a list"),
    # Refused since the validation reads the published schema: these used to be stored and
    # then sent as they were, breaking the omission rules and the OpenAPI components.
    ("energy_mix", {"is_green_energy": True, "supplier_name": ""},
     "energy_mix.supplier_name: must be left out rather than empty"),
    ("energy_mix", {"is_green_energy": True, "energy_sources": []},
     "energy_mix.energy_sources: must be left out rather than empty"),
    ("opening_times", {"twentyfourseven": True, "regular_hours": []},
     "opening_times.regular_hours: must be left out rather than empty"),
    ("opening_times", {"twentyfourseven": True, "exceptional_closings": []},
     "opening_times.exceptional_closings: must be left out rather than empty"),
    ("publish_allowed_to", [{"uid": "", "group_id": "G1"}],
     "publish_allowed_to[0].uid: must be left out rather than empty"),
    ("publish_allowed_to", [{"visual_number": "  ", "issuer": "X"}],
     "publish_allowed_to[0].visual_number: must not be empty"),
    ("images", [{**IMAGE, "type": ""}], "images[0].type: must not be empty"),
    ("status_schedule", [{"period_begin": "2024-06-01T00:00:00.123456Z", "status": "PLANNED"}],
     "status_schedule[0].period_begin: at most 25 characters (it has 27)"),
]  # fmt: skip

VALID = [
    ("coordinates", GEO),
    ("coordinates", {"latitude": "-52.089444", "longitude": "-105.110278"}),
    ("coordinates", {"latitude": "90.0000000", "longitude": "-180.000000"}),
    ("coordinates", {"latitude": "-90.000000", "longitude": "180.0000000"}),
    ("related_locations", [{**GEO, "name": {"language": "nl", "text": "Ingang"}}]),
    ("related_locations", [{**GEO, "name": None}]),  # null: left out when sent
    ("directions", [{"language": "en", "text": "Level -1, follow the green signs"}]),
    ("operator", {"name": "Example", "website": "https://example.com", "logo": IMAGE}),
    ("operator", {"name": "Example", "website": None}),
    ("images", [{**IMAGE, "thumbnail": "https://x.example.com/t.jpg", "width": 0}]),
    ("images", [{**IMAGE, "width": 99999, "height": 600}]),
    ("facilities", ["HOTEL", "WIFI"]),
    ("capabilities", ["RFID_READER"]),
    ("parking_restrictions", ["EV_ONLY", "PLUGGED"]),
    ("opening_times", {"twentyfourseven": True}),
    ("opening_times", {"twentyfourseven": True, "exceptional_closings": [PERIOD]}),
    ("opening_times", {"twentyfourseven": True, "regular_hours": None}),
    ("opening_times",
     {"twentyfourseven": False, "regular_hours": [HOURS, {**HOURS, "weekday": 7}],
      "exceptional_openings": [PERIOD], "exceptional_closings": [PERIOD]}),
    ("energy_mix", {"is_green_energy": True}),
    ("energy_mix",
     {"is_green_energy": False,
      "energy_sources": [{"source": "GAS", "percentage": 35.5},
                         {"source": "COAL", "percentage": 64.5}],
      "environ_impact": [{"category": "NUCLEAR_WASTE", "amount": 0.0006}],
      "supplier_name": "E.ON", "energy_product_name": "eco"}),
    ("publish_allowed_to",
     [{"uid": "012345678", "type": "RFID"}, {"visual_number": "NL-1", "issuer": "X"},
      {"group_id": "G1"}]),
    ("status_schedule", [{"period_begin": "2024-06-01T00:00:00Z", "status": "PLANNED"}]),
    ("status_schedule",
     [{"period_begin": "2024-06-01T00:00:00", "period_end": "2024-06-01T00:00:00.5Z",
       "status": "PLANNED"}]),
    ("tariff_ids", ["AC-STD", "ac-std"]),
]  # fmt: skip


def validate(field: str, value) -> None:
    getattr(validators, f"validate_{field}")(value)


@pytest.mark.parametrize(("field", "value", "message"), INVALID)
def test_an_invalid_value_is_refused_with_a_message_naming_the_exact_place(field, value, message):
    with pytest.raises(ValidationError) as caught:
        validate(field, value)
    assert caught.value.messages == [message]
    assert caught.value.error_list[0].code == "ocpi"  # not "invalid": Django keeps our text


@pytest.mark.parametrize(("field", "value"), VALID)
def test_a_valid_value_is_accepted(field, value):
    validate(field, value)


def without_nulls(value):
    """What the serializers send of a stored sub-object: its `null` members left out."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


@pytest.fixture(scope="module")
def published_components() -> dict:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    return json.loads(response.content)["components"]


@pytest.mark.parametrize(("field", "value"), VALID)
def test_what_the_validation_accepts_is_what_the_openapi_document_publishes(
    published_components, field, value
):
    owner = "Connector" if field == "tariff_ids" else "Location"
    if field in ("status_schedule", "capabilities", "parking_restrictions"):
        owner = "EVSE"
    member = published_components["schemas"][owner]["properties"][field]
    validator = jsonschema.Draft7Validator({**member, "components": published_components})
    errors = [e.message for e in validator.iter_errors(without_nulls(value))]
    assert errors == []


def test_the_validation_reads_the_classes_the_openapi_document_publishes(published_components):
    # One definition: each class of the document is the dict the validators are built from.
    assert validators.LOCATIONS.definitions is schemas.DEFINITIONS
    for name, schema in schemas.DEFINITIONS.items():
        assert published_components["schemas"][name] == json.loads(json.dumps(schema)), name


# --- What an operator types as coordinates (the admin's two inputs) -------------------------


@pytest.mark.parametrize(
    ("name", "typed", "stored"),
    [
        ("latitude", "52.0894", "52.08940"),  # 4 decimals: padded to the spec's 5
        ("latitude", " 52.08944 ", "52.08944"),
        ("latitude", "-52.089444", "-52.089444"),
        ("latitude", "-5.0894444", "-5.0894444"),
        ("latitude", "052.0894", "52.08940"),  # the spec's pattern has no leading zeros
        ("latitude", "-0.5000", "-0.50000"),
        ("latitude", "90.0000", "90.00000"),
        ("longitude", "5.1103", "5.11030"),
        ("longitude", "-180.0000", "-180.00000"),
        ("longitude", "179.9999999", "179.9999999"),
    ],
)
def test_typed_coordinates_are_stored_in_the_spec_format(name, typed, stored):
    assert coordinates.normalised(name, typed) == stored
    validate("coordinates", {**GEO, name: stored})  # what the model then accepts


@pytest.mark.parametrize(
    ("name", "typed", "message"),
    [
        ("latitude", "95.0000", "95.0000 is outside −90…90"),
        ("latitude", "100.0000", "100.0000 is outside −90…90"),
        ("longitude", "200.0000", "200.0000 is outside −180…180"),
        ("longitude", "-180.0001", "-180.0001 is outside −180…180"),
        ("latitude", "52.089", "52.089 has 3 decimals: give 4 to 7, e.g. 52.089444"),
        ("latitude", "52.1", "52.1 has 1 decimal: give 4 to 7, e.g. 52.089444"),
        ("latitude", "52", "52 has 0 decimals: give 4 to 7, e.g. 52.089444"),
        ("longitude", "5.11027812", "5.11027812 has 8 decimals: give 4 to 7, e.g. 5.110278"),
        (
            "latitude",
            "-52.0894444",
            "-52.0894444 has 11 characters: OCPI allows 10 for a latitude, so give 6 decimals here",
        ),
        (
            "longitude",
            "-105.1102781",
            "-105.1102781 has 12 characters: OCPI allows 11 for a longitude, so give 6 decimals "
            "here",
        ),
        (
            "latitude",
            "52,0894",
            "'52,0894' is not a number in decimal degrees with a '.', e.g. 52.089444",
        ),
        (
            "longitude",
            "5.1103E",
            "'5.1103E' is not a number in decimal degrees with a '.', e.g. 5.110278",
        ),
        (
            "latitude",
            "--52.0894",
            "'--52.0894' is not a number in decimal degrees with a '.', e.g. 52.089444",
        ),
        (
            "latitude",
            "٥٢.٠٨٩٤",
            "'٥٢.٠٨٩٤' is not a number in decimal degrees with a '.', e.g. 52.089444",
        ),
    ],
)
def test_typed_coordinates_that_cannot_be_stored_are_refused_with_the_reason(name, typed, message):
    with pytest.raises(ValueError) as caught:
        coordinates.normalised(name, typed)
    assert str(caught.value) == message


# --- EVSE ID (OCPI 2.2.1, Locations module, 8.3.2 EVSE Object) ---------------------------


@pytest.mark.parametrize(
    "evse_id", ["NL*ABC*E12345*1", "nl*abc*e1", "NLABCE1", "DE*ABC*E1*A*2", "+49*810*000*438"]
)
def test_emi3_evse_ids_are_accepted(evse_id):
    validators.validate_evse_id(evse_id)


@pytest.mark.parametrize(
    "evse_id", ["NL*EXA*E*1", "NL*EXA*1234", "NL*EXA*", "NLEXA", "+49*810**1", "N1*EXA*E1"]
)
def test_an_evse_id_whose_outlet_id_or_parts_are_wrong_is_refused_on_save(evse_id):
    with pytest.raises(ValidationError) as refused:
        validators.validate_evse_id(evse_id)

    assert refused.value.messages == [
        f"{evse_id!r} is not an eMI3 EVSE ID such as NL*ABC*E12345*1 (ISO 15118 format; "
        "the power outlet id after E starts with a letter or digit)"
    ]


def test_the_data_quality_rule_and_the_save_use_one_evse_id_pattern():
    from locations import quality_rules

    assert quality_rules.EVSE_ID_RE is validators.EVSE_ID_RE
