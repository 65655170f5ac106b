"""The operator admin in a real browser, with pushes to a real receiver (issue 6, part 3).

An operator logs in, creates a Location with 2 EVSEs and 3 Connectors on the one nested page,
changes an EVSE's status on the Location page, and uses the EVSE list's bulk actions ("Set
status to INOPERATIVE", "Mark removed"). After each step the receiver has got exactly the
expected PUT or PATCHes (URL and whole body), and at the end its Location equals ours.
Screenshots of each step: test-artifacts/browser/<database vendor>/<test>/NN-step.png.

Every wait is explicit (Playwright's auto-waiting locators and `expect`, and `wait_until`
polling the receiver/database) and bounded (conftest: 20 s per action, 30 s per page load,
60 s for a push); there are no sleeps.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from locations.enums import Status
from locations.models import EVSE, Connector, Location
from pushers.models import ChangeRecord, Delivery
from tests.pushers.conftest import ours, theirs, wait_until
from tests.pushers.receiver import PUSH_TOKEN
from versions.datetimes import format_ocpi_datetime

pytestmark = pytest.mark.slow

LOCATIONS_URL = "/ocpi/emsp/2.2.1/locations/NL/EXA"
LOCATION_ID = "LOC-BROWSER"
PUSH_TIMEOUT = 60  # seconds: the worker process, the broker and the receiver together


class Steps:
    """Numbered full-page screenshots of the steps of one test."""

    def __init__(self, page: Page, folder) -> None:
        self.page, self.folder, self.n = page, folder, 0

    def shot(self, name: str) -> None:
        self.n += 1
        # From the top: the admin's sticky sidebar would else be drawn where the page was
        # scrolled to.
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=self.folder / f"{self.n:02d}-{name}.png", full_page=True)


def stamp(obj) -> str:
    obj.refresh_from_db()
    return format_ocpi_datetime(obj.last_updated)


def settled() -> bool:
    """every change fanned out and every delivery finished (so no push is still coming)"""
    return (
        not ChangeRecord.objects.filter(fanned_out_at__isnull=True).exists()
        and not Delivery.objects.filter(
            status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING]
        ).exists()
    )


def wait_for_pushes(receiver, count: int) -> list:
    """The receiver's PUT/PATCH requests once `count` arrived and nothing more is due."""

    def arrived():
        """the receiver to get the pushes and our deliveries to settle"""
        return len(receiver.pushes()) >= count and settled()

    wait_until(arrived, timeout=PUSH_TIMEOUT)
    pushes = receiver.pushes()
    assert len(pushes) == count, [(p.method, p.path, p.body) for p in pushes]
    for push in pushes:
        assert push.token == PUSH_TOKEN
        assert push.headers["ocpi-from-country-code"] == "NL"
        assert push.headers["ocpi-from-party-id"] == "EXA"
    return pushes


def success_message(page: Page, text: str) -> None:
    expect(page.locator("ul.messagelist li.success")).to_contain_text(text)


def expect_no_errors(page: Page) -> None:
    expect(page.locator(".errornote, .errorlist")).to_have_count(0)


# --- The pages, as an operator uses them ------------------------------------------------------


def log_in(page: Page, steps: Steps, username: str, password: str) -> None:
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    steps.shot("login")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#user-tools")).to_contain_text(username)
    steps.shot("admin-index")


def fill_connector(page: Page, prefix: str, values: dict) -> None:
    page.locator(f"#id_{prefix}-id").fill(values["id"])
    for name in ("standard", "format", "power_type"):
        page.locator(f"#id_{prefix}-{name}").select_option(values[name])
    for name in ("max_voltage", "max_amperage", "max_electric_power"):
        page.locator(f"#id_{prefix}-{name}").fill(str(values[name]))
    page.locator(f"#id_{prefix}-tariff_ids").fill(values["tariff_ids"])


def fill_evse(page: Page, prefix: str, uid: str, evse_id: str, status: str) -> None:
    page.locator(f"#id_{prefix}-uid").fill(uid)
    page.locator(f"#id_{prefix}-evse_id").fill(evse_id)
    page.locator(f"#id_{prefix}-status").select_option(status)


AC = {
    "standard": "IEC_62196_T2",
    "format": "SOCKET",
    "power_type": "AC_3_PHASE",
    "max_voltage": 230,
    "max_amperage": 32,
    "max_electric_power": 22080,
    "tariff_ids": "AC-STD",
}
DC = {
    "standard": "IEC_62196_T2_COMBO",
    "format": "CABLE",
    "power_type": "DC",
    "max_voltage": 920,
    "max_amperage": 200,
    "max_electric_power": 150000,
    "tariff_ids": "DC-FAST",
}


