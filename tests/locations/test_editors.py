"""The sub-object editors of the admin: made from the schema, their round trips and errors.

Each editor: form data in -> stored JSON out; stored JSON -> the editor's initial value; a
wrong value -> the validator's precise message (locations/editors.py,
locations/opening_hours.py, form_fields.TagsField).
"""

import json

import pytest
from django.http import QueryDict

from locations import schemas
from locations.editors import SchemaEditorField, editor_schema, error_place, prune
from locations.forms import RAW_JSON, ConnectorForm, EVSEForm, LocationForm
from locations.opening_hours import OpeningHoursField, OpeningHoursWidget
from tests.factories import LocationFactory

from .test_admin import location_url, page_form, page_text, submit

HOURS = {
    "twentyfourseven": False,
    "regular_hours": [
        {"weekday": 1, "period_begin": "08:00", "period_end": "12:00"},
        {"weekday": 1, "period_begin": "13:00", "period_end": "18:00"},
        {"weekday": 6, "period_begin": "10:00", "period_end": "16:00"},
    ],
    "exceptional_closings": [
        {"period_begin": "2026-12-25T00:00:00Z", "period_end": "2026-12-26T00:00:00Z"}
    ],
}


def grid_data(mode: str, days=None, close=(), open_=()) -> QueryDict:
    data = QueryDict(mutable=True)
    data["opening_times-mode"] = mode
    for weekday, periods in (days or {}).items():
        for begin, end in periods:
            data.appendlist(f"opening_times-d{weekday}-begin", begin)
            data.appendlist(f"opening_times-d{weekday}-end", end)
    for key, periods in (("close", close), ("open", open_)):
        for begin, end in periods:
            data.appendlist(f"opening_times-{key}-begin", begin)
            data.appendlist(f"opening_times-{key}-end", end)
    return data


def grid_value(data: QueryDict):
    widget = OpeningHoursWidget()
    return OpeningHoursField(example="").clean(
        widget.value_from_datadict(data, {}, "opening_times")
    )


# --- The editors' schema is the validation's ----------------------------------------------


def test_the_editor_schema_of_an_image_is_made_from_the_validation_schema_with_labels():
    schema = editor_schema(schemas.OBJECTS["Location"]["properties"]["images"])

    image = schema["items"]
    assert schema["type"] == "array"
    assert list(image["keys"]) == list(schemas.CLASSES["Image"]["properties"])
    assert image["keys"]["category"]["choices"][0] == {"value": "CHARGER", "title": "Charger"}
    assert image["keys"]["url"] == {
        "title": "URL",
        "help_text": "Where the full image can be fetched.",
        "type": "string",
        "maxLength": 255,
        "placeholder": "https://…",
    }


def test_a_member_added_to_a_class_of_the_schema_shows_in_its_editor(monkeypatch):
    business = schemas.CLASSES["BusinessDetails"]
    extended = {**business, "properties": {**business["properties"], "phone": {"type": "string"}}}
    monkeypatch.setitem(schemas.CLASSES, "BusinessDetails", extended)
    monkeypatch.setitem(schemas.DEFINITIONS, "BusinessDetails", extended)

    schema = editor_schema(schemas.OBJECTS["Location"]["properties"]["operator"])

    assert list(schema["keys"]) == ["name", "website", "logo", "phone"]


def test_pruning_leaves_out_empty_members_and_rows_but_keeps_false_and_zero():
    typed = {
        "name": "Example",
        "website": "",
        "logo": {"url": "", "category": None, "width": None},
        "list": [{"a": ""}, {"a": 0}, False],
    }
    assert prune(typed) == {"name": "Example", "list": [{"a": 0}, False]}


@pytest.mark.parametrize(
    ("message", "place"),
    [
        ("images[0].url: is required", ("images", ["0", "url"], "is required")),
        (
            "opening_times.regular_hours[3].period_end: must be later than period_begin",
            (
                "opening_times",
                ["regular_hours", "3", "period_end"],
                "must be later than period_begin",
            ),
        ),
        ("Only allowed when publish is off", None),
    ],
)
def test_a_validator_message_names_its_place(message, place):
    assert error_place(message) == place


# --- The django-jsonform editors -----------------------------------------------------------


def location_form(data: dict, instance=None) -> LocationForm:
    base = {
        "country_code": "NL",
        "party_id": "EXA",
        "id": "LOC-EDIT",
        "address": "Kade 12",
        "city": "Amsterdam",
        "country": "NLD",
        "coordinates_0": "52.370216",
        "coordinates_1": "4.895168",
        "time_zone": "Europe/Amsterdam",
        "opening_times-mode": "unset",
    }
    return LocationForm(data={**base, **data}, instance=instance)


