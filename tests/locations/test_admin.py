"""The operator admin: real admin pages, submitted as a browser would submit them.

`page_form` reads a page's form the way a browser does (every named input, checked boxes,
selected options, textareas), so an unchanged submit is exactly what an operator's browser
sends; tests then change the fields they are about.
"""

import html
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from locations import services
from locations.enums import Status
from locations.models import EVSE, Connector, Location
from locations.serializers import location_data
from pushers.models import ChangeRecord
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory

LOCATION_ADD = "/admin/locations/location/add/"
LOCATION_LIST = "/admin/locations/location/"
EVSE_LIST = "/admin/locations/evse/"
CONNECTOR_LIST = "/admin/locations/connector/"


def location_url(location: Location) -> str:
    return f"/admin/locations/location/{location.pk}/change/"


def evse_url(evse: EVSE) -> str:
    return f"/admin/locations/evse/{evse.pk}/change/"


# --- Reading and submitting admin forms like a browser ------------------------------------


class _FormReader(HTMLParser):
    """Collects what a browser submits for the admin's change form."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._in_form = False
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def _add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("id") or "").endswith("_form"):
            self._in_form = True
        if not self._in_form:
            return
        name = attrs.get("name")
        enabled = name and "disabled" not in attrs
        if tag == "input" and enabled:
            kind = attrs.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self._add(name, attrs.get("value", "on"))
            elif kind not in {"submit", "button", "reset", "image", "file"}:
                self._add(name, attrs.get("value", ""))
        elif tag == "select" and enabled:
            self._select, self._options = name, []
        elif tag == "option" and self._select:
            self._options.append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "textarea" and enabled:
            self._textarea, self._text = name, []

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select" and self._select:
            selected = [value for value, chosen in self._options if chosen]
            if selected or self._options:
                self._add(self._select, (selected or [self._options[0][0]])[0])
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = "".join(self._text)
            # Browsers drop the one newline that follows <textarea>.
            self._add(self._textarea, text[1:] if text.startswith("\n") else text)
            self._textarea = None


def page_form(client, url: str) -> dict[str, list[str]]:
    response = client.get(url)
    assert response.status_code == 200
    reader = _FormReader()
    reader.feed(response.content.decode())
    assert reader.data, f"no form found on {url}"
    return reader.data


def submit(client, url: str, data: dict, **changes):
    """POST the form data with `changes` applied (field name -> value or list of values)."""
    data = {**data, **changes, "_save": "Save"}
    return client.post(url, data)


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def messages_of(response) -> list[tuple[str, str]]:
    """The (level, text) of each message the page shows."""
    return [(m.level_tag, m.message) for m in response.context["messages"]]


def errors_of(response) -> str:
    """The page's error texts, to show in assertion messages."""
    reader_text = page_text(response)
    return " | ".join(
        line.strip() for line in reader_text.splitlines() if "error" in line and "<li>" in line
    )


LOCATION_FIELDS = {
    "country_code": "NL",
    "party_id": "EXA",
    "id": "LOC-NEW",
    "name": "Harbour Car Park",
    "address": "Kade 12",
    "postal_code": "1011 AB",
    "city": "Amsterdam",
    "country": "NLD",
    "coordinates_0": "52.370216",
    "coordinates_1": "4.895168",
    "time_zone": "Europe/Amsterdam",
    "publish": "on",
    "parking_type": "PARKING_GARAGE",
    "facilities": ["CAFE", "WIFI"],
    "opening_times-mode": "247",  # the week grid's "Open 24/7"
}


def evse_fields(uid: str, evse_id: str, status: str = "AVAILABLE") -> dict:
    return {"uid": uid, "evse_id": evse_id, "status": status, "capabilities": ["RFID_READER"]}


def connector_fields(connector_id: str, power_type: str = "AC_3_PHASE") -> dict:
    dc = power_type == "DC"
    return {
        "id": connector_id,
        "standard": "IEC_62196_T2_COMBO" if dc else "IEC_62196_T2",
        "format": "CABLE" if dc else "SOCKET",
        "power_type": power_type,
        "max_voltage": "920" if dc else "230",
        "max_amperage": "200" if dc else "32",
        "tariff_ids": "AC-STD",
    }


