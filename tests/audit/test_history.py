"""The audit trail: every change of a Location, EVSE, Connector or Partner – from a form, a
bulk action, a command or an import – is recorded with who made it, when, and the old and new
values, and shown on the object's History page in the admin (audit/, docs/admin.md)."""

import html
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.context import acting_as
from locations import services
from locations.bulk import locations_bulk_create
from locations.enums import Status
from locations.models import EVSE, Connector, Location
from partners.models import Partner
from tests.audit import retire_partner
from tests.conftest import PARTNER_TOKEN
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory
from tests.locations.test_admin import (
    EVSE_LIST,
    LOCATION_LIST,
    errors_of,
    evse_url,
    location_url,
    page_form,
    submit,
)


def history_url(obj) -> str:
    opts = obj._meta
    return f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/history/"


def _text(fragment: str) -> str:
    inline = re.sub(r"</?(strong|span)[^>]*>", "", fragment)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def history_rows(client, obj) -> list[tuple[str, str, str]]:
    """(object, who, change) of each row of the History page, newest first."""
    response = client.get(history_url(obj))
    assert response.status_code == 200
    rows = re.findall(r'<tr class="audit-\w+">(.*?)</tr>', response.content.decode(), re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]
    return [(_text(c[1]), _text(c[2]), _text(c[3])) for c in cells]


# --- Form edits -----------------------------------------------------------------------------


def test_a_form_edit_is_recorded_with_the_user_and_old_and_new_values(admin_client, site):
    evse = site.evses.get()
    data = page_form(admin_client, location_url(site))

    response = submit(
        admin_client,
        location_url(site),
        data,
        name="Harbour Car Park",
        facilities=["WIFI"],
        **{"evses-0-status": "CHARGING"},
    )

    assert response.status_code == 302, errors_of(response)
    change_page = f"POST {location_url(site)}"
    assert history_rows(admin_client, site)[:2] == [
        (f"EVSE {evse.evse_id}", f"admin {change_page}", "status: AVAILABLE → CHARGING"),
        (
            f"Location {site.id}",
            f"admin {change_page}",
            f'facilities: [] → ["WIFI"] name: {site.name} → Harbour Car Park',
        ),
    ]
    record = EVSE.history.filter(row_id=evse.pk).latest("history_id")
    assert (record.history_user.username, record.history_source, record.history_type) == (
        "admin",
        change_page,
        "~",
    )


def test_the_history_of_a_new_site_starts_with_its_creation(admin_client, site):
    connectors = [f"Connector {c.id} of EVSE {c.evse.evse_id}" for c in Connector.objects.all()]

    rows = history_rows(admin_client, site)

    assert sorted(rows) == sorted(
        [(f"Location {site.id}", "unknown", "Created.")]
        + [(f"EVSE {site.evses.get().evse_id}", "unknown", "Created.")]
        + [(label, "unknown", "Created.") for label in connectors]
    )


def test_deleting_a_connector_on_the_evse_page_is_recorded(admin_client, site):
    evse = site.evses.get()
    data = page_form(admin_client, evse_url(evse))

    response = submit(admin_client, evse_url(evse), data, **{"connectors-1-DELETE": "on"})

    assert response.status_code == 302, errors_of(response)
    assert history_rows(admin_client, evse)[0] == (
        f"Connector 2 of EVSE {evse.evse_id}",
        f"admin POST {evse_url(evse)}",
        "Deleted.",
    )


# --- Bulk actions ---------------------------------------------------------------------------


def test_a_bulk_status_action_records_each_evse_with_the_user(admin_client):
    sites = [
        services.location_create(
            location=LocationFactory.build(),
            evses=[(EVSEFactory.build(), [ConnectorFactory.build()])],
        )
        for _ in range(3)
    ]
    evses = [site.evses.get() for site in sites]

    response = admin_client.post(
        EVSE_LIST,
        {"action": "set_status_outoforder", "_selected_action": [e.pk for e in evses[:2]]},
    )

    assert response.status_code == 302
    for evse in evses[:2]:
        assert history_rows(admin_client, evse)[0] == (
            f"EVSE {evse.evse_id}",
            f"admin POST {EVSE_LIST}",
            "status: AVAILABLE → OUTOFORDER",
        )
    # The EVSE not selected: its creation and its Connector's, nothing else.
    assert [row[2] for row in history_rows(admin_client, evses[2])] == ["Created.", "Created."]


def test_a_confirmed_mark_removed_is_recorded(admin_client, site):
    evse = site.evses.get()

    admin_client.post(
        EVSE_LIST, {"action": "mark_removed", "_selected_action": [evse.pk], "post": "yes"}
    )

    assert history_rows(admin_client, site)[0] == (
        f"EVSE {evse.evse_id}",
        f"admin POST {EVSE_LIST}",
        "status: AVAILABLE → REMOVED",
    )


