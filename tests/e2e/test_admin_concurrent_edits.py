"""Two operators edit the same Location in two browsers (issue 13: no lost updates).

A sets EVSE 1 to CHARGING and saves; B, whose page is older, renames the site and saves.
Before, B's save put EVSE 1 back to AVAILABLE and pushed that to every partner. Now B's save
is refused with a message naming A's change, B's typed name stays in the form, the database
keeps A's status and the old name, and the partner gets nothing from B's attempt: only A's
PATCH, then the PATCH of a later change (which shows that nothing else was queued between).

Real parts as in test_admin_browser.py: Chromium (one browser context per operator), the
live server, a Celery worker process and the loopback Locations Receiver. Waits are bounded
and explicit; no sleeps.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from locations import services
from locations.enums import Status
from locations.models import EVSE, Location
from pushers.models import ChangeRecord
from tests.e2e.conftest import ACTION_TIMEOUT_MS, NAVIGATION_TIMEOUT_MS
from tests.e2e.test_admin_browser import (
    LOCATIONS_URL,
    Steps,
    settled,
    stamp,
    success_message,
    wait_for_pushes,
)
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory
from tests.pushers.conftest import theirs

pytestmark = pytest.mark.slow

SITE_ID = "LOC-TWO-OPERATORS"
OPERATOR_A = ("operator-a", "operator-a-password-for-tests")
OPERATOR_B = ("operator-b", "operator-b-password-for-tests")


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(username)


def open_location(page: Page, location: Location) -> None:
    page.goto(f"/admin/locations/location/{location.pk}/change/")
    expect(page.locator("#id_name")).to_have_value(location.name)


def evse_status(page: Page, uid: str):
    form = page.locator(
        ".djn-dynamic-form-locations-evse", has=page.locator(f"input[name$='-uid'][value='{uid}']")
    )
    expect(form).to_have_count(1)
    return form.locator("select[name^='evses-'][name$='-status']")


@pytest.fixture
def page_b(chromium, live_server):
    """The second operator's browser: a context of its own (own cookies, own session)."""
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 1000}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_the_older_page_of_two_operators_is_refused_and_pushes_nothing(
    page, page_b, shots, worker, push_partner, receiver
):
    users = get_user_model().objects
    for username, password in (OPERATOR_A, OPERATOR_B):
        users.create_superuser(username, f"{username}@example.com", password)
    site = services.location_create(
        location=LocationFactory.build(
            country_code="NL", party_id="EXA", id=SITE_ID, name="Harbour Garage"
        ),
        evses=[
            (
                EVSEFactory.build(uid="EVSE-B1", evse_id="NL*EXA*EB1", status=Status.AVAILABLE),
                [ConnectorFactory.build(id="1")],
            )
        ],
    )
    [put] = wait_for_pushes(receiver, 1)
    assert (put.method, put.path) == ("PUT", f"{LOCATIONS_URL}/{SITE_ID}")
    receiver.requests.clear()
    page_a, steps_a, steps_b = page, Steps(page, shots / "a"), Steps(page_b, shots / "b")
    (shots / "a").mkdir()
    (shots / "b").mkdir()

    # Both operators open the same Location.
    log_in(page_a, *OPERATOR_A)
    log_in(page_b, *OPERATOR_B)
    open_location(page_a, site)
    open_location(page_b, site)
    steps_b.shot("b-opens-the-location")

    # A sets EVSE 1 to CHARGING and saves: one PATCH of its status.
    evse_status(page_a, "EVSE-B1").select_option("CHARGING")
    page_a.locator("input[name=_save]").click()
    expect(page_a).to_have_url(re.compile(r"/admin/locations/location/$"))
    success_message(page_a, "was changed successfully")
    steps_a.shot("a-saved-charging")
    evse = EVSE.objects.get(uid="EVSE-B1")
    [patch] = wait_for_pushes(receiver, 1)
    assert (patch.method, patch.path, patch.body) == (
        "PATCH",
        f"{LOCATIONS_URL}/{SITE_ID}/EVSE-B1",
        {"status": "CHARGING", "last_updated": stamp(evse)},
    )
    records = ChangeRecord.objects.count()

    # B, whose page still shows AVAILABLE, renames the site and saves: refused.
    page_b.locator("#id_name").fill("Harbour Garage (renamed by B)")
    page_b.locator("input[name=_save]").click()
    expect(page_b.locator(".errornote")).to_be_visible()
    refusal = page_b.locator("ul.errorlist.nonfield li").first
    expect(refusal).to_have_text(
        re.compile(
            r"EVSE NL\*EXA\*EB1 \(uid EVSE-B1\) was changed by operator-a at "
            r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: status AVAILABLE → CHARGING\. "
            r"Reload the page; nothing was saved\."
        )
    )
    expect(page_b.locator("#id_name")).to_have_value("Harbour Garage (renamed by B)")
    steps_b.shot("b-refused")

    # Nothing of B's attempt is stored or recorded for push.
    site.refresh_from_db()
    evse.refresh_from_db()
    assert (site.name, evse.status) == ("Harbour Garage", Status.CHARGING)
    assert ChangeRecord.objects.count() == records
    assert settled()
    assert len(receiver.pushes()) == 1

    # B reloads and renames again: saved, one PATCH of the name. Only that one reaches the
    # partner after A's: nothing else was queued by the refused attempt.
    open_location(page_b, site)
    expect(evse_status(page_b, "EVSE-B1")).to_have_value("CHARGING")
    page_b.locator("#id_name").fill("Harbour Garage (renamed by B)")
    page_b.locator("input[name=_save]").click()
    expect(page_b).to_have_url(re.compile(r"/admin/locations/location/$"))
    success_message(page_b, "was changed successfully")
    steps_b.shot("b-saved-after-reload")
    site.refresh_from_db()
    _, rename = wait_for_pushes(receiver, 2)
    assert (rename.method, rename.path, rename.body) == (
        "PATCH",
        f"{LOCATIONS_URL}/{SITE_ID}",
        {"name": "Harbour Garage (renamed by B)", "last_updated": stamp(site)},
    )
    mirrored = theirs(receiver, site)
    assert mirrored["name"] == "Harbour Garage (renamed by B)"
    assert [(e["uid"], e["status"]) for e in mirrored["evses"]] == [("EVSE-B1", "CHARGING")]

    # The Location's History page tells who did what, old → new, newest first.
    page_b.goto(f"/admin/locations/location/{site.pk}/change/")
    page_b.get_by_role("link", name="History").click()
    rows = page_b.locator("#audit-history tbody tr")
    expect(rows.nth(0)).to_contain_text(f"Location {SITE_ID}")
    expect(rows.nth(0)).to_contain_text("operator-b")
    expect(rows.nth(0)).to_contain_text("name: Harbour Garage → Harbour Garage (renamed by B)")
    expect(rows.nth(1)).to_contain_text("EVSE NL*EXA*EB1")
    expect(rows.nth(1)).to_contain_text("operator-a")
    expect(rows.nth(1)).to_contain_text("status: AVAILABLE → CHARGING")
    steps_b.shot("history")