def new_site_form(client, *, evses: list[tuple[dict, list[dict]]], **location_changes) -> dict:
    """The Location add page filled in: the Location, its EVSEs and their Connectors.

    The prefixes are read from the page: EVSE forms are `evses-<n>`, the Connector forms of
    EVSE n are `evses-<n>-connectors-<m>`, each formset with its management form.
    """
    data = page_form(client, LOCATION_ADD)
    assert "evses-TOTAL_FORMS" in data and "evses-0-connectors-TOTAL_FORMS" in data
    data.update(LOCATION_FIELDS)
    data.update(location_changes)
    data["evses-TOTAL_FORMS"] = [str(len(evses))]
    for n, (evse, connectors) in enumerate(evses):
        prefix = f"evses-{n}"
        for name, value in evse.items():
            data[f"{prefix}-{name}"] = value
        data[f"{prefix}-connectors-TOTAL_FORMS"] = str(len(connectors))
        data[f"{prefix}-connectors-INITIAL_FORMS"] = "0"
        data[f"{prefix}-connectors-MIN_NUM_FORMS"] = "0"
        data[f"{prefix}-connectors-MAX_NUM_FORMS"] = "1000"
        for m, connector in enumerate(connectors):
            for name, value in connector.items():
                data[f"{prefix}-connectors-{m}-{name}"] = value
    return data


def two_evse_site(client, **location_changes) -> dict:
    return new_site_form(
        client,
        evses=[
            (evse_fields("EVSE-A", "NL*EXA*E100*1"), [connector_fields("1")]),
            (
                evse_fields("EVSE-B", "NL*EXA*E100*2"),
                [connector_fields("1"), connector_fields("2", "DC")],
            ),
        ],
        **location_changes,
    )


def age(location: Location) -> None:
    """Move every timestamp of the site an hour back, so that a bump would show."""
    hour = timedelta(hours=1)
    Location.objects.filter(pk=location.pk).update(last_updated=location.last_updated - hour)
    EVSE.objects.filter(location=location).update(last_updated=location.last_updated - hour)
    Connector.objects.filter(evse__location=location).update(
        last_updated=location.last_updated - hour
    )


def timestamps(location: Location) -> list:
    return [
        Location.objects.get(pk=location.pk).last_updated,
        *EVSE.objects.filter(location=location).values_list("last_updated", flat=True),
        *Connector.objects.filter(evse__location=location).values_list("last_updated", flat=True),
    ]


# --- Creating a whole site on one page -----------------------------------------------------


def test_one_submit_creates_a_site_with_two_evses_and_three_connectors_as_one_location_put(
    admin_client,
):
    response = submit(admin_client, LOCATION_ADD, two_evse_site(admin_client))

    assert response.status_code == 302, errors_of(response)
    location = Location.objects.get(id="LOC-NEW")
    assert location.coordinates == {"latitude": "52.370216", "longitude": "4.895168"}
    assert location.facilities == ["CAFE", "WIFI"]
    assert location.opening_times == {"twentyfourseven": True}
    assert location.operator is None and location.images == []
    evses = {evse.uid: evse for evse in location.evses.all()}
    assert set(evses) == {"EVSE-A", "EVSE-B"}
    assert list(evses["EVSE-A"].connectors.values_list("id", flat=True)) == ["1"]
    assert list(evses["EVSE-B"].connectors.values_list("id", "power_type")) == [
        ("1", "AC_3_PHASE"),
        ("2", "DC"),
    ]
    assert evses["EVSE-B"].connectors.get(id="1").tariff_ids == ["AC-STD"]
    assert set(timestamps(location)) == {location.last_updated}
    assert list(ChangeRecord.objects.values_list("level", "method", "location")) == [
        ("location", "PUT", location.pk)
    ]


def test_the_add_page_suggests_our_own_country_code_and_party_id(admin_client, settings):
    settings.OCPI_COUNTRY_CODE, settings.OCPI_PARTY_ID = "BE", "XYZ"
    data = page_form(admin_client, LOCATION_ADD)
    assert (data["country_code"], data["party_id"]) == (["BE"], ["XYZ"])


def test_an_evse_with_its_connectors_is_added_from_the_evse_page_as_one_evse_put(
    admin_client, site
):
    data = page_form(admin_client, "/admin/locations/evse/add/")
    data.update(evse_fields("EVSE-NEW", "NL*EXA*E777"))
    data.update({f"connectors-0-{k}": v for k, v in connector_fields("1").items()})
    data.update({f"connectors-1-{k}": v for k, v in connector_fields("2", "DC").items()})
    data["connectors-TOTAL_FORMS"] = "2"
    data["location"] = str(site.pk)
    records = ChangeRecord.objects.count()

    response = submit(admin_client, "/admin/locations/evse/add/", data)

    assert response.status_code == 302, errors_of(response)
    evse = EVSE.objects.get(uid="EVSE-NEW")
    assert evse.location == site and evse.connectors.count() == 2
    new = ChangeRecord.objects.order_by("id")[records:]
    assert [(r.level, r.method, r.evse_id) for r in new] == [("evse", "PUT", evse.pk)]