def create_site(page: Page, steps: Steps) -> None:
    """The whole site on the Location add page: 2 EVSEs, 2 + 1 Connectors."""
    page.locator("#content-main a[href='/admin/locations/location/']").first.click()
    expect(page).to_have_url(re.compile(r"/admin/locations/location/$"))
    page.get_by_role("link", name="Add location").click()
    expect(page).to_have_url(re.compile(r"/admin/locations/location/add/$"))

    expect(page.locator("#id_country_code")).to_have_value("NL")
    expect(page.locator("#id_party_id")).to_have_value("EXA")
    page.locator("#id_id").fill(LOCATION_ID)
    page.locator("#id_name").fill("Browser Test Garage")
    page.locator("#id_address").fill("Kade 12")
    page.locator("#id_postal_code").fill("1011 AB")
    page.locator("#id_city").fill("Amsterdam")
    page.locator("#id_country").fill("NLD")
    page.locator("#id_coordinates_0").fill("52.370216")
    page.locator("#id_coordinates_1").fill("4.895168")
    page.locator("#id_time_zone").fill("Europe/Amsterdam")
    expect(page.locator("#id_publish")).to_be_checked()
    page.locator("#id_parking_type").select_option("PARKING_GARAGE")
    page.locator("input[name=facilities][value=CAFE]").check()
    page.locator("input[name=facilities][value=WIFI]").check()
    page.locator("#id_opening_times").get_by_label("Open 24/7").check()

    # EVSE 1 (the page starts with one empty EVSE and one empty Connector row) ...
    fill_evse(page, "evses-0", "EVSE-B1", "NL*EXA*EB1", "AVAILABLE")
    fill_connector(page, "evses-0-connectors-0", {"id": "1", **AC})
    # ... a second Connector row in EVSE 1 ...
    page.locator("#evses-0").get_by_text("Add another Connector").click()
    expect(page.locator("#id_evses-0-connectors-1-id")).to_be_visible()
    fill_connector(page, "evses-0-connectors-1", {"id": "2", **AC})
    # ... and EVSE 2, which comes with one Connector row.
    page.get_by_text("Add another Evse").click()
    expect(page.locator("#id_evses-1-uid")).to_be_visible()
    expect(page.locator("#id_evses-1-connectors-0-id")).to_be_visible()
    fill_evse(page, "evses-1", "EVSE-B2", "NL*EXA*EB2", "AVAILABLE")
    fill_connector(page, "evses-1-connectors-0", {"id": "1", **DC})
    expect(page.locator("#id_evses-TOTAL_FORMS")).to_have_value("2")
    expect(page.locator("#id_evses-0-connectors-TOTAL_FORMS")).to_have_value("2")
    expect(page.locator("#id_evses-1-connectors-TOTAL_FORMS")).to_have_value("1")
    steps.shot("location-add-filled")

    page.locator("input[name=_save]").click()
    expect(page).to_have_url(re.compile(r"/admin/locations/location/$"))
    success_message(page, "was added successfully")
    expect(page.locator("#result_list")).to_contain_text(LOCATION_ID)
    steps.shot("location-added")


def set_status_on_location_page(page: Page, steps: Steps, uid: str, status: str) -> None:
    page.locator("#result_list").get_by_role("link", name=LOCATION_ID).click()
    expect(page).to_have_url(re.compile(r"/admin/locations/location/\d+/change/$"))
    evse = page.locator(
        ".djn-dynamic-form-locations-evse", has=page.locator(f"input[name$='-uid'][value='{uid}']")
    )
    expect(evse).to_have_count(1)
    evse.locator("select[name^='evses-'][name$='-status']").select_option(status)
    steps.shot(f"location-change-{uid}-{status}")
    page.locator("input[name=_save]").click()
    expect(page).to_have_url(re.compile(r"/admin/locations/location/$"))
    success_message(page, "was changed successfully")
    steps.shot("location-changed")


def open_evse_list(page: Page) -> None:
    page.locator("#nav-sidebar a[href='/admin/locations/evse/']").click()
    expect(page).to_have_url(re.compile(r"/admin/locations/evse/$"))
    page.locator("#searchbar").fill(LOCATION_ID)
    page.locator("#changelist-search").get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/admin/locations/evse/\?q=" + LOCATION_ID))
    expect(page.locator("#result_list tbody tr")).to_have_count(2)