@pytest.mark.django_db
def test_what_the_business_details_editor_sends_is_stored_without_its_empty_members():
    typed = {
        "name": "Example Charging",
        "website": "",
        "logo": {
            "url": "https://example.com/logo.png",
            "category": "OPERATOR",
            "type": "png",
            "thumbnail": "",
            "width": None,
            "height": None,
        },
    }
    untouched = {"name": "", "website": "", "logo": {"url": "", "category": "", "type": ""}}
    form = location_form({"operator": json.dumps(typed), "owner": json.dumps(untouched)})

    assert form.is_valid(), form.errors
    assert form.cleaned_data["operator"] == {
        "name": "Example Charging",
        "logo": {"url": "https://example.com/logo.png", "category": "OPERATOR", "type": "png"},
    }
    assert form.cleaned_data["owner"] is None


@pytest.mark.django_db
def test_energy_mix_is_a_list_of_at_most_one_entry_in_its_editor():
    mix = {"is_green_energy": True, "energy_sources": [{"source": "SOLAR", "percentage": 100}]}
    form = location_form({"energy_mix": json.dumps([mix])})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["energy_mix"] == mix

    assert location_form({"energy_mix": "[]"}).is_valid()
    stored = LocationForm(instance=LocationFactory.build(energy_mix=mix))
    assert json.loads(stored["energy_mix"].value()) == [mix]
    assert json.loads(LocationForm(instance=LocationFactory.build())["energy_mix"].value()) == []


@pytest.mark.django_db
def test_a_stored_list_is_the_initial_value_of_its_editor_and_comes_back_unchanged():
    images = [{"url": "https://example.com/a.jpg", "category": "LOCATION", "type": "jpeg"}]
    location = LocationFactory.build(images=images, directions=[])
    form = LocationForm(instance=location)

    assert json.loads(form["images"].value()) == images
    assert json.loads(form["directions"].value()) == []
    assert "https://example.com/a.jpg" in str(form["images"])  # in the textarea, too
    field = form.fields["images"]
    assert not field.has_changed(images, json.dumps(images))
    assert field.has_changed(images, "[]")


@pytest.mark.django_db
def test_a_wrong_image_is_refused_with_the_validators_message_also_shown_at_its_input():
    typed = [{"url": "https://example.com/a.jpg", "category": "", "type": "jpeg"}]
    form = location_form({"images": json.dumps(typed)})

    assert not form.is_valid()
    assert form.errors["images"] == ["images[0].category: is required"]
    assert form.fields["images"].widget.error_map == {"0§category": ["is required"]}
    # What was typed is shown again, as typed.
    assert json.loads(form["images"].value()) == typed


@pytest.mark.django_db
def test_a_publish_token_without_type_names_the_member_in_the_editor():
    form = location_form(
        {"publish": "", "publish_allowed_to": json.dumps([{"uid": "0123", "type": ""}])}
    )
    assert not form.is_valid()
    assert form.errors["publish_allowed_to"] == [
        "publish_allowed_to[0].type: is required when uid is set"
    ]


@pytest.mark.django_db
def test_evse_status_schedule_round_trip():
    schedule = [
        {
            "period_begin": "2026-06-01T00:00:00Z",
            "period_end": "2026-06-02T00:00:00Z",
            "status": "INOPERATIVE",
        }
    ]
    field = EVSEForm().fields["status_schedule"]
    assert isinstance(field, SchemaEditorField)
    assert (
        field.clean(json.dumps([{**schedule[0]}, {"period_begin": "", "status": ""}])) == schedule
    )
    assert json.loads(field.prepare_value(schedule)) == schedule


# --- tariff_ids as tags ----------------------------------------------------------------------


def test_tariff_ids_are_typed_as_tags_and_stored_as_a_list():
    field = ConnectorForm().fields["tariff_ids"]
    assert field.clean("AC-STD, DC-FAST") == ["AC-STD", "DC-FAST"]
    assert field.clean("  AC-STD  DC-FAST ,") == ["AC-STD", "DC-FAST"]
    assert field.clean("") == []
    assert field.prepare_value(["AC-STD", "DC-FAST"]) == "AC-STD, DC-FAST"
    assert not field.has_changed(["AC-STD", "DC-FAST"], "AC-STD, DC-FAST")
    assert field.has_changed(["AC-STD", "DC-FAST"], "DC-FAST, AC-STD")


# --- The opening hours week grid -------------------------------------------------------------


def test_the_week_grid_gives_the_hours_object_in_weekday_order():
    data = grid_data(
        "hours",
        days={6: [("10:00", "16:00")], 1: [("08:00", "12:00"), ("13:00", "18:00"), ("", "")]},
        close=[("2026-12-25T00:00:00Z", "2026-12-26T00:00:00Z"), ("", "")],
    )
    assert grid_value(data) == HOURS