# --- Changing existing objects -------------------------------------------------------------


def test_changing_an_evse_status_records_one_patch_of_status(admin_client, site):
    evse = site.evses.get()
    age(site)
    data = page_form(admin_client, evse_url(evse))
    records = ChangeRecord.objects.count()

    response = submit(admin_client, evse_url(evse), data, status="CHARGING")

    assert response.status_code == 302, errors_of(response)
    evse.refresh_from_db()
    assert evse.status == "CHARGING"
    new = ChangeRecord.objects.order_by("id")[records:]
    assert [(r.level, r.method, r.fields) for r in new] == [("evse", "PATCH", ["status"])]
    assert Location.objects.get(pk=site.pk).last_updated == evse.last_updated
    assert all(c.last_updated < evse.last_updated for c in evse.connectors.all())


def test_changing_an_evse_status_on_the_location_page_records_one_patch_of_status(
    admin_client, site
):
    data = page_form(admin_client, location_url(site))
    records = ChangeRecord.objects.count()

    response = submit(admin_client, location_url(site), data, **{"evses-0-status": "BLOCKED"})

    assert response.status_code == 302, errors_of(response)
    assert site.evses.get().status == "BLOCKED"
    new = ChangeRecord.objects.order_by("id")[records:]
    assert [(r.level, r.method, r.fields) for r in new] == [("evse", "PATCH", ["status"])]


def test_a_connector_added_and_one_changed_on_the_location_page_are_recorded_each(
    admin_client, site
):
    data = page_form(admin_client, location_url(site))
    assert data["evses-0-connectors-TOTAL_FORMS"] == ["2"]
    data.update({f"evses-0-connectors-2-{k}": v for k, v in connector_fields("3", "DC").items()})
    data["evses-0-connectors-TOTAL_FORMS"] = "3"
    records = ChangeRecord.objects.count()

    response = submit(
        admin_client, location_url(site), data, **{"evses-0-connectors-0-max_amperage": "25"}
    )

    assert response.status_code == 302, errors_of(response)
    evse = site.evses.get()
    assert sorted(evse.connectors.values_list("id", "max_amperage")) == [
        ("1", 25),
        ("2", 16),
        ("3", 200),
    ]
    new = ChangeRecord.objects.order_by("id")[records:]
    assert sorted((r.level, r.method, tuple(r.fields)) for r in new) == [
        ("connector", "PATCH", ("max_amperage",)),
        ("connector", "PUT", ()),
    ]


def _add_evse_row(data: dict, connectors: list[dict]) -> dict:
    """A second EVSE form on a Location page that shows one EVSE."""
    data = {**data, "evses-TOTAL_FORMS": "2", **_evse_1(**evse_fields("EVSE-2", "NL*EXA*E2"))}
    data.update(
        {
            "evses-1-connectors-TOTAL_FORMS": str(len(connectors)),
            "evses-1-connectors-INITIAL_FORMS": "0",
        }
    )
    for m, connector in enumerate(connectors):
        data.update({f"evses-1-connectors-{m}-{k}": v for k, v in connector.items()})
    return data


def _evse_1(**fields):
    return {f"evses-1-{k}": v for k, v in fields.items()}


def test_an_evse_added_on_the_location_page_is_one_evse_put(admin_client, site):
    data = _add_evse_row(page_form(admin_client, location_url(site)), [connector_fields("1")])
    records = ChangeRecord.objects.count()

    response = submit(admin_client, location_url(site), data)

    assert response.status_code == 302, errors_of(response)
    evse = EVSE.objects.get(uid="EVSE-2")
    assert evse.location == site and evse.connectors.get().id == "1"
    new = ChangeRecord.objects.order_by("id")[records:]
    assert [(r.level, r.method, r.evse_id) for r in new] == [("evse", "PUT", evse.pk)]


def test_an_evse_added_on_the_location_page_without_connectors_is_refused(admin_client, site):
    data = _add_evse_row(page_form(admin_client, location_url(site)), [])

    response = submit(admin_client, location_url(site), data)

    assert response.status_code == 200
    assert "EVSE EVSE-2 needs at least one connector: fill in a connector row." in page_text(
        response
    )
    assert not EVSE.objects.filter(uid="EVSE-2").exists()


def test_saving_an_unchanged_location_page_bumps_nothing_and_records_nothing(
    admin_client, full_site
):
    # Stored in an order other than the checkboxes': the stored order must survive.
    location = Location.objects.get(pk=full_site.pk)
    location.facilities = ["WIFI", "TRAIN_STATION"]
    services.location_update(location=location)
    age(location)
    before = timestamps(location)
    stored = Location.objects.filter(pk=location.pk).values().get()
    records = ChangeRecord.objects.count()

    data = page_form(admin_client, location_url(location))
    response = submit(admin_client, location_url(location), data)

    assert response.status_code == 302, errors_of(response)
    assert timestamps(location) == before
    assert Location.objects.filter(pk=location.pk).values().get() == stored
    assert ChangeRecord.objects.count() == records