def test_a_bulk_unpublish_is_recorded_on_each_location(admin_client, site):
    response = admin_client.post(
        LOCATION_LIST, {"action": "unpublish_locations", "_selected_action": [site.pk]}
    )

    assert response.status_code == 302
    assert history_rows(admin_client, site)[0] == (
        f"Location {site.id}",
        f"admin POST {LOCATION_LIST}",
        "publish: True → False",
    )


# --- Commands, imports, services without a user ---------------------------------------------


def test_a_command_made_change_names_the_command(admin_client, settings):
    settings.OCPI_COUNTRY_CODE, settings.OCPI_PARTY_ID = "NL", "EXA"
    call_command(
        "ocpi_demo_data",
        "--locations",
        "2",
        "--evses-per-location",
        "1",
        "--connectors-per-evse",
        "1",
        stdout=StringIO(),
    )

    location = Location.objects.order_by("pk").first()
    evse_id = location.evses.get().evse_id
    assert history_rows(admin_client, location) == [  # one time: in the order of the tree
        (f"Location {location.id}", "command ocpi_demo_data", "Created."),
        (f"EVSE {evse_id}", "command ocpi_demo_data", "Created."),
        (f"Connector 1 of EVSE {evse_id}", "command ocpi_demo_data", "Created."),
    ]
    records = Location.history.all()
    assert {(r.history_user_id, r.history_source, r.history_type) for r in records} == {
        (None, "command ocpi_demo_data", "+")
    }
    assert records.count() == 2


def test_an_import_without_a_command_names_what_the_code_says(admin_client):
    sites = [
        (LocationFactory.build(), [(EVSEFactory.build(), [ConnectorFactory.build(id="1")])])
        for _ in range(2)
    ]
    with acting_as("import stations-2026-12.csv"):
        locations_bulk_create(sites=sites)

    assert {r.history_source for r in EVSE.history.all()} == {"import stations-2026-12.csv"}
    assert Connector.history.count() == 2 and Location.history.count() == 2


def test_a_change_from_a_command_is_shown_with_old_and_new_values(admin_client, site):
    evse = site.evses.get()
    with acting_as("command nightly_check"):
        services.evses_set_status(evses=[evse], status=Status.INOPERATIVE)
        changed = EVSE.objects.get(pk=evse.pk)
        changed.directions = [{"language": "en", "text": "Behind the barrier"}]
        services.evse_update(evse=changed)

    assert history_rows(admin_client, evse)[:2] == [
        (
            f"EVSE {evse.evse_id}",
            "command nightly_check",
            'directions: [] → [{"language": "en", "text": "Behind the barrier"}]',
        ),
        (f"EVSE {evse.evse_id}", "command nightly_check", "status: AVAILABLE → INOPERATIVE"),
    ]


def test_changes_made_before_the_audit_trail_say_so(admin_client, site):
    evse = site.evses.get()
    EVSE.history.all().delete()  # as for objects created before the audit trail existed
    services.evses_set_status(evses=[evse], status=Status.BLOCKED)

    assert history_rows(admin_client, evse)[0] == (
        f"EVSE {evse.evse_id}",
        "unknown",
        "Changed (no earlier record to compare with: made before the audit trail).",
    )


# --- Partners -------------------------------------------------------------------------------


def test_a_partner_change_by_a_command_is_recorded_and_the_token_never_is(admin_client, partner):
    partner.outgoing_token = "their-secret-token-for-us"
    partner.save()

    call_command(retire_partner.Command(), partner.name)

    rows = history_rows(admin_client, partner)
    assert rows[0][:2] == (f"Partner {partner.name}", "command retire_partner")
    assert "state: registered → unregistered" in rows[0][2]
    page = admin_client.get(history_url(partner)).content.decode()
    for secret in ("their-secret-token-for-us", PARTNER_TOKEN):
        assert secret not in page
    history_fields = {f.name for f in Partner.history.model._meta.fields}
    assert "outgoing_token" not in history_fields
    assert not any(
        "their-secret-token-for-us" in str(value)
        for values in Partner.history.values()
        for value in values.values()
    )


# --- The page's cost ------------------------------------------------------------------------


def _changes(site: Location, count: int) -> None:
    evse = site.evses.get()
    statuses = [Status.CHARGING, Status.AVAILABLE]
    for n in range(count):
        changed = EVSE.objects.get(pk=evse.pk)
        changed.status = statuses[n % 2]
        services.evse_update(evse=changed)


@pytest.mark.parametrize("page", ["location", "evse"])
def test_the_history_page_costs_the_same_queries_for_few_or_many_changes(
    admin_client, site, django_assert_num_queries, page
):
    obj = site if page == "location" else site.evses.get()
    _changes(site, 2)
    admin_client.get(history_url(obj))
    with CaptureQueriesContext(connection) as few:
        admin_client.get(history_url(obj))
    _changes(site, 12)

    with django_assert_num_queries(len(few.captured_queries)):
        response = admin_client.get(history_url(obj))

    assert response.content.decode().count("<strong>status</strong>: ") == 14