def test_the_week_grid_gives_24_7_or_nothing():
    assert grid_value(grid_data("247", days={1: [("08:00", "12:00")]})) == {"twentyfourseven": True}
    assert grid_value(grid_data("unset")) is None
    assert grid_value(grid_data("247", open_=[("2026-05-01T00:00:00Z", "")])) == {
        "twentyfourseven": True,
        "exceptional_openings": [{"period_begin": "2026-05-01T00:00:00Z"}],
    }


def test_stored_hours_are_the_initial_rows_of_the_grid():
    html = OpeningHoursWidget().render("opening_times", HOURS, {"id": "id_opening_times"})

    assert 'value="hours" checked' in html
    assert html.count('name="opening_times-d1-begin"') == 3  # two periods and an empty one
    assert 'name="opening_times-d1-begin" value="13:00"' in html
    assert 'name="opening_times-d6-end" value="16:00"' in html
    assert 'value="2026-12-25T00:00:00Z"' in html


def test_the_same_hours_in_another_stored_order_are_no_change():
    stored = {**HOURS, "regular_hours": list(reversed(HOURS["regular_hours"]))}
    field = OpeningHoursField(example="")
    data = OpeningHoursWidget().value_from_datadict(
        grid_data(
            "hours",
            days={1: [("08:00", "12:00"), ("13:00", "18:00")], 6: [("10:00", "16:00")]},
            close=[("2026-12-25T00:00:00Z", "2026-12-26T00:00:00Z")],
        ),
        {},
        "opening_times",
    )
    assert not field.has_changed(stored, data)
    assert field.same_value(stored, field.clean(data))


@pytest.mark.django_db
def test_hours_ending_before_they_begin_are_refused_and_marked_at_the_period():
    data = grid_data("hours", days={2: [("08:00", "12:00"), ("18:00", "09:00")]})
    form = location_form({k: (v if len(v) > 1 else v[0]) for k, v in data.lists()})

    assert not form.is_valid()
    message = "opening_times.regular_hours[1].period_end: must be later than period_begin"
    assert form.errors["opening_times"] == [message]
    html = str(form["opening_times"])
    assert f"Tuesday, period 2: {message}" in html
    assert 'name="opening_times-d2-begin" value="18:00"' in html  # kept as typed


@pytest.mark.django_db
def test_a_grid_without_a_mode_is_refused():
    form = location_form({"opening_times-mode": "sometimes"})
    assert not form.is_valid()
    assert form.errors["opening_times"] == ["Choose not given, open 24/7 or regular hours."]


# --- The raw JSON view -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_raw_view_has_json_textareas_instead_of_editors():
    token = RAW_JSON.set(True)
    try:
        form = LocationForm(instance=LocationFactory.build(opening_times=HOURS))
    finally:
        RAW_JSON.reset(token)
    assert json.loads(form["opening_times"].value()) == HOURS
    assert "<textarea" in str(form["opening_times"])
    assert "ocpi-hours" not in str(form["opening_times"])


def test_the_raw_view_refuses_invalid_json_with_its_place_and_keeps_the_typed_text(
    admin_client, full_site
):
    raw_view = location_url(full_site) + "?raw_json=1"
    data = page_form(admin_client, raw_view)

    response = submit(admin_client, raw_view, data, opening_times='{"twentyfourseven": true')

    assert response.status_code == 200
    text = page_text(response)
    assert "This is not valid JSON: Expecting ',' delimiter (line 1, column 25)." in text
    assert '{"twentyfourseven": true</textarea>' in text


def test_an_unchanged_page_with_every_editor_saves_nothing(admin_client, full_site):
    """What the page shows (editors' values in their textareas, the grid's rows) is
    exactly the stored objects: submitting it unchanged changes and records nothing."""
    before = full_site.version
    data = page_form(admin_client, location_url(full_site))

    response = submit(admin_client, location_url(full_site), data)

    assert response.status_code == 302
    full_site.refresh_from_db()
    assert full_site.version == before


@pytest.mark.django_db
def test_an_exceptional_closing_ending_before_it_begins_is_marked_at_its_row():
    data = grid_data("247", close=[("2026-12-26T00:00:00Z", "2026-12-25T00:00:00Z")])
    form = location_form({k: (v if len(v) > 1 else v[0]) for k, v in data.lists()})

    assert not form.is_valid()
    message = "opening_times.exceptional_closings[0].period_end: must be later than period_begin"
    assert form.errors["opening_times"] == [message]
    html = str(form["opening_times"])
    assert f'<span class="ocpi-cell-error">{message}</span>' in html
    assert 'value="2026-12-26T00:00:00Z"' in html