def test_saving_an_unchanged_evse_page_bumps_nothing_and_records_nothing(admin_client, full_site):
    evse = full_site.evses.get()
    age(full_site)
    before = timestamps(full_site)
    stored = EVSE.objects.filter(pk=evse.pk).values().get()
    records = ChangeRecord.objects.count()

    response = submit(admin_client, evse_url(evse), page_form(admin_client, evse_url(evse)))

    assert response.status_code == 302, errors_of(response)
    assert timestamps(full_site) == before
    assert EVSE.objects.filter(pk=evse.pk).values().get() == stored
    assert ChangeRecord.objects.count() == records


def test_ticking_a_new_checkbox_keeps_the_stored_order_and_adds_the_new_value(
    admin_client, full_site
):
    data = page_form(admin_client, location_url(full_site))
    assert data["facilities"] == ["TRAIN_STATION", "WIFI"]

    response = submit(
        admin_client, location_url(full_site), data, facilities=["CAFE", "TRAIN_STATION", "WIFI"]
    )

    assert response.status_code == 302, errors_of(response)
    assert Location.objects.get(pk=full_site.pk).facilities == ["TRAIN_STATION", "WIFI", "CAFE"]
    assert ChangeRecord.objects.last().fields == ["facilities"]


def test_the_raw_view_shows_json_pretty_printed_and_empties_to_null_or_an_empty_list(
    admin_client, full_site
):
    raw_view = location_url(full_site) + "?raw_json=1"
    data = page_form(admin_client, raw_view)
    # (PostgreSQL's jsonb keeps its own key order, so only the layout is compared.)
    assert data["operator"][0].startswith('{\n  "')
    assert '\n  "name": "Example Charging",\n' in data["operator"][0]

    response = submit(admin_client, raw_view, data, operator="", directions="")

    assert response.status_code == 302, errors_of(response)
    location = Location.objects.get(pk=full_site.pk)
    assert (location.operator, location.directions) == (None, [])
    assert sorted(ChangeRecord.objects.last().fields) == ["directions", "operator"]


def test_ids_cannot_be_changed_once_created(admin_client, site):
    data = page_form(admin_client, location_url(site))
    assert "id" not in data and "evses-0-uid" not in data  # disabled inputs

    response = submit(admin_client, location_url(site), data, id="OTHER", **{"evses-0-uid": "X"})

    assert response.status_code == 302
    assert Location.objects.get(pk=site.pk).id == site.id
    assert site.evses.get().uid != "X"


# --- Validation: a clear message, nothing saved --------------------------------------------


def _evse_0(**fields):
    return {f"evses-0-{k}": v for k, v in fields.items()}


def _connector(evse: int, n: int, **fields):
    return {f"evses-{evse}-connectors-{n}-{k}": v for k, v in fields.items()}


