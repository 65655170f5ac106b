"""No lost updates on the admin pages: two operators open the same page; the second save,
from a page older than an object on it, is refused with a message naming what changed, keeps
what the operator typed, and saves, records and pushes nothing (docs/admin.md, "Concurrent
edits")."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from locations import services
from locations.enums import Status
from locations.models import EVSE, Connector, Location
from pushers.models import ChangeRecord
from tests.locations.test_admin import (
    _FormReader,
    errors_of,
    evse_url,
    location_url,
    page_form,
    page_text,
    submit,
)

WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
RELOAD = "Reload the page; nothing was saved."


@pytest.fixture
def alice(db) -> Client:
    """A second operator, in a browser of her own."""
    user = get_user_model().objects.create_superuser("alice", "alice@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def history_count() -> int:
    return sum(model.history.count() for model in (Location, EVSE, Connector))


def snapshot(site: Location):
    return (
        list(Location.objects.filter(pk=site.pk).values()),
        list(EVSE.objects.filter(location=site).order_by("pk").values()),
        list(Connector.objects.filter(evse__location=site).order_by("pk").values()),
        ChangeRecord.objects.count(),
        history_count(),
    )


def shown_values(response) -> dict[str, list[str]]:
    """What the re-rendered form holds (what the operator would submit again)."""
    reader = _FormReader()
    reader.feed(response.content.decode())
    return reader.data


def refusal_on(response) -> str:
    """The refusal at the top of the page (Django's non-field errors of the main form)."""
    assert response.status_code == 200, response.status_code
    found = re.findall(r'<ul class="errorlist nonfield">\s*<li>(.*?)</li>', page_text(response))
    assert found, errors_of(response)
    return found[0]


def test_every_editable_form_carries_the_version_it_shows(admin_client, site):
    evse = site.evses.get()
    services.evse_update(evse=_with(evse, status=Status.CHARGING))

    location_page = page_form(admin_client, location_url(site))
    evse_page = page_form(admin_client, evse_url(evse))

    assert location_page["seen_version"] == ["1"]
    assert location_page["evses-0-seen_version"] == ["2"]
    assert location_page["evses-0-connectors-0-seen_version"] == ["1"]
    assert evse_page["seen_version"] == ["2"]
    assert evse_page["connectors-1-seen_version"] == ["1"]


def _with(obj, **values):
    obj = type(obj).objects.get(pk=obj.pk)
    for name, value in values.items():
        setattr(obj, name, value)
    return obj


def test_renaming_a_site_from_a_page_older_than_an_evse_change_is_refused(
    admin_client, alice, site
):
    """The issue's case: A sets EVSE 1 to CHARGING; B, whose page is older, renames the site.
    B's save would have put EVSE 1 back to AVAILABLE and pushed that."""
    evse = site.evses.get()
    page_b = page_form(admin_client, location_url(site))
    page_a = page_form(alice, location_url(site))
    response = submit(alice, location_url(site), page_a, **{"evses-0-status": "CHARGING"})
    assert response.status_code == 302, errors_of(response)
    before = snapshot(site)

    response = submit(admin_client, location_url(site), page_b, name="Harbour Car Park")

    assert re.fullmatch(
        rf"EVSE {re.escape(evse.evse_id)} \(uid {evse.uid}\) was changed by alice at {WHEN}: "
        rf"status AVAILABLE → CHARGING\. {RELOAD}",
        refusal_on(response),
    ), refusal_on(response)
    assert snapshot(site) == before
    assert site.evses.get().status == Status.CHARGING
    assert Location.objects.get(pk=site.pk).name == site.name
    shown = shown_values(response)
    assert shown["name"] == ["Harbour Car Park"]
    assert shown["evses-0-status"] == ["AVAILABLE"]  # what B's page showed, not saved


def test_after_a_reload_the_same_change_is_saved(admin_client, alice, site):
    page_b = page_form(admin_client, location_url(site))
    page_a = page_form(alice, location_url(site))
    submit(alice, location_url(site), page_a, **{"evses-0-status": "CHARGING"})
    refused = submit(admin_client, location_url(site), page_b, name="Harbour Car Park")
    assert RELOAD in refusal_on(refused)

    reloaded = page_form(admin_client, location_url(site))
    response = submit(admin_client, location_url(site), reloaded, name="Harbour Car Park")

    assert response.status_code == 302, errors_of(response)
    assert Location.objects.get(pk=site.pk).name == "Harbour Car Park"
    assert site.evses.get().status == Status.CHARGING


def test_an_evse_change_from_a_page_older_than_a_renaming_is_refused(admin_client, alice, site):
    page_b = page_form(admin_client, location_url(site))
    page_a = page_form(alice, location_url(site))
    submit(alice, location_url(site), page_a, name="Station Square West")
    before = snapshot(site)

    response = submit(admin_client, location_url(site), page_b, **{"evses-0-status": "BLOCKED"})

    assert re.fullmatch(
        rf"Location {site.id} was changed by alice at {WHEN}: name {re.escape(site.name)} → "
        rf"Station Square West\. {RELOAD}",
        refusal_on(response),
    ), refusal_on(response)
    assert snapshot(site) == before
    assert shown_values(response)["evses-0-status"] == ["BLOCKED"]


def test_a_connector_changed_meanwhile_refuses_the_location_page(admin_client, alice, site):
    evse = site.evses.get()
    page_b = page_form(admin_client, location_url(site))
    evse_page_a = page_form(alice, evse_url(evse))
    response = submit(alice, evse_url(evse), evse_page_a, **{"connectors-0-max_amperage": "32"})
    assert response.status_code == 302, errors_of(response)
    before = snapshot(site)

    response = submit(admin_client, location_url(site), page_b, name="Harbour Car Park")

    assert re.fullmatch(
        rf"Connector 1 of EVSE {re.escape(evse.evse_id)} was changed by alice at {WHEN}: "
        rf"max_amperage 16 → 32\. {RELOAD}",
        refusal_on(response),
    ), refusal_on(response)
    assert snapshot(site) == before


def test_the_evse_page_is_refused_when_the_evse_changed_meanwhile(admin_client, alice, site):
    evse = site.evses.get()
    page_b = page_form(admin_client, evse_url(evse))
    page_a = page_form(alice, location_url(site))
    submit(alice, location_url(site), page_a, **{"evses-0-status": "OUTOFORDER"})
    before = snapshot(site)

    response = submit(admin_client, evse_url(evse), page_b, floor_level="-2")

    assert re.fullmatch(
        rf"EVSE {re.escape(evse.evse_id)} \(uid {evse.uid}\) was changed by alice at {WHEN}: "
        rf"status AVAILABLE → OUTOFORDER\. {RELOAD}",
        refusal_on(response),
    ), refusal_on(response)
    assert snapshot(site) == before
    assert shown_values(response)["floor_level"] == ["-2"]


def test_deleting_a_connector_changed_meanwhile_is_refused(admin_client, alice, site):
    evse = site.evses.get()
    page_b = page_form(admin_client, evse_url(evse))
    page_a = page_form(alice, evse_url(evse))
    submit(alice, evse_url(evse), page_a, **{"connectors-1-max_voltage": "400"})
    before = snapshot(site)

    response = submit(admin_client, evse_url(evse), page_b, **{"connectors-1-DELETE": "on"})

    assert re.fullmatch(
        rf"Connector 2 of EVSE {re.escape(evse.evse_id)} was changed by alice at {WHEN}: "
        rf"max_voltage 230 → 400\. {RELOAD}",
        refusal_on(response),
    ), refusal_on(response)
    assert snapshot(site) == before


def test_an_evse_added_meanwhile_does_not_refuse_a_renaming(admin_client, site):
    """Only objects on the operator's page count: one added since is not on it."""
    page_b = page_form(admin_client, location_url(site))
    services.evse_create(
        evse=EVSE(location=site, uid="EVSE-LATE", status=Status.AVAILABLE),
        connectors=[
            Connector(
                id="1",
                standard="IEC_62196_T2",
                format="SOCKET",
                power_type="AC_3_PHASE",
                max_voltage=230,
                max_amperage=16,
            )
        ],
    )

    response = submit(admin_client, location_url(site), page_b, name="Harbour Car Park")

    assert response.status_code == 302, errors_of(response)
    assert Location.objects.get(pk=site.pk).name == "Harbour Car Park"
    assert site.evses.count() == 2


def test_a_row_of_a_connector_deleted_meanwhile_refuses_the_page(admin_client, alice, site):
    evse = site.evses.get()
    page_b = page_form(admin_client, evse_url(evse))
    page_a = page_form(alice, evse_url(evse))
    submit(alice, evse_url(evse), page_a, **{"connectors-1-DELETE": "on"})
    before = snapshot(site)

    response = submit(admin_client, evse_url(evse), page_b, floor_level="-2")

    assert response.status_code == 200
    assert (
        f"1 connector of EVSE {evse.uid} on this page was deleted by someone else after the "
        "page was shown. Reload the page; nothing was saved." in page_text(response)
    )
    assert snapshot(site) == before