def bulk_action(
    page: Page, steps: Steps, uids: list[str], action: str, label: str, confirm: str = ""
) -> None:
    """Select the rows, run the action; `confirm`: the button of its confirmation page."""
    for uid in uids:
        row = page.locator("#result_list tbody tr", has=page.get_by_role("link", name=uid))
        row.locator("input.action-select").check()
    expect(page.locator("#result_list input.action-select:checked")).to_have_count(len(uids))
    page.locator("select[name=action]").select_option(action)
    steps.shot(f"evse-list-{action}")
    page.locator("button[name=index]").click()
    if confirm:
        expect(page.locator("#content h1")).to_contain_text("This cannot be undone")
        for uid in uids:
            expect(page.locator("#mark-removed-evses")).to_contain_text(f"(uid {uid})")
        steps.shot(f"evse-list-{action}-confirm")
        page.get_by_role("button", name=confirm).click()
    expect(page).to_have_url(re.compile(r"/admin/locations/evse/\?q=" + LOCATION_ID))
    success_message(page, label)
    expect_no_errors(page)
    steps.shot(f"evse-list-after-{action}")


def row_status(page: Page, uid: str):
    row = page.locator("#result_list tbody tr", has=page.get_by_role("link", name=uid))
    return row.locator("td.field-status")


# --- The test ----------------------------------------------------------------------------------


def test_operator_builds_and_changes_a_site_in_the_browser_and_the_receiver_follows(
    page, shots, operator, worker, push_partner, receiver
):
    steps = Steps(page, shots)
    log_in(page, steps, *operator)

    # 1. A new site on one page: one PUT of the whole Location.
    create_site(page, steps)
    location = Location.objects.get(id=LOCATION_ID)
    evse_1, evse_2 = EVSE.objects.filter(location=location).order_by("uid")
    assert (evse_1.uid, evse_2.uid) == ("EVSE-B1", "EVSE-B2")
    [put] = wait_for_pushes(receiver, 1)
    assert (put.method, put.path) == ("PUT", f"{LOCATIONS_URL}/{LOCATION_ID}")

    def connector(evse, values: dict, connector_id: str) -> dict:
        body = {k: v for k, v in values.items() if k != "tariff_ids"}
        return {
            "id": connector_id,
            **body,
            "tariff_ids": [values["tariff_ids"]],
            "last_updated": stamp(Connector.objects.get(evse=evse, id=connector_id)),
        }

    def evse_body(evse, evse_id: str, status: str, connectors: list[dict]) -> dict:
        return {
            "uid": evse.uid,
            "evse_id": evse_id,
            "status": status,
            "connectors": connectors,
            "last_updated": stamp(evse),
        }

    expected = {
        "country_code": "NL",
        "party_id": "EXA",
        "id": LOCATION_ID,
        "publish": True,
        "name": "Browser Test Garage",
        "address": "Kade 12",
        "city": "Amsterdam",
        "postal_code": "1011 AB",
        "country": "NLD",
        "coordinates": {"latitude": "52.370216", "longitude": "4.895168"},
        "parking_type": "PARKING_GARAGE",
        "evses": [
            evse_body(
                evse_1,
                "NL*EXA*EB1",
                "AVAILABLE",
                [connector(evse_1, AC, "1"), connector(evse_1, AC, "2")],
            ),
            evse_body(evse_2, "NL*EXA*EB2", "AVAILABLE", [connector(evse_2, DC, "1")]),
        ],
        "facilities": ["CAFE", "WIFI"],
        "time_zone": "Europe/Amsterdam",
        "opening_times": {"twentyfourseven": True},
        "last_updated": stamp(location),
    }
    assert put.body == expected
    assert theirs(receiver, location) == ours(location) == expected

    # 2. One EVSE's status changed on the Location page: one PATCH of that EVSE.
    receiver.requests.clear()
    set_status_on_location_page(page, steps, "EVSE-B1", "CHARGING")
    [patch] = wait_for_pushes(receiver, 1)
    assert (patch.method, patch.path) == ("PATCH", f"{LOCATIONS_URL}/{LOCATION_ID}/EVSE-B1")
    assert patch.body == {"status": "CHARGING", "last_updated": stamp(evse_1)}
    assert theirs(receiver, location) == ours(location)

    # 3. Bulk action on the EVSE list: both set to INOPERATIVE, one PATCH each.
    receiver.requests.clear()
    open_evse_list(page)
    expect(row_status(page, "EVSE-B1")).to_have_text(Status.CHARGING.label)
    expect(row_status(page, "EVSE-B2")).to_have_text(Status.AVAILABLE.label)
    steps.shot("evse-list")
    bulk_action(
        page, steps, ["EVSE-B1", "EVSE-B2"], "set_status_inoperative", "2 EVSEs set to INOPERATIVE."
    )
    expect(row_status(page, "EVSE-B1")).to_have_text(Status.INOPERATIVE.label)
    expect(row_status(page, "EVSE-B2")).to_have_text(Status.INOPERATIVE.label)
    patches = sorted(wait_for_pushes(receiver, 2), key=lambda p: p.path)
    assert [(p.method, p.path, p.body) for p in patches] == [
        (
            "PATCH",
            f"{LOCATIONS_URL}/{LOCATION_ID}/{evse.uid}",
            {"status": "INOPERATIVE", "last_updated": stamp(evse)},
        )
        for evse in (evse_1, evse_2)
    ]
    assert theirs(receiver, location) == ours(location)

    # 4. "Mark removed" on one EVSE, confirmed on its own page: a PATCH with status REMOVED;
    # the EVSE stays listed.
    receiver.requests.clear()
    bulk_action(
        page,
        steps,
        ["EVSE-B2"],
        "mark_removed",
        "1 EVSE set to REMOVED.",
        confirm="Yes, mark 1 EVSE removed",
    )
    expect(row_status(page, "EVSE-B1")).to_have_text(Status.INOPERATIVE.label)
    expect(row_status(page, "EVSE-B2")).to_have_text(Status.REMOVED.label)
    [removed] = wait_for_pushes(receiver, 1)
    assert (removed.method, removed.path) == ("PATCH", f"{LOCATIONS_URL}/{LOCATION_ID}/EVSE-B2")
    assert removed.body == {"status": "REMOVED", "last_updated": stamp(evse_2)}

    # The end: the receiver holds what we hold, field for field.
    evse_1.refresh_from_db()
    evse_2.refresh_from_db()
    assert (evse_1.status, evse_2.status) == (Status.INOPERATIVE, Status.REMOVED)
    final = ours(location)
    assert [(e["uid"], e["status"]) for e in final["evses"]] == [
        ("EVSE-B1", "INOPERATIVE"),
        ("EVSE-B2", "REMOVED"),
    ]
    assert theirs(receiver, location) == final
    assert not Delivery.objects.exclude(status=Delivery.Status.SUCCEEDED).exists()

    # The operator's view of it: every delivery succeeded.
    page.goto("/admin/pushers/delivery/")
    expect(page.locator("#result_list tbody tr")).to_have_count(5)
    steps.shot("deliveries")