INVALID_SITES = [
    ("id too long", {"id": "L" * 37}, "Ensure this value has at most 36 characters (it has 37)."),
    ("id with spaces", {"id": "LOC 1"}, "must not contain spaces"),
    (
        "latitude with one decimal",
        {"coordinates_0": "52.1"},
        "coordinates.latitude: 52.1 has 1 decimal: give 4 to 7, e.g. 52.089444",
    ),
    (
        "longitude with eight decimals",
        {"coordinates_1": "4.89516812"},
        "coordinates.longitude: 4.89516812 has 8 decimals: give 4 to 7, e.g. 5.110278",
    ),
    (
        "latitude beyond the pole",
        {"coordinates_0": "95.0000"},
        "coordinates.latitude: 95.0000 is outside −90…90",
    ),
    (
        "EVSE longitude beyond the date line",
        _evse_0(coordinates_0="52.3702", coordinates_1="200.0000"),
        "coordinates.longitude: 200.0000 is outside −180…180",
    ),
    (
        "longitude missing",
        {"coordinates_1": ""},
        "Enter both the latitude and the longitude, e.g. 52.089444 and 5.110278.",
    ),
    (
        "alpha-2 country",
        {"country": "NL"},
        "Use the site's three-letter ISO 3166-1 alpha-3 code here, e.g. NLD (not the "
        "two-letter NL).",
    ),
    (
        "unknown alpha-3 country",
        {"country": "XYZ"},
        "'XYZ' is not an ISO 3166-1 alpha-3 country code in capitals, e.g. NLD",
    ),
    (
        "unknown alpha-2 country_code",
        {"country_code": "QQ"},
        "'QQ' is not an ISO 3166-1 alpha-2 country code, e.g. NL",
    ),
    (
        "alpha-3 country_code",
        {"country_code": "NLD"},
        "Use the CPO's two-letter ISO 3166-1 alpha-2 code here, e.g. NL (the site's "
        "three-letter code, e.g. NLD, goes in country).",
    ),
    ("unknown time zone", {"time_zone": "Mars/Olympus"}, "'Mars/Olympus' is not an IANA time zone"),
    (
        "opening hours ending before they begin",
        {
            "opening_times-mode": "hours",
            "opening_times-d1-begin": "20:00",
            "opening_times-d1-end": "08:00",
        },
        "opening_times.regular_hours[0].period_end: must be later than period_begin",
    ),
    (
        "opening hours without hours",
        {"opening_times-mode": "hours"},
        "opening_times.regular_hours: needs at least one entry when twentyfourseven is false",
    ),
    (
        "publish_allowed_to while published",
        {"publish_allowed_to": '[{"group_id": "FLEET-1"}]'},
        "Only allowed when publish is off: untick publish, or empty this list.",
    ),
    (
        "token uid without type",
        {"publish": "", "publish_allowed_to": '[{"uid": "0123"}]'},
        "publish_allowed_to[0].type: is required when uid is set",
    ),
    (
        "token without any identification",
        {"publish": "", "publish_allowed_to": '[{"issuer": "X"}]'},
        "publish_allowed_to[0]: set at least one of uid, visual_number or group_id",
    ),
    (
        "unknown facility",
        {"facilities": ["CASINO"]},
        "Select a valid choice. CASINO is not one of the available choices.",
    ),
    (
        "EVSE ID in a wrong format",
        _evse_0(evse_id="12345"),
        "'12345' is not an eMI3 EVSE ID such as NL*ABC*E12345*1",
    ),
    (
        "EVSE uid too long",
        _evse_0(uid="E" * 37),
        "Ensure this value has at most 36 characters (it has 37).",
    ),
    (
        "two EVSEs with one uid (case-insensitive)",
        {"evses-1-uid": "evse-a"},
        "Another EVSE of this Location has this uid already.",
    ),
    (
        "two EVSEs with one EVSE ID",
        {"evses-1-evse_id": "nl*exa*e100*1"},
        "Another EVSE of this Location has this EVSE ID.",
    ),
    (
        "two connectors with one id (case-insensitive)",
        {**_connector(1, 0, id="a"), **_connector(1, 1, id="A")},
        "This EVSE has a connector with this id already.",
    ),
    (
        "a connector without voltage",
        _connector(0, 0, max_voltage=""),
        "This field is required.",
    ),
    (
        "an EVSE without connectors",
        {"evses-0-connectors-TOTAL_FORMS": "0"},
        "EVSE EVSE-A needs at least one connector: fill in a connector row.",
    ),
    (
        "connectors under an empty EVSE form",
        {
            "evses-0-uid": "",
            "evses-0-evse_id": "",
            "evses-0-status": "UNKNOWN",
            "evses-0-capabilities": [],
        },
        "These connectors belong to an EVSE that is still empty",
    ),  # fmt: skip
    (
        "the same tariff id twice",
        _connector(0, 0, tariff_ids="AC-STD, AC-STD"),
        "tariff_ids: contains the same value twice",
    ),
]


@pytest.mark.parametrize(
    ("changes", "message"),
    [pytest.param(changes, message, id=name) for name, changes, message in INVALID_SITES],
)
def test_an_invalid_site_is_refused_with_a_readable_message_and_nothing_is_saved(
    admin_client, changes, message
):
    data = two_evse_site(admin_client)
    data.update(changes)

    response = submit(admin_client, LOCATION_ADD, data)

    assert response.status_code == 200
    assert message in page_text(response), errors_of(response)
    assert not Location.objects.exists()
    assert not EVSE.objects.exists() and not Connector.objects.exists()
    assert not ChangeRecord.objects.exists()


# --- Coordinates: typed with 4 to 7 decimals, stored and served in the spec's format --------


def test_coordinates_typed_with_four_decimals_are_stored_and_served_in_the_spec_format(
    admin_client,
):
    data = two_evse_site(admin_client, coordinates_0="52.3702", coordinates_1="-4.8952")
    data.update(_evse_0(coordinates_0="52.37025", coordinates_1="4.8951678"))

    response = submit(admin_client, LOCATION_ADD, data)

    assert response.status_code == 302, errors_of(response)
    location = Location.objects.get(id="LOC-NEW")
    assert location.coordinates == {"latitude": "52.37020", "longitude": "-4.89520"}
    assert location.evses.get(uid="EVSE-A").coordinates == {
        "latitude": "52.37025",
        "longitude": "4.8951678",
    }
    # What the Sender interface serves and the pushers send is the stored document.
    document = location_data(Location.objects.get(pk=location.pk))
    assert document["coordinates"] == {"latitude": "52.37020", "longitude": "-4.89520"}
    assert [evse.get("coordinates") for evse in document["evses"]] == [
        {"latitude": "52.37025", "longitude": "4.8951678"},
        None,
    ]


def test_coordinates_off_the_earth_are_refused_naming_each_and_the_typed_values_are_kept(
    admin_client,
):
    data = two_evse_site(admin_client, coordinates_0="95.0000", coordinates_1="200.0000")

    response = submit(admin_client, LOCATION_ADD, data)

    assert response.status_code == 200
    assert "coordinates.latitude: 95.0000 is outside −90…90" in page_text(response)
    assert "coordinates.longitude: 200.0000 is outside −180…180" in page_text(response)
    reader = _FormReader()
    reader.feed(response.content.decode())
    assert reader.data["coordinates_0"] == ["95.0000"]
    assert reader.data["coordinates_1"] == ["200.0000"]
    assert reader.data["name"] == ["Harbour Car Park"]
    assert not Location.objects.exists() and not ChangeRecord.objects.exists()


def test_an_unchanged_site_in_the_spec_format_saves_its_coordinates_unchanged(admin_client, site):
    stored = dict(site.coordinates)

    response = submit(admin_client, location_url(site), page_form(admin_client, location_url(site)))

    assert response.status_code == 302, errors_of(response)
    assert Location.objects.get(pk=site.pk).coordinates == stored


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"id": "{location_id}"},
            "A Location with this id exists already (ids are unique on the whole platform, "
            "case-insensitive).",
        ),
        (_evse_0(uid="{uid}"), "An EVSE with this uid exists already."),
        (_evse_0(evse_id="{evse_id}"), "Another EVSE that is not removed has this EVSE ID."),
    ],
    ids=["location id", "EVSE uid", "EVSE ID"],
)
def test_ids_that_exist_already_in_other_case_are_refused(admin_client, site, changes, message):
    evse = site.evses.get()
    stored = {"location_id": site.id, "uid": evse.uid, "evse_id": evse.evse_id}
    data = two_evse_site(admin_client)
    # The stored ids in lower case.
    data.update({name: value.format(**stored).lower() for name, value in changes.items()})

    response = submit(admin_client, LOCATION_ADD, data)

    assert response.status_code == 200
    assert message in page_text(response), errors_of(response)
    assert Location.objects.count() == 1
    assert ChangeRecord.objects.count() == 1


def test_a_refused_change_saves_nothing_of_the_whole_submit(admin_client, site):
    """The service refuses to bring a removed EVSE back; the Location's new name, saved
    before in the same submit, is rolled back and the refusal is shown on the form."""
    services.evse_remove(evse=site.evses.get())
    age(site)
    before = timestamps(site)
    records = ChangeRecord.objects.count()
    data = page_form(admin_client, location_url(site))

    response = submit(
        admin_client,
        location_url(site),
        data,
        name="A new name",
        **{"evses-0-status": "AVAILABLE"},
    )

    assert response.status_code == 200
    text = page_text(response)
    assert "A removed EVSE stays removed; create a new EVSE with a new uid instead." in text
    assert "Nothing was saved." in text
    assert Location.objects.get(pk=site.pk).name == site.name
    assert site.evses.get().status == Status.REMOVED
    assert timestamps(site) == before
    assert ChangeRecord.objects.count() == records


# --- Deleting ------------------------------------------------------------------------------


def test_locations_cannot_be_deleted(admin_client, site):
    assert admin_client.get(f"/admin/locations/location/{site.pk}/delete/").status_code == 403
    assert admin_client.post(f"/admin/locations/location/{site.pk}/delete/").status_code == 403
    text = page_text(admin_client.get(LOCATION_LIST))
    assert 'value="publish_locations"' in text and "delete_selected" not in text
    assert Location.objects.filter(pk=site.pk).exists()