def test_a_refused_site_shows_the_errors_and_saves_and_pushes_nothing(
    page, shots, operator, push_partner, receiver
):
    """Two Connectors with one id in one EVSE: the page comes back with the error on the
    row, the typed values kept; no Location, no change record (so no push ever)."""
    steps = Steps(page, shots)
    log_in(page, steps, *operator)
    page.goto("/admin/locations/location/add/")
    page.locator("#id_id").fill(LOCATION_ID)
    page.locator("#id_address").fill("Kade 12")
    page.locator("#id_city").fill("Amsterdam")
    page.locator("#id_country").fill("NLD")
    page.locator("#id_coordinates_0").fill("52.370216")
    page.locator("#id_coordinates_1").fill("4.895168")
    page.locator("#id_time_zone").fill("Europe/Amsterdam")
    fill_evse(page, "evses-0", "EVSE-B1", "NL*EXA*EB1", "AVAILABLE")
    fill_connector(page, "evses-0-connectors-0", {"id": "1", **AC})
    page.locator("#evses-0").get_by_text("Add another Connector").click()
    expect(page.locator("#id_evses-0-connectors-1-id")).to_be_visible()
    fill_connector(page, "evses-0-connectors-1", {"id": "1", **DC})
    page.locator("input[name=_save]").click()

    expect(page).to_have_url(re.compile(r"/admin/locations/location/add/$"))
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator("#evses-0")).to_contain_text(
        "This EVSE has a connector with this id already."
    )
    expect(page.locator("#id_evses-0-uid")).to_have_value("EVSE-B1")
    expect(page.locator("#id_evses-0-connectors-1-max_voltage")).to_have_value("920")
    steps.shot("refused")
    assert not Location.objects.exists()
    assert not EVSE.objects.exists()
    assert not ChangeRecord.objects.exists()
    assert receiver.requests == []