def test_evses_cannot_be_deleted_only_marked_removed(admin_client, site):
    evse = site.evses.get()
    assert admin_client.post(f"/admin/locations/evse/{evse.pk}/delete/").status_code == 403
    assert "delete_selected" not in page_text(admin_client.get(EVSE_LIST))
    # The Location page offers no delete box for EVSEs, so a forged one does nothing.
    data = page_form(admin_client, location_url(site))
    assert "evses-0-DELETE" not in data
    submit(admin_client, location_url(site), data, **{"evses-0-DELETE": "on"})
    assert EVSE.objects.filter(pk=evse.pk, status=Status.AVAILABLE).exists()

    response = admin_client.post(
        EVSE_LIST,
        {"action": "mark_removed", "_selected_action": [evse.pk], "post": "yes"},
        follow=True,
    )

    assert "1 EVSE set to REMOVED." in page_text(response)
    assert EVSE.objects.get(pk=evse.pk).status == Status.REMOVED
    assert ChangeRecord.objects.last().fields == ["status"]


def test_deleting_one_connector_of_two_records_a_put_of_the_evse(admin_client, site):
    evse = site.evses.get()
    data = page_form(admin_client, evse_url(evse))
    records = ChangeRecord.objects.count()

    response = submit(admin_client, evse_url(evse), data, **{"connectors-1-DELETE": "on"})

    assert response.status_code == 302, errors_of(response)
    assert list(evse.connectors.values_list("id", flat=True)) == ["1"]
    new = ChangeRecord.objects.order_by("id")[records:]
    assert [(r.level, r.method) for r in new] == [("evse", "PUT")]


def test_deleting_the_last_connector_is_refused_with_a_form_error(admin_client, site):
    evse = site.evses.get()
    age(site)
    before = timestamps(site)
    data = page_form(admin_client, evse_url(evse))

    response = submit(
        admin_client,
        evse_url(evse),
        data,
        status="CHARGING",
        **{"connectors-0-DELETE": "on", "connectors-1-DELETE": "on"},
    )

    assert response.status_code == 200
    assert (
        f"EVSE {evse.uid} needs at least one connector: its last connector cannot be deleted."
        in page_text(response)
    )
    assert evse.connectors.count() == 2
    assert EVSE.objects.get(pk=evse.pk).status == Status.AVAILABLE
    assert timestamps(site) == before


def test_a_connector_cannot_be_deleted_and_re_added_with_its_id_in_one_save(admin_client, site):
    evse = site.evses.get()
    data = page_form(admin_client, evse_url(evse))
    data.update({f"connectors-2-{k}": v for k, v in connector_fields("2", "DC").items()})
    data["connectors-TOTAL_FORMS"] = "3"

    response = submit(admin_client, evse_url(evse), data, **{"connectors-1-DELETE": "on"})

    assert response.status_code == 200
    assert "A connector with this id is deleted in the same save" in page_text(response)
    assert sorted(evse.connectors.values_list("id", "power_type")) == [
        ("1", "AC_3_PHASE"),
        ("2", "AC_3_PHASE"),
    ]


def test_the_connector_list_is_read_only(admin_client, site):
    connector = Connector.objects.filter(evse__location=site).first()
    assert admin_client.get("/admin/locations/connector/add/").status_code == 403
    url = f"/admin/locations/connector/{connector.pk}/change/"
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"max_voltage": "1"}).status_code == 403
    assert (
        admin_client.post(f"/admin/locations/connector/{connector.pk}/delete/").status_code == 403
    )


# --- Bulk actions --------------------------------------------------------------------------


def _make_sites(count: int, **fields) -> list[Location]:
    return [
        services.location_create(
            location=LocationFactory.build(**fields),
            evses=[(EVSEFactory.build(), [ConnectorFactory.build()])],
        )
        for _ in range(count)
    ]


def test_setting_the_status_of_evses_in_bulk_says_how_many_changed(admin_client):
    sites = _make_sites(3)
    evses = [site.evses.get() for site in sites]
    services.evse_remove(evse=evses[2])
    records = ChangeRecord.objects.count()

    response = admin_client.post(
        EVSE_LIST,
        {"action": "set_status_charging", "_selected_action": [e.pk for e in evses]},
        follow=True,
    )

    assert messages_of(response) == [
        ("success", "2 EVSEs set to CHARGING."),
        ("warning", "1 removed EVSE left as removed: a removed EVSE stays removed."),
    ]
    assert [EVSE.objects.get(pk=e.pk).status for e in evses] == ["CHARGING", "CHARGING", "REMOVED"]
    new = ChangeRecord.objects.order_by("id")[records:]
    assert [(r.method, r.fields) for r in new] == [("PATCH", ["status"])] * 2


def test_every_evse_status_but_removed_has_its_own_bulk_action(admin_client, site):
    text = page_text(admin_client.get(EVSE_LIST))
    for status in Status.values:
        if status != Status.REMOVED:
            assert f'value="set_status_{status.lower()}"' in text
    assert 'value="mark_removed"' in text


def test_unpublishing_and_publishing_locations_in_bulk(admin_client):
    sites = _make_sites(2)
    pks = [site.pk for site in sites]

    response = admin_client.post(
        LOCATION_LIST, {"action": "unpublish_locations", "_selected_action": pks}, follow=True
    )
    assert "2 Locations unpublished." in page_text(response)
    assert not Location.objects.filter(publish=True).exists()

    response = admin_client.post(
        LOCATION_LIST, {"action": "publish_locations", "_selected_action": pks[:1]}, follow=True
    )
    assert "1 Location published." in page_text(response)
    assert list(Location.objects.filter(publish=True).values_list("pk", flat=True)) == pks[:1]


def test_publishing_a_location_with_publish_allowed_to_is_refused_with_a_message(admin_client):
    restricted, plain = _make_sites(
        1, publish=False, publish_allowed_to=[{"group_id": "FLEET-1"}]
    ) + _make_sites(1, publish=False)

    response = admin_client.post(
        LOCATION_LIST,
        {"action": "publish_locations", "_selected_action": [restricted.pk, plain.pk]},
        follow=True,
    )

    assert response.status_code == 200
    text = page_text(response)
    assert f"Not published: {restricted.id} — it has publish_allowed_to" in text
    assert "1 Location published." in text
    assert not Location.objects.get(pk=restricted.pk).publish
    assert Location.objects.get(pk=plain.pk).publish


# --- Lists: filters, search, queries -------------------------------------------------------


def _rows(response) -> int:
    return len(response.context["cl"].result_list)


def test_location_list_filters_and_search(admin_client):
    utrecht = _make_sites(2)
    (rotterdam,) = _make_sites(1, city="Rotterdam", postal_code="3011 AA", publish=False)
    dc_evse = rotterdam.evses.get()
    services.evse_create(
        evse=EVSEFactory.build(location=rotterdam, uid="DC-1", evse_id="NL*EXA*EDC1"),
        connectors=[ConnectorFactory.build(power_type="DC", standard="CHADEMO", format="CABLE")],
    )

    def count(query: str) -> int:
        response = admin_client.get(LOCATION_LIST + query)
        assert response.status_code == 200
        return _rows(response)

    assert count("") == 3
    assert count("?city=Rotterdam") == 1
    assert count("?publish__exact=1") == 2
    assert count("?country=NLD") == 3
    assert count("?evses__connectors__power_type=DC") == 1
    assert count("?evses__status=AVAILABLE") == 3
    assert count("?q=3011") == 1
    assert count(f"?q={dc_evse.evse_id}") == 1
    assert count("?q=DC-1") == 1
    assert count(f"?q={utrecht[0].id}") == 1
    assert count("?q=Stationsplein") == 3


def test_evse_and_connector_lists_filter_and_search(admin_client):
    sites = _make_sites(2)
    sites += _make_sites(1, city="Delft")
    services.evses_set_status(evses=[sites[0].evses.get()], status=Status.BLOCKED)

    def count(url: str) -> int:
        response = admin_client.get(url)
        assert response.status_code == 200
        return _rows(response)

    assert count(EVSE_LIST + "?status__exact=BLOCKED") == 1
    assert count(EVSE_LIST + "?location__city=Delft") == 1
    assert count(EVSE_LIST + f"?q={sites[1].evses.get().uid}") == 1
    assert count(EVSE_LIST + "?q=Delft") == 1
    assert count(CONNECTOR_LIST + "?power_type__exact=AC_3_PHASE") == 3
    assert count(CONNECTOR_LIST + "?power_type__exact=DC") == 0
    assert count(CONNECTOR_LIST + f"?q={sites[2].id}") == 1


def test_lists_show_last_updated_and_the_location_list_filters_by_it(admin_client, site):
    # No date hierarchy (a DISTINCT over every row per page view, docs/admin.md "Large
    # lists"); the Location list filters by fixed periods instead.
    for url in (LOCATION_LIST, EVSE_LIST, CONNECTOR_LIST):
        text = page_text(admin_client.get(url))
        assert "last_updated__year=" not in text
        assert "column-last_updated" in text
    assert "last_updated__gte=" in page_text(admin_client.get(LOCATION_LIST))


@pytest.mark.parametrize("url", [LOCATION_LIST, EVSE_LIST, CONNECTOR_LIST])
def test_list_queries_do_not_grow_with_the_number_of_rows(
    admin_client, django_assert_max_num_queries, url
):
    _make_sites(1)
    admin_client.get(url)  # warm up session and content types
    with CaptureQueriesContext(connection) as one_row:
        admin_client.get(url)
    _make_sites(15)

    with django_assert_max_num_queries(len(one_row.captured_queries)):
        response = admin_client.get(url)

    assert _rows(response) == 16
